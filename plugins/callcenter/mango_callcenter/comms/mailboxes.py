"""Reading a location's mail sources (the job ``callcenter:fetch_mail``) and managing them.

Each message is filed by :func:`mango_callcenter.comms.mailin.ingest` and committed on its own; only
then is it marked read in the mailbox (IMAP ``\\Seen``, maildir ``new`` → ``cur`` with the ``S``
flag). Whatever crashes in between is read again next time and deduplicated by its Message-ID, so the
job is safe to re-run and never loses a message. Nothing is deleted from a mailbox.

IMAP: ``ssl`` (implicit TLS, port 993), ``starttls`` (143, TLS required) or ``none`` (plain, for a
local server only); certificates are verified (a private CA: plugin setting ``imap_ca_file``).
"""

from __future__ import annotations

import imaplib
import logging
import mailbox
import os
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_callcenter.comms import secrets
from mango_callcenter.comms.mailin import ingest
from mango_callcenter.comms.models import (
    IMAP,
    MAILDIR,
    PLAIN,
    SECURITIES,
    SOURCE_KINDS,
    SSL,
    STARTTLS,
    MailSource,
)
from mango_core.db import utcnow
from mango_core.tenancy.validators import N_, InvalidValue

log = logging.getLogger("mango.callcenter.mail")

BATCH = 200  # messages per source and run: the rest come next time
MAX_BYTES = 50 * 1024 * 1024
TIMEOUT = 30


class SourceError(RuntimeError):
    """A mailbox that cannot be read now (unreachable, refused login, missing folder)."""


@dataclass
class FetchResult:
    read: int = 0
    created: int = 0
    threaded: int = 0
    ignored: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.read} new messages: {self.created} tickets, {self.threaded} threaded, {self.ignored} ignored"
        return text + (f"; errors: {'; '.join(self.errors)}" if self.errors else "")


# --- readers: (uid, raw bytes) pairs and a way to mark one as read -------------------------------------------


class MaildirReader:
    def __init__(self, source: MailSource) -> None:
        if not source.path or not os.path.isdir(os.path.join(source.path, "new")):
            raise SourceError(f"{source.path!r} is not a maildir (no new/ folder)")
        self.box = mailbox.Maildir(source.path, factory=None, create=False)

    def unread_keys(self) -> list[str]:
        """Keys of messages in new/ and of those in cur/ without the S flag, from the file names alone
        (a maildir keeps every read message: opening each one every run would not scale)."""
        keys = []
        for sub in ("new", "cur"):
            with os.scandir(os.path.join(self.box._path, sub)) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    key, _colon, info = entry.name.partition(self.box.colon)
                    if sub == "new" or "S" not in info.partition(",")[2]:
                        keys.append(key)
        return sorted(keys)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for key in self.unread_keys()[:BATCH]:
            with self.box.get_file(key) as handle:
                yield key, handle.read(MAX_BYTES + 1)

    def mark_read(self, key: str) -> None:
        message = self.box.get_message(key)
        message.set_subdir("cur")
        message.add_flag("S")
        self.box[key] = message

    def close(self) -> None:
        self.box.close()


class ImapReader:
    def __init__(self, source: MailSource, password: str, ca_file: str = "") -> None:
        context = ssl.create_default_context(cafile=ca_file or None)
        port = source.port or (993 if source.security == SSL else 143)
        try:
            if source.security == SSL:
                self.imap = imaplib.IMAP4_SSL(source.host, port, ssl_context=context, timeout=TIMEOUT)
            else:
                self.imap = imaplib.IMAP4(source.host, port, timeout=TIMEOUT)
                if source.security == STARTTLS:
                    self.imap.starttls(ssl_context=context)
            self.imap.login(source.username, password)
            status, _data = self.imap.select(_quoted(source.folder or "INBOX"))
            if status != "OK":
                raise SourceError(f"no folder {source.folder!r}")
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise SourceError(f"IMAP {source.host}:{port}: {exc}") from None

    def messages(self) -> Iterator[tuple[str, bytes]]:
        status, data = self.imap.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise SourceError(f"IMAP search failed: {data!r}")
        for uid in (data[0] or b"").split()[:BATCH]:
            status, parts = self.imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts or [] if isinstance(p, tuple)), None)
            if status == "OK" and raw is not None:
                yield uid.decode(), raw

    def mark_read(self, uid: str) -> None:
        self.imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")

    def close(self) -> None:
        try:
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error) as exc:  # the server is gone already: nothing is left to close
            log.info("IMAP logout: %s", exc)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def reader_for(source: MailSource, settings: dict) -> MaildirReader | ImapReader:
    if source.kind == MAILDIR:
        return MaildirReader(source)
    try:
        keys = settings.get(secrets.SETTING) or None
        password = secrets.decrypt(source.password_enc, keys=keys) if source.password_enc else ""
    except secrets.SecretsError as exc:
        raise SourceError(str(exc)) from None
    return ImapReader(source, password, str(settings.get("imap_ca_file") or ""))


# --- the job -------------------------------------------------------------------------------------------------


def fetch_source(session: Session, source: MailSource, settings: dict,
                 reader_factory: Callable[[MailSource, dict], object] = reader_for) -> FetchResult:
    """Read one source's unread messages; commits after each message."""
    result = FetchResult()
    source_id = source.id
    try:
        reader = reader_factory(source, settings)
    except SourceError as exc:
        source.last_error, source.last_fetch_at = str(exc)[:2000], utcnow()
        session.commit()
        result.errors.append(f"{source.name}: {exc}")
        return result
    try:
        for key, raw in reader.messages():
            if len(raw) > MAX_BYTES:
                result.errors.append(f"{source.name}: message {key} larger than {MAX_BYTES} bytes left in the mailbox")
                continue
            filed = ingest(session, raw, source=source, limits=settings)
            session.commit()
            reader.mark_read(key)
            if filed.new:
                result.read += 1
                outcome = filed.inbound.outcome
                result.created += outcome == "created"
                result.threaded += outcome == "threaded"
                result.ignored += outcome in ("ignored", "rejected")
        error = ""
    except (SourceError, OSError, imaplib.IMAP4.error) as exc:
        session.rollback()
        error = str(exc)[:2000]
        result.errors.append(f"{source.name}: {exc}")
    finally:
        reader.close()
    source = session.scalar(select(MailSource).where(MailSource.id == source_id))
    source.last_error, source.last_fetch_at = error, utcnow()
    session.commit()
    return result


def fetch_all(session: Session, settings: dict) -> FetchResult:
    total = FetchResult()
    sources = list(session.scalars(select(MailSource).where(MailSource.is_active.is_(True)).order_by(MailSource.id)))
    for source in sources:
        one = fetch_source(session, source, settings)
        total.read += one.read
        total.created += one.created
        total.threaded += one.threaded
        total.ignored += one.ignored
        total.errors += one.errors
    return total


# --- managing sources ----------------------------------------------------------------------------------------


def save_source(session: Session, *, name: object, kind: object, host: object = "", port: object = None,
                security: object = SSL, username: object = "", password: object = "", folder: object = "INBOX",
                path: object = "", is_active: bool = True, source: MailSource | None = None,
                keys: list[str] | None = None) -> MailSource:
    """Create or change a source; an empty password keeps the stored one (it is never shown again)."""
    name = str(name or "").strip()
    if not name or len(name) > 100:
        raise InvalidValue(N_("This field is required."), field="name")
    if kind not in SOURCE_KINDS:
        raise InvalidValue(N_("Choose one of the offered values."), field="kind")
    security = security or SSL  # a maildir has none; an IMAP form always sends one
    if security not in SECURITIES:
        raise InvalidValue(N_("Choose one of the offered values."), field="security")
    clash = session.scalar(select(MailSource.id).where(MailSource.name == name))
    if clash is not None and (source is None or clash != source.id):
        raise InvalidValue(N_("This name is already used."), field="name")
    host, username, path = str(host or "").strip(), str(username or "").strip(), str(path or "").strip()
    port_number = None
    if str(port or "").strip():
        if not str(port).strip().isdigit() or not 0 < int(port) < 65536:
            raise InvalidValue(N_("Enter a port from 1 to 65535."), field="port")
        port_number = int(port)
    if kind == IMAP and (not host or not username):
        raise InvalidValue(N_("An IMAP mailbox needs a server and a user name."), field="host")
    if kind == IMAP and not password and (source is None or not source.password_enc):
        raise InvalidValue(N_("This field is required."), field="password")
    if kind == MAILDIR and not os.path.isabs(path):
        raise InvalidValue(N_("Enter the absolute path of a maildir."), field="path")
    token = None
    if password:
        try:
            token = secrets.encrypt(str(password), keys=keys)
        except secrets.SecretsError as exc:
            raise InvalidValue(N_("Passwords cannot be stored: %(error)s"), field="password", error=str(exc)) from None
    if source is None:
        source = MailSource()
        session.add(source)
    source.name, source.kind, source.host, source.port = name, kind, host[:200], port_number
    source.security, source.username, source.folder = security, username[:200], (str(folder or "").strip() or "INBOX")[:200]
    source.path, source.is_active = path[:500], bool(is_active)
    if token is not None:
        source.password_enc = token
    if kind == IMAP and security == PLAIN and host not in ("127.0.0.1", "::1", "localhost"):
        source.last_error = "plain IMAP sends the password unencrypted; use ssl or starttls"
    session.flush()
    return source


def sources(session: Session) -> list[MailSource]:
    return list(session.scalars(select(MailSource).order_by(MailSource.name)))
