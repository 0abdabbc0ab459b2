"""Queueing and sending mail.

* :func:`queue` stores a message in the caller's transaction (nothing is sent there), so mail
  exists exactly when the work that caused it commits. ``dedup_key`` makes a re-run harmless:
  a key already queued in the location returns the existing message.
* :func:`queue_many` does the same for a batch (a billing run) with a few statements.
* A message may start as ``preparing`` (``hold=True``): its owner attaches files later
  (:func:`attach`, then :func:`release`) or gives up (:func:`fail`) — e.g. invoice PDFs rendered in
  batches after a billing run instead of inside it.
* :func:`send_due` sends due ``queued`` messages. Each one is first *claimed* — its
  ``next_attempt_at`` is moved a lease ahead, committed — then sent and its outcome committed.
  Two senders never take the same message; a sender killed mid-send leaves the message to be
  tried again when the lease ends (delivery is at least once, never lost).
* A temporary failure retries after 1, 2, 4 … minutes (at most 6 hours between tries) until
  ``max_attempts``; a permanent one (5xx) fails at once. The error stays visible.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, undefer

from mango_core.db import utcnow
from mango_core.db.bulk import among, bulk_insert
from mango_core.mail.models import FAILED, PREPARING, QUEUED, SENT, MailAttachment, MailMessage
from mango_core.mail.smtp import MailSettings, PermanentMailError, SmtpConnection, TransientMailError
from mango_core.tenancy.context import current_scope

log = logging.getLogger("mango.mail")

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
LEASE = timedelta(minutes=10)
MAX_ERROR = 4000
# deliberately simple: one @, no spaces, a dot in the domain; the SMTP server has the last word
EMAIL_RE = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")


class MailInputError(ValueError):
    """A message that cannot be queued (no or bad recipient, empty subject…); says which field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: str = ""
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.skipped:
            return self.skipped
        return f"{self.sent} sent, {self.retried} to retry, {self.failed} failed"


# --- input -------------------------------------------------------------------------------------


def clean_recipients(to: str | Iterable[str]) -> list[str]:
    """Addresses as a list without duplicates (case-insensitively); refuses a bad one by name."""
    items = [to] if isinstance(to, str) else list(to)
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        for address in re.split(r"[,;]", str(item or "")):
            address = address.strip()
            if not address:
                continue
            if not EMAIL_RE.match(address) or len(address) > 254:
                raise MailInputError(f"to: {address!r} is not an e-mail address", "to")
            if address.lower() not in seen:
                seen.add(address.lower())
                out.append(address)
    if not out:
        raise MailInputError("to: at least one recipient is required", "to")
    return out


def _attachment(item: Attachment | tuple[Any, ...]) -> Attachment:
    if isinstance(item, Attachment):
        att = item
    else:
        try:
            att = Attachment(*item)
        except TypeError as exc:
            raise MailInputError("attachments: expected Attachment or (filename, bytes, content type)",
                                 "attachments") from exc
    if not isinstance(att.content, bytes | bytearray):
        raise MailInputError(f"attachments: {att.filename!r} has no bytes content", "attachments")
    if not att.filename or "/" in att.filename or "\\" in att.filename or len(att.filename) > 200:
        raise MailInputError(f"attachments: {att.filename!r} is not a plain file name", "attachments")
    if att.content_type.count("/") != 1:
        raise MailInputError(f"attachments: {att.content_type!r} is not a content type like application/pdf",
                             "attachments")
    return att


def _subject(subject: str) -> str:
    subject = " ".join(str(subject or "").split())  # no header injection through newlines
    if not subject:
        raise MailInputError("subject: a subject is required", "subject")
    return subject[:300]


# --- queueing ----------------------------------------------------------------------------------


def find_by_key(session: Session, dedup_key: str) -> MailMessage | None:
    return session.scalar(select(MailMessage).where(MailMessage.dedup_key == dedup_key))


_MSG_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


def msg_id(value: str, field: str = "message_id") -> str:
    """A message id as it goes into a header: ``<left@right>``, nothing else (no header injection)."""
    value = str(value).strip()
    if len(value) > 300 or not _MSG_ID.fullmatch(value):
        raise MailInputError(f"{field}: {value[:80]!r} is not a message id like <id@domain>", field)
    return value


def queue(session: Session, *, to: str | Iterable[str], subject: str, text: str, html: str | None = None,
          attachments: Sequence[Attachment | tuple[Any, ...]] = (), entity: str | None = None,
          entity_id: int | None = None, dedup_key: str | None = None, reply_to: str | None = None,
          hold: bool = False, not_before: datetime | None = None, message_id: str | None = None,
          in_reply_to: str | None = None, references: Iterable[str] = ()) -> MailMessage:
    """Store a message for the send job (in the caller's transaction); a known ``dedup_key`` returns the old one.

    ``hold=True`` queues it as ``preparing``: it is not sent until :func:`release`. ``message_id``,
    ``in_reply_to`` and ``references`` (``<id@domain>`` each) thread it with earlier mail, so that a
    helpdesk can tell which ticket an answer belongs to.
    """
    recipients = clean_recipients(to)
    message_id = msg_id(message_id, "message_id") if message_id else None
    in_reply_to = msg_id(in_reply_to, "in_reply_to") if in_reply_to else None
    thread = " ".join(msg_id(ref, "references") for ref in references) or None
    subject = _subject(subject)
    files = [_attachment(a) for a in attachments]
    if reply_to:
        reply_to = clean_recipients(reply_to)[0]
    if dedup_key is not None:
        dedup_key = str(dedup_key)[:200]
        existing = find_by_key(session, dedup_key)
        if existing is not None:
            return existing
    now = utcnow()
    message = MailMessage(state=PREPARING if hold else QUEUED, recipients=recipients, subject=subject,
                          text=str(text or ""), html=html, reply_to=reply_to, entity=entity, entity_id=entity_id,
                          dedup_key=dedup_key, attempts=0, next_attempt_at=not_before or now, last_error="",
                          created_at=now, prepared_at=None if hold else now, message_id=message_id,
                          in_reply_to=in_reply_to, thread_ids=thread)
    message.attachments = [MailAttachment(position=i, filename=a.filename, content_type=a.content_type,
                                          size=len(a.content), content=bytes(a.content))
                           for i, a in enumerate(files)]
    try:
        with session.begin_nested():  # a concurrent twin with the same key: keep theirs
            session.add(message)
            session.flush()
    except IntegrityError:
        if dedup_key is None:
            raise
        existing = find_by_key(session, dedup_key)
        if existing is None:
            raise
        return existing
    return message


def queue_many(session: Session, messages: Sequence[dict[str, Any]], *, hold: bool = False) -> int:
    """Queue many attachment-less messages at once (keys as :func:`queue`); returns how many are new.

    Every item needs ``dedup_key`` (a batch is what gets re-run); keys already queued are skipped.
    One bulk insert without RETURNING (COPY on PostgreSQL): a billing run queues a message per
    invoice, and reading the ids back cost more than the billing itself.
    """
    scope = current_scope()
    location_id = scope.write_location_id
    prepared: list[dict[str, Any]] = []
    keys: set[str] = set()
    for position, item in enumerate(messages):
        key = str(item.get("dedup_key") or "")[:200]
        if not key:
            raise MailInputError(f"message {position + 1}: dedup_key is required in a batch", "dedup_key")
        if key in keys:
            continue
        keys.add(key)
        prepared.append({"key": key, "item": item})
    known: set[str] = set()
    key_list = [p["key"] for p in prepared]
    # one query with one parameter on PostgreSQL: a billing run asks for 1,000 keys per batch
    for criterion, _part in among(session, MailMessage.dedup_key, key_list):
        known |= set(session.scalars(select(MailMessage.dedup_key).where(criterion)))
    now = utcnow()
    fresh = [p for p in prepared if p["key"] not in known]
    items = [p["item"] for p in fresh]
    if fresh:
        state = PREPARING if hold else QUEUED
        bulk_insert(session, MailMessage, {
            "recipients": [clean_recipients(item["to"]) for item in items],
            "subject": [_subject(item["subject"]) for item in items],
            "text": [str(item.get("text") or "") for item in items],
            "html": [item.get("html") for item in items],
            "reply_to": [item.get("reply_to") for item in items],
            "entity": [item.get("entity") for item in items],
            "entity_id": [item.get("entity_id") for item in items],
            "dedup_key": [p["key"] for p in fresh],
        }, {"location_id": location_id, "state": state, "attempts": 0, "next_attempt_at": now, "last_error": "",
            "created_at": now, "prepared_at": None if hold else now})
    return len(fresh)


def preparing(session: Session, *, entity: str | None = None, limit: int = 100) -> list[MailMessage]:
    """Held messages waiting for their attachments, oldest first."""
    stmt = select(MailMessage).where(MailMessage.state == PREPARING)
    if entity is not None:
        stmt = stmt.where(MailMessage.entity == entity)
    return list(session.scalars(stmt.order_by(MailMessage.id).limit(limit)))


def attach(session: Session, message: MailMessage, attachment: Attachment | tuple[Any, ...]) -> MailAttachment:
    att = _attachment(attachment)
    row = MailAttachment(message_id=message.id, position=len(message.attachments), filename=att.filename,
                         content_type=att.content_type, size=len(att.content), content=bytes(att.content))
    message.attachments.append(row)
    session.flush()
    return row


def release(session: Session, message: MailMessage) -> None:
    """A held message is complete: queue it for sending."""
    if message.state != PREPARING:
        raise MailInputError(f"message {message.id} is {message.state}, not preparing", "state")
    now = utcnow()
    message.state, message.prepared_at, message.next_attempt_at = QUEUED, now, now
    session.flush()


def fail(session: Session, message: MailMessage, error: str) -> None:
    """Give up a message (its owner could not prepare it); the error is shown in the outbox."""
    message.state = FAILED
    message.last_error = str(error)[:MAX_ERROR]
    session.flush()


def retry(session: Session, message: MailMessage) -> None:
    """Staff's "try again": a failed message goes back (to preparing when its files were never made)."""
    if message.state != FAILED:
        raise MailInputError(f"message {message.id} is {message.state}; only a failed message is retried", "state")
    message.state = QUEUED if message.prepared_at else PREPARING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    session.flush()


# --- sending ------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 1, 2, 4, … minutes, at most 6 hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def build_email(message: MailMessage, settings: MailSettings, *, sender_name: str = "") -> EmailMessage:
    email = EmailMessage()
    domain = settings.from_address.rpartition("@")[2] or None
    email["From"] = formataddr((settings.from_name or sender_name, settings.from_address))
    email["To"] = ", ".join(message.recipients)
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message.message_id or make_msgid(f"mango.{message.location_id}.{message.id}", domain)
    if message.in_reply_to:
        email["In-Reply-To"] = message.in_reply_to
    if message.thread_ids:
        email["References"] = message.thread_ids
    email.set_content(message.text or "")
    if message.html:
        email.add_alternative(message.html, subtype="html")
    for att in message.attachments:
        if att.content is None:
            raise PermanentMailError(f"the attachment {att.filename} was purged; the message cannot be sent again")
        maintype, _slash, subtype = att.content_type.partition("/")
        email.add_attachment(att.content, maintype=maintype, subtype=subtype, filename=att.filename)
    return email


def _sender_name(session: Session) -> str:
    from mango_core.tenancy.models import Location

    location = session.get(Location, current_scope().write_location_id)
    return (location.company_name or location.name) if location is not None else ""


def send_due(session: Session, now: datetime | None = None, *, settings: MailSettings | None = None,
             connect: Callable[[MailSettings], SmtpConnection] = SmtpConnection,
             limit: int | None = None) -> SendResult:
    """Send the location's due messages (commits after each one: mail is a side effect)."""
    settings = settings if settings is not None else current_settings()
    result = SendResult()
    if not settings.enabled:
        result.skipped = "mail is not configured ([mail] host is empty); messages stay queued"
        return result
    now = now or utcnow()
    batch = limit or settings.batch_size
    due = list(session.scalars(select(MailMessage.id).where(MailMessage.state == QUEUED,
                                                            MailMessage.next_attempt_at <= now)
                               .order_by(MailMessage.next_attempt_at, MailMessage.id).limit(batch)))
    session.commit()
    if not due:
        return result
    sender_name = _sender_name(session)
    connection = connect(settings)
    try:
        for message_id in due:
            claimed = session.execute(
                update(MailMessage)
                .where(MailMessage.id == message_id, MailMessage.state == QUEUED, MailMessage.next_attempt_at <= now)
                .values(next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False))
            session.commit()
            if claimed.rowcount != 1:
                continue  # another sender took it
            message = session.scalar(select(MailMessage).where(MailMessage.id == message_id)
                                     .options(selectinload(MailMessage.attachments)
                                              .options(undefer(MailAttachment.content)))
                                     .execution_options(populate_existing=True))
            outcome = _send_one(connection, message, settings, sender_name, now)
            if outcome == SENT:
                result.sent += 1
            elif outcome == FAILED:
                result.failed += 1
            else:
                result.retried += 1
            if message.last_error and outcome != SENT:
                result.errors.append(f"#{message.id}: {message.last_error}")
            session.commit()
            if outcome == QUEUED and not connection.is_open:
                # the server is unreachable: one try per run is enough, the rest wait for the next run
                break
    finally:
        connection.close()
    purge_attachments(session, now, settings.keep_attachments_days)
    session.commit()
    return result


def _send_one(connection: SmtpConnection, message: MailMessage, settings: MailSettings, sender_name: str,
              now: datetime) -> str:
    message.attempts += 1
    try:
        email = build_email(message, settings, sender_name=sender_name)
        refused = connection.send(email, list(message.recipients))
    except PermanentMailError as exc:
        message.state, message.last_error = FAILED, str(exc)[:MAX_ERROR]
        log.warning("mail %s failed for good: %s", message.id, exc)
        return FAILED
    except TransientMailError as exc:
        message.last_error = str(exc)[:MAX_ERROR]
        if message.attempts >= settings.max_attempts:
            message.state = FAILED
            message.last_error = f"gave up after {message.attempts} attempts: {exc}"[:MAX_ERROR]
            log.warning("mail %s failed after %s attempts: %s", message.id, message.attempts, exc)
            return FAILED
        message.next_attempt_at = now + backoff(message.attempts)
        log.info("mail %s deferred to %s: %s", message.id, message.next_attempt_at, exc)
        return QUEUED
    message.state, message.sent_at, message.message_id = SENT, now, email["Message-ID"]
    message.last_error = ("some recipients refused: " + "; ".join(f"{k}: {v}" for k, v in refused.items())
                          if refused else "")[:MAX_ERROR]
    return SENT


def purge_attachments(session: Session, now: datetime, keep_days: int) -> int:
    """Drop the bytes of attachments of messages sent more than ``keep_days`` ago (0: keep for ever)."""
    if keep_days <= 0:
        return 0
    old = select(MailMessage.id).where(MailMessage.state == SENT, MailMessage.sent_at < now - timedelta(days=keep_days))
    result = session.execute(update(MailAttachment).where(MailAttachment.message_id.in_(old),
                                                          MailAttachment.content.is_not(None))
                             .values(content=None).execution_options(synchronize_session=False))
    return result.rowcount or 0


def current_settings() -> MailSettings:
    """The ``[mail]`` settings of the running application."""
    from mango_core.kernel import current_mango

    return MailSettings.from_section(current_mango().settings.section("mail"))
