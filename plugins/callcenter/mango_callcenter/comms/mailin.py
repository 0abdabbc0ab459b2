"""Incoming e-mail: one message in, a ticket message out (threaded, a new ticket, or ignored).

:func:`ingest` takes the raw bytes of one message (from IMAP, a maildir, or an MTA piping to
``mango callcenter mail-in``) in the caller's transaction and location scope:

* **Once per Message-ID**: every message seen is recorded in ``callcenter_inbound_mail``
  (unique per location; a message without an id gets one from the hash of its bytes), so a second
  fetch of the same mailbox adds nothing.
* **No loops**: auto-replies and bounces (``Auto-Submitted`` other than ``no``, ``Precedence``
  bulk/junk/list, ``X-Autoreply``, delivery reports, ``MAILER-DAEMON``/null senders) and mail
  from our own address are recorded as ignored and never answered nor filed.
* **Threading**: an ``In-Reply-To``/``References`` id stored on a ticket's message, exactly (our reply
  Message-IDs carry a random part), else ``[#N]`` in the subject from the ticket's customer or
  requester only (see :func:`mango_callcenter.helpdesk.mails.ticket_of_answer`). A merged ticket
  files into its target; a closed ticket gets a new ticket instead.
* Otherwise a **new ticket** (channel e-mail) for the customer whose contact has the sender's
  address (exactly one customer), else for the unknown sender (``requester_email``).
* **Attachments** are kept within the helpdesk's limits (``attachment_max_bytes``,
  ``attachments_per_message``); what does not fit is named in the message text instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html import unescape

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_callcenter.comms.models import CREATED, IGNORED, REJECTED, THREADED, InboundMail, MailSource
from mango_callcenter.helpdesk import mails
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.attachments import Upload, check
from mango_callcenter.helpdesk.models import CLOSED, EMAIL, Ticket, TicketMessage
from mango_core.customers.models import Customer, CustomerContact, CustomerContactChannel
from mango_core.db import utcnow
from mango_core.tenancy.validators import InvalidValue

MSGID_RE = re.compile(r"<[^<>\s]{1,298}>")
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
NULL_SENDERS = ("mailer-daemon@", "postmaster@")
MAX_HOPS = 20  # merged-into chain


@dataclass
class Result:
    """What became of one message; ``new`` is False when it had been seen before."""

    inbound: InboundMail
    new: bool = True
    dropped: list[str] = field(default_factory=list)


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def message_id_of(msg: EmailMessage, raw: bytes) -> str:
    found = MSGID_RE.search(str(msg.get("Message-ID") or ""))
    if found:
        return found.group(0)[:300]
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@mango.inbound>"


def is_automatic(msg: EmailMessage, sender: str) -> str:
    """Why this message is an automatic one (an auto-reply, a bounce, a list), or ""."""
    auto = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence") or "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"):
        if msg.get(name) is not None and name != "X-Auto-Response-Suppress":
            return name
    if str(msg.get("X-Auto-Response-Suppress") or "").strip().lower() in {"all", "oof", "autoreply"}:
        return "X-Auto-Response-Suppress"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    return_path = str(msg.get("Return-Path") or "").strip()
    if return_path == "<>" or not sender or sender.lower().startswith(NULL_SENDERS):
        return "null sender"
    return ""


def _text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        text = body.get_content()
    except (LookupError, ValueError):
        text = body.get_payload(decode=True).decode("utf-8", "replace") if body.get_payload(decode=True) else ""
    if body.get_content_type() == "text/html":
        text = re.sub(r"(?is)<(script|style).*?</\1>", "", text)
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
        text = unescape(re.sub(r"<[^>]+>", "", text))
    return text.replace("\r\n", "\n").strip()


def _uploads(msg: EmailMessage, limits: dict | None) -> tuple[list[Upload], list[str]]:
    """The files that fit the helpdesk's limits, and the names of those that do not."""
    per_message = int((limits or {}).get("attachments_per_message", 5))
    kept: list[Upload] = []
    dropped: list[str] = []
    for part in msg.iter_attachments():
        name = part.get_filename() or "attachment"
        try:
            content = part.get_content()
        except (LookupError, ValueError):
            content = part.get_payload(decode=True)
        if isinstance(content, str):
            content = content.encode()
        if not isinstance(content, bytes):  # an attached message: keep its bytes as .eml
            content, name = part.as_bytes(), (name if name.endswith(".eml") else name + ".eml")
        if len(kept) >= per_message:
            dropped.append(name)
            continue
        try:
            kept.extend(check([Upload(name, content, part.get_content_type())], limits))
        except InvalidValue:
            dropped.append(name)
    return kept, dropped


def customer_by_email(session: Session, address: str) -> Customer | None:
    """The one customer of the location with a contact e-mail ``address`` (none or several: None)."""
    ids = set(session.scalars(
        select(CustomerContact.customer_id).join(CustomerContactChannel,
                                                 CustomerContactChannel.contact_id == CustomerContact.id)
        .where(CustomerContactChannel.kind == "email", func.lower(CustomerContactChannel.value) == address.lower())))
    if len(ids) != 1:
        return None
    return session.scalar(select(Customer).where(Customer.id == ids.pop(), Customer.anonymised_at.is_(None)))


def _references(msg: EmailMessage) -> list[str]:
    refs = MSGID_RE.findall(str(msg.get("In-Reply-To") or "")) + MSGID_RE.findall(str(msg.get("References") or ""))
    return list(dict.fromkeys(refs))


def find_ticket(session: Session, msg: EmailMessage, sender: str, customer: Customer | None) -> Ticket | None:
    """The active ticket this message answers (the rules: :func:`mango_callcenter.helpdesk.mails.ticket_of_answer`)."""
    ticket = mails.ticket_of_answer(session, references=_references(msg), subject=str(msg.get("Subject") or ""),
                                    sender=sender)
    for _hop in range(MAX_HOPS):
        if ticket is None or ticket.merged_into_id is None:
            break
        ticket = ticket.merged_into
    if ticket is not None and ticket.state == CLOSED:
        return None
    return ticket


def _own_addresses() -> set[str]:
    from flask import has_app_context

    found = {mails._setting("reply_to").lower()} if has_app_context() else set()
    if has_app_context():
        from mango_core.mail.service import current_settings

        found.add(current_settings().from_address.lower())
    return {a for a in found if a}


def ingest(session: Session, raw: bytes, *, source: MailSource | None = None, limits: dict | None = None) -> Result:
    """File one incoming message (see the module doc); runs in the caller's transaction."""
    msg = parse(raw)
    message_id = message_id_of(msg, raw)
    known = session.scalar(select(InboundMail).where(InboundMail.message_id == message_id))
    if known is not None:
        return Result(known, new=False)
    sender = parseaddr(str(msg.get("Reply-To") or msg.get("From") or ""))[1].strip()[:254]
    from_address = parseaddr(str(msg.get("From") or ""))[1].strip().lower()
    subject = " ".join(str(msg.get("Subject") or "").split())
    inbound = InboundMail(source_id=source.id if source else None, message_id=message_id, sender=sender,
                          subject=subject[:300], outcome=IGNORED, received_at=utcnow())
    result = Result(inbound)
    claimed = _record(session, result)  # first: a concurrent fetch of the same message waits here, then backs off
    if not claimed.new:
        return claimed
    why = is_automatic(msg, from_address)
    if not why and (from_address in _own_addresses() or any(
            a.lower() in _own_addresses() for _n, a in getaddresses([str(msg.get("Reply-To") or "")]))):
        why = "our own address"
    if why:
        inbound.note = why[:500]
        session.flush()
        return result
    try:
        with session.begin_nested():
            _file(session, msg, message_id, sender, subject, inbound, result, limits)
    except InvalidValue as exc:
        inbound.outcome, inbound.note, inbound.ticket_id = REJECTED, str(exc)[:500], None
    session.flush()
    return result


def _file(session: Session, msg: EmailMessage, message_id: str, sender: str, subject: str, inbound: InboundMail,
          result: Result, limits: dict | None) -> None:
    customer = customer_by_email(session, sender) if sender else None
    uploads, dropped = _uploads(msg, limits)
    result.dropped = dropped
    body = _text_of(msg) or "(-)"
    if dropped:
        body += "\n\n[" + ", ".join(dropped) + ": not kept (too large, too many or an unknown type)]"
    ticket = find_ticket(session, msg, sender, customer)
    if ticket is not None:
        by_customer = customer is not None and ticket.customer_id == customer.id
        actor = helpdesk.Actor(customer_id=customer.id if by_customer else None)
        helpdesk.customer_message(session, ticket, body[:helpdesk.MAX_BODY], actor, channel=EMAIL,
                                  author_email="" if by_customer else sender, email_message_id=message_id,
                                  uploads=uploads, limits=limits)
        inbound.outcome, inbound.ticket_id = THREADED, ticket.id
        return
    if not sender:
        raise InvalidValue("The message has no sender address.", field="from")
    title = subject[:helpdesk.MAX_SUBJECT] or "(-)"
    ticket = helpdesk.create_ticket(session, subject=title, body=body[:helpdesk.MAX_BODY],
                                    actor=helpdesk.Actor(customer_id=customer.id if customer else None),
                                    customer_id=customer.id if customer else None,
                                    requester_email="" if customer else sender, channel=EMAIL, uploads=uploads,
                                    limits=limits)
    first = session.scalar(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
    first.email_message_id = message_id
    first.author_email = "" if customer else sender
    inbound.outcome, inbound.ticket_id = CREATED, ticket.id
    session.flush()


def _record(session: Session, result: Result) -> Result:
    try:
        with session.begin_nested():  # a concurrent fetch of the same message: keep theirs
            session.add(result.inbound)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(InboundMail).where(InboundMail.message_id == result.inbound.message_id))
        if existing is None:
            raise
        return Result(existing, new=False)
    return result
