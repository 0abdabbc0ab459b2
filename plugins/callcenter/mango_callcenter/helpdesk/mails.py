"""E-mails of the helpdesk: a public reply or the news of a ticket opened by staff to the customer, and SLA
breach alerts to staff.

All go through the core outbox in the caller's transaction, with a dedup key (a re-run queues
nothing twice), and are written in the location's language (there is no request in the job).

Threading: a reply's Message-ID carries a random part (``<ticket-42.Xq3…@example.cz>``) and is
stored on the message; :func:`ticket_of_answer` files an incoming answer only by an exact look-up of
the stored ids in its In-Reply-To/References (a pattern anybody can type proves nothing), else by
``[#42]`` in the subject, and that only from an address of the ticket's customer or requester.
Answers go to the location's address (``Reply-To``) or the plugin setting ``reply_to``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from flask import has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_callcenter.helpdesk.models import EV_RESPONSE_BREACH, Ticket, TicketMessage
from mango_core.customers.models import Customer, CustomerContact, CustomerContactChannel
from mango_core.mail import service as outbox
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.models import Location

MSGID_DOMAIN_FALLBACK = "mango.invalid"
TICKET_TAG_RE = re.compile(r"\[#(\d{1,9})\]")
# the predictable reply ids sent before they had a random part: trusted only from the ticket's own people
LEGACY_MSGID_RE = re.compile(r"<ticket-\d{1,9}\.\d+\.\d+@")
MAX_REFERENCES_LOOKED_UP = 50
MAX_RECIPIENTS = 3


def _location(session: Session) -> Location:
    return session.get(Location, current_scope().write_location_id)


def _in_location_language(location: Location) -> AbstractContextManager:
    return force_locale(location.locale or "cs") if has_app_context() else nullcontext()


def _setting(name: str) -> str:
    if not has_app_context():
        return ""
    from mango_core.kernel import current_mango

    return str(current_mango().plugin_settings("callcenter").get(name) or "")


def msgid_domain() -> str:
    """The domain of the mail sender (``[mail] from_address``), for Message-IDs."""
    domain = ""
    if has_app_context():
        domain = outbox.current_settings().from_address.rpartition("@")[2]
    return domain or MSGID_DOMAIN_FALLBACK


def new_message_id(ticket: Ticket, domain: str) -> str:
    """A Message-ID nobody can guess: an answer naming it is filed by an exact look-up (the number is for people)."""
    return f"<ticket-{ticket.number}.{secrets.token_urlsafe(18)}@{domain}>"


def ticket_number_from(subject: str) -> int | None:
    """The number in a ``[#N]`` subject tag (proves nothing about the sender: see :func:`ticket_of_answer`)."""
    match = TICKET_TAG_RE.search(subject or "")
    return int(match.group(1)) if match else None


def sender_belongs(session: Session, ticket: Ticket, address: str) -> bool:
    """Whether ``address`` is the ticket's requester or an e-mail of any contact of its customer."""
    address = (address or "").strip().lower()
    if not address:
        return False
    if ticket.requester_email and ticket.requester_email.lower() == address:
        return True
    if ticket.customer_id is None:
        return False
    return session.scalar(
        select(CustomerContactChannel.id).join(CustomerContact, CustomerContactChannel.contact_id == CustomerContact.id)
        .where(CustomerContact.customer_id == ticket.customer_id, CustomerContactChannel.kind == "email",
               func.lower(CustomerContactChannel.value) == address).limit(1)) is not None


def ticket_of_answer(session: Session, *, references: Sequence[str], subject: str, sender: str) -> Ticket | None:
    """The ticket an incoming e-mail answers, in the scope's location, or None (then it opens a new one).

    1. A Message-ID of its In-Reply-To/References stored on a message (our reply, or an e-mail filed
       earlier), exactly: the ticket that message is in now (a moved message leads to its new ticket).
       An old predictable id of ours counts only from the ticket's customer or requester.
    2. Else ``[#N]`` in the subject, only from the ticket's customer or requester.
    Merges and closed tickets are the caller's to follow.
    """
    refs = [r for r in dict.fromkeys(references) if r][:MAX_REFERENCES_LOOKED_UP]
    if refs:
        rows = session.execute(select(TicketMessage.ticket_id, TicketMessage.email_message_id)
                               .where(TicketMessage.email_message_id.in_(refs))
                               .order_by(TicketMessage.id.desc())).all()
        for ticket_id, stored in rows:
            ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id))
            if ticket is None:
                continue
            if LEGACY_MSGID_RE.match(stored or "") and not sender_belongs(session, ticket, sender):
                continue
            return ticket
    number = ticket_number_from(subject)
    if number is not None:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is not None and sender_belongs(session, ticket, sender):
            return ticket
    return None


def customer_emails(customer: Customer | None) -> list[str]:
    """Where replies go: the primary e-mail of each contact (owner and technical contacts first)."""
    if customer is None:
        return []
    contacts = sorted(customer.contacts, key=lambda c: (not c.role_owner, not c.role_technical, c.id))
    found: list[str] = []
    for contact in contacts:
        emails = sorted(contact.emails, key=lambda ch: (not ch.is_primary, ch.id))
        if emails and emails[0].value.lower() not in {e.lower() for e in found}:
            found.append(emails[0].value)
    return found[:MAX_RECIPIENTS]


def recipients_of(ticket: Ticket) -> list[str]:
    """Where the ticket's e-mails go: the customer's contacts, else the requester (none: no e-mail)."""
    return customer_emails(ticket.customer) or ([ticket.requester_email] if ticket.requester_email else [])


def queue_reply(session: Session, ticket: Ticket, message: TicketMessage, author: str) -> int | None:
    """Queue a public reply's e-mail (once per message); None when the customer has no address."""
    return _queue_public(session, ticket, message, author, dedup_key=f"callcenter:reply:{message.id}")


def queue_opened(session: Session, ticket: Ticket, message: TicketMessage, author: str) -> int | None:
    """Tell the customer about a ticket staff opened (its first message, once per ticket); None: no address."""
    location = _location(session)
    with _in_location_language(location):
        intro = _("We have recorded your request #%(number)d:", number=ticket.number)
    return _queue_public(session, ticket, message, author, dedup_key=f"callcenter:opened:{ticket.id}",
                         intro=f"{intro}\n\n")


def _queue_public(session: Session, ticket: Ticket, message: TicketMessage, author: str, *, dedup_key: str,
                  intro: str = "") -> int | None:
    recipients = recipients_of(ticket)
    if not recipients:
        return None
    location = _location(session)
    company = location.company_name or location.name
    with _in_location_language(location):
        footer = _("Request #%(number)d: %(subject)s", number=ticket.number, subject=ticket.subject)
        hint = _("To add anything, reply to this e-mail and keep [#%(number)d] in the subject.", number=ticket.number)
    text = f"{intro}{message.body}\n\n-- \n{author}\n{company}\n\n{footer}\n{hint}\n"
    in_reply_to, references = thread_headers(session, ticket, message)
    # the outbox sends a preset Message-ID as it is; stored on the message, an answer naming it finds the ticket
    queued = outbox.queue(session, to=recipients, subject=f"[#{ticket.number}] {ticket.subject}", text=text,
                          entity="callcenter_ticket", entity_id=ticket.id,
                          reply_to=_setting("reply_to") or location.email or None, dedup_key=dedup_key,
                          message_id=new_message_id(ticket, msgid_domain()),
                          in_reply_to=in_reply_to, references=references)
    message.email_message_id = queued.message_id
    session.flush()
    from mango_callcenter.comms.log import record_mail

    record_mail(session, queued, customer_id=ticket.customer_id)
    return queued.id


MAX_REFERENCES = 20


def thread_headers(session: Session, ticket: Ticket, message: TicketMessage) -> tuple[str | None, list[str]]:
    """In-Reply-To (the customer's last e-mail, else our last one) and References (the ticket's e-mails, oldest
    first) for a reply, so that mail clients group the conversation."""
    from mango_core.mail.service import MailInputError, msg_id

    rows = session.execute(select(TicketMessage.email_message_id, TicketMessage.author_user_id)
                           .where(TicketMessage.ticket_id == ticket.id, TicketMessage.id != message.id,
                                  TicketMessage.email_message_id.is_not(None), TicketMessage.internal.is_(False))
                           .order_by(TicketMessage.created_at, TicketMessage.id)).all()
    ids: list[tuple[str, bool]] = []
    for value, by_staff in rows:
        try:
            ids.append((msg_id(value), by_staff is not None))
        except MailInputError:
            continue  # a malformed id of a received mail is not repeated in our headers
    if not ids:
        return None, []
    customer_ids = [value for value, by_staff in ids if not by_staff]
    in_reply_to = customer_ids[-1] if customer_ids else ids[-1][0]
    references = list(dict.fromkeys(value for value, _staff in ids))
    if len(references) > MAX_REFERENCES:  # RFC 5322: keep the first and the latest ones
        references = references[:1] + references[-(MAX_REFERENCES - 1):]
    return in_reply_to, references


def breach_recipients(ticket: Ticket) -> list[str]:
    """The assignee, or the queue's alert address when nobody (active) is assigned."""
    if ticket.assignee is not None and ticket.assignee.is_active:
        return [ticket.assignee.email]
    if ticket.queue is not None and ticket.queue.email:
        return [a.strip() for a in ticket.queue.email.split(",") if a.strip()]
    return []


def queue_breach(session: Session, ticket: Ticket, kind: str, due: datetime) -> bool:
    """Tell staff that a ticket missed its response or resolution time (once per ticket and kind)."""
    to = breach_recipients(ticket)
    if not to:
        return False
    with _in_location_language(_location(session)):
        what = _("response time") if kind == EV_RESPONSE_BREACH else _("resolution time")
        subject = _("SLA missed (%(what)s): [#%(number)d] %(subject)s", what=what, number=ticket.number,
                    subject=ticket.subject)
        text = _("Ticket #%(number)d \"%(subject)s\" missed its %(what)s, due %(due)s UTC.",
                 number=ticket.number, subject=ticket.subject, what=what, due=due.strftime("%Y-%m-%d %H:%M"))
    outbox.queue(session, to=to, subject=subject, text=text + "\n", entity="callcenter_ticket", entity_id=ticket.id,
                 dedup_key=f"callcenter:sla:{kind}:{ticket.id}")
    return True
