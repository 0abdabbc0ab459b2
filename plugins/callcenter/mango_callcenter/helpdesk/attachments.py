"""Files of tickets: checked on the way in, stored in the database, served only as downloads.

The bytes live in ``callcenter_attachment.content`` (deferred: lists never load them), so they
are backed up and replicated with the tickets and every web node sees them. Limits come from the
plugin settings ``attachment_max_bytes`` and ``attachments_per_message``. A download is always
``Content-Disposition: attachment`` with ``nosniff``: an uploaded HTML file is never rendered
in Mango's origin.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mango_callcenter.helpdesk.models import Ticket, TicketAttachment, TicketMessage
from mango_core.tenancy.validators import N_, InvalidValue

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_PER_MESSAGE = 5
CONTENT_TYPE_RE = re.compile(r"^(application|audio|image|text|video|message|font|model)/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,80}$")


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def clean_filename(name: str) -> str:
    """The last path component, without control characters, at most 200 characters (extension kept)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".") or "file"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 20 else base[:200]
    return base


def check(uploads: list[Upload], limits: dict | None = None) -> list[Upload]:
    """Refuse (InvalidValue on ``attachments``) too many files, an empty or too large one, a bad type."""
    limits = limits or {}
    max_bytes = int(limits.get("attachment_max_bytes", DEFAULT_MAX_BYTES))
    per_message = int(limits.get("attachments_per_message", DEFAULT_PER_MESSAGE))
    if len(uploads) > per_message:
        raise InvalidValue(N_("At most %(n)d files per message."), field="attachments", n=per_message)
    cleaned = []
    for upload in uploads:
        name = clean_filename(upload.filename)
        if not isinstance(upload.content, bytes | bytearray) or not upload.content:
            raise InvalidValue(N_("The file %(name)s is empty."), field="attachments", name=name)
        if len(upload.content) > max_bytes:
            raise InvalidValue(N_("The file %(name)s is larger than %(max)d kB."), field="attachments", name=name,
                               max=max_bytes // 1024)
        content_type = (upload.content_type or "").split(";")[0].strip().lower() or "application/octet-stream"
        if not CONTENT_TYPE_RE.match(content_type):
            raise InvalidValue(N_("The file %(name)s has an unknown type."), field="attachments", name=name)
        cleaned.append(Upload(name, bytes(upload.content), content_type))
    return cleaned


def store(session: Session, ticket: Ticket, message: TicketMessage | None, uploads: list[Upload],
          limits: dict | None = None) -> list[TicketAttachment]:
    rows = []
    for upload in check(uploads, limits):
        row = TicketAttachment(ticket_id=ticket.id, message_id=message.id if message else None,
                               filename=upload.filename, content_type=upload.content_type, size=len(upload.content),
                               sha256=hashlib.sha256(upload.content).hexdigest(), content=upload.content)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
