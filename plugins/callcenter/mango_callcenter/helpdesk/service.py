"""The helpdesk's rules: creating tickets, their states, assignment, replies and notes, merging, splitting.

Every function runs in the caller's transaction and location scope (the tenant guard hides other
locations' rows, so an id of another location is simply "not found"). Bad input raises
:class:`InvalidValue` naming the field, before anything is written. Every change of state,
assignee, priority or queue is logged in the append-only :class:`TicketEvent`.

A public reply queues one e-mail to the customer through the core outbox (sent by the core's mail
job); :mod:`mango_callcenter.helpdesk.mails` composes it with a Message-ID and subject that name
the ticket, so that an answer can be threaded back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from mango_callcenter.helpdesk import mails
from mango_callcenter.helpdesk.attachments import Upload, check, store
from mango_callcenter.helpdesk.models import (
    ACTIVE_STATES,
    CHANNELS,
    CLOSED,
    EMAIL,
    EV_ASSIGNEE,
    EV_CREATED,
    EV_MERGED,
    EV_MERGED_FROM,
    EV_PRIORITY,
    EV_QUEUE,
    EV_SPLIT_FROM,
    EV_SPLIT_TO,
    EV_STATE,
    NEW,
    NORMAL,
    OPCARE,
    OPEN,
    PRIORITIES,
    RESOLVED,
    SELFCARE,
    WAITING,
    Category,
    Queue,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)
from mango_callcenter.helpdesk.sla import due_dates, paused_seconds
from mango_core.auth.access import allowed_location_ids
from mango_core.auth.models import User
from mango_core.customers.models import Customer
from mango_core.db import sequences, utcnow
from mango_core.devices.models import Device
from mango_core.mail import service as mail
from mango_core.services.models import Service
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.validators import N_, InvalidValue

SEQUENCE = "callcenter.ticket"
# state names for messages (lazy: translated where the message is shown)
STATE_NAMES = {NEW: _l("new ticket"), OPEN: _l("in progress"), WAITING: _l("waiting for customer"),
               RESOLVED: _l("resolved ticket"), CLOSED: _l("closed ticket")}
MAX_SUBJECT = 200
MAX_BODY = 100_000
# which state may follow which; "closed" is final (a closed ticket's customer opens a new one)
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({OPEN, WAITING, RESOLVED, CLOSED}),
    OPEN: frozenset({WAITING, RESOLVED, CLOSED}),
    WAITING: frozenset({OPEN, RESOLVED, CLOSED}),
    RESOLVED: frozenset({OPEN, CLOSED}),
    CLOSED: frozenset(),
}


class InvalidTransition(InvalidValue):
    """A state change :data:`TRANSITIONS` does not allow; names the states in the UI's words in a request."""

    def __init__(self, old: str, new: str):
        super().__init__(N_("A ticket cannot go from %(old)s to %(new)s."), field="state", old=old, new=new)

    def __str__(self) -> str:
        if has_request_context():
            from flask_babel import gettext

            return gettext(self.message, old=STATE_NAMES[self.params["old"]], new=STATE_NAMES[self.params["new"]])
        return super().__str__()


@dataclass(frozen=True)
class Actor:
    """Who acts: a member of staff, a customer (Selfcare), or the system (neither)."""

    user_id: int | None = None
    customer_id: int | None = None


SYSTEM = Actor()


# --- small checks ----------------------------------------------------------------------------------


def _text(value: object, field: str, limit: int, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidValue(N_("This field is required."), field=field)
    if len(text) > limit:
        raise InvalidValue(N_("At most %(max)d characters."), field=field, max=limit)
    return text


def _subject(value: object) -> str:
    return " ".join(_text(value, "subject", MAX_SUBJECT).split())  # one line: it goes into e-mail subjects


def _choice(value: object, allowed: Iterable[str], field: str) -> str:
    if value not in tuple(allowed):
        raise InvalidValue(N_("Choose one of the offered values."), field=field)
    return str(value)


def _optional_id(value: object, field: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValue(N_("Choose one of the offered values."), field=field) from None


def _found(session: Session, model: type, value: object, field: str):  # noqa: ANN202
    """The row of ``model`` with id ``value`` in the scope's location (another location's is not found)."""
    row_id = _optional_id(value, field)
    if row_id is None:
        return None
    # a query, not session.get: the identity map could hand back another location's row without asking
    row = session.scalar(select(model).where(model.id == row_id))
    if row is None:
        raise InvalidValue(N_("Not found in this location."), field=field)
    return row


def staff_in_location(session: Session, user_id: int) -> User:
    """An active member of staff who may work in the scope's location."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or current_scope().write_location_id not in allowed_location_ids(session, user):
        raise InvalidValue(N_("This user does not work in this location."), field="assignee_id")
    return user


def _log(session: Session, ticket: Ticket, kind: str, old: object, new: object, actor: Actor,
         now: datetime | None = None) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, kind=kind, old_value=str(old or "")[:200],
                            new_value=str(new or "")[:200], actor_user_id=actor.user_id,
                            actor_customer_id=actor.customer_id, at=now or utcnow()))


# --- queues and categories ---------------------------------------------------------------------------


def save_queue(session: Session, *, name: object, email: object = "", is_active: bool = True,
               queue: Queue | None = None) -> Queue:
    name = _text(name, "name", 100)
    addresses = str(email or "").strip()
    if addresses:
        try:
            addresses = ", ".join(mail.clean_recipients(addresses))
        except mail.MailInputError:
            raise InvalidValue(N_("Enter e-mail addresses separated by commas."), field="email") from None
    clash = session.scalar(select(Queue.id).where(func.lower(Queue.name) == name.lower()))
    if clash is not None and (queue is None or clash != queue.id):
        raise InvalidValue(N_("This name is already used."), field="name")
    if queue is None:
        queue = Queue()
        session.add(queue)
    queue.name, queue.email, queue.is_active = name, addresses[:500], bool(is_active)
    session.flush()
    return queue


def save_category(session: Session, *, name: object, is_active: bool = True,
                  category: Category | None = None) -> Category:
    name = _text(name, "name", 100)
    clash = session.scalar(select(Category.id).where(func.lower(Category.name) == name.lower()))
    if clash is not None and (category is None or clash != category.id):
        raise InvalidValue(N_("This name is already used."), field="name")
    if category is None:
        category = Category()
        session.add(category)
    category.name, category.is_active = name, bool(is_active)
    session.flush()
    return category


def queues(session: Session, *, active_only: bool = False) -> list[Queue]:
    stmt = select(Queue).order_by(Queue.name)
    if active_only:
        stmt = stmt.where(Queue.is_active.is_(True))
    return list(session.scalars(stmt))


def categories(session: Session, *, active_only: bool = False) -> list[Category]:
    stmt = select(Category).order_by(Category.name)
    if active_only:
        stmt = stmt.where(Category.is_active.is_(True))
    return list(session.scalars(stmt))


# --- tickets -------------------------------------------------------------------------------------------


def create_ticket(session: Session, *, subject: object, body: object, actor: Actor, customer_id: object = None,
                  requester_email: object = "", queue_id: object = None, category_id: object = None,
                  priority: object = NORMAL, channel: object = OPCARE, service_id: object = None,
                  device_id: object = None, assignee_id: object = None, uploads: Iterable[Upload] = (),
                  limits: dict | None = None, now: datetime | None = None, notify: bool = False) -> Ticket:
    """Open a ticket with its first message (written by ``actor``); numbered in the location.

    ``notify`` (staff only): e-mail the customer the first message, threaded like a reply (its
    Message-ID stored on the message, so an answer files into the ticket).
    """
    if notify and actor.user_id is None:
        raise InvalidValue(N_("Only staff notify the customer of a new ticket."), field="notify")
    now = now or utcnow()
    subject = _subject(subject)
    body = _text(body, "body", MAX_BODY)
    priority = _choice(priority, PRIORITIES, "priority")
    channel = _choice(channel, CHANNELS, "channel")
    customer = _found(session, Customer, customer_id, "customer_id")
    email = str(requester_email or "").strip()
    if email:
        try:
            email = mail.clean_recipients(email)[0]
        except mail.MailInputError:
            raise InvalidValue(N_("Enter an e-mail address."), field="requester_email") from None
    if customer is None and not email:
        raise InvalidValue(N_("Choose a customer or enter the requester's e-mail."), field="customer_id")
    queue = _found(session, Queue, queue_id, "queue_id")
    category = _found(session, Category, category_id, "category_id")
    service = _found(session, Service, service_id, "service_id")
    if service is not None and (customer is None or service.customer_id != customer.id):
        raise InvalidValue(N_("The service belongs to another customer."), field="service_id")
    device = _found(session, Device, device_id, "device_id")
    assignee = staff_in_location(session, int(assignee_id)) if _optional_id(assignee_id, "assignee_id") else None
    files = check(list(uploads), limits)
    response_due, resolution_due = due_dates(session, priority, now)
    ticket = Ticket(number=sequences.take(session, SEQUENCE), subject=subject, queue_id=queue.id if queue else None,
                    category_id=category.id if category else None, priority=priority, state=NEW, channel=channel,
                    assignee_id=assignee.id if assignee else None, customer_id=customer.id if customer else None,
                    requester_email=email, service_id=service.id if service else None,
                    device_id=device.id if device else None, created_by_id=actor.user_id, created_at=now,
                    updated_at=now, response_due_at=response_due, resolution_due_at=resolution_due)
    session.add(ticket)
    session.flush()
    first = TicketMessage(ticket_id=ticket.id, internal=False, author_user_id=actor.user_id,
                          author_customer_id=actor.customer_id, body=body, channel=channel, created_at=now)
    session.add(first)
    session.flush()
    store(session, ticket, first, files, limits)
    _log(session, ticket, EV_CREATED, "", NEW, actor, now)
    if assignee is not None:
        _log(session, ticket, EV_ASSIGNEE, "", assignee.name, actor, now)
    session.flush()
    if notify:
        author = session.get(User, actor.user_id)
        mails.queue_opened(session, ticket, first, author.name if author else "")
    return ticket


def customer_id_by_number(session: Session, number: object) -> int | None:
    """The id of the location's customer with this number (empty: none; unknown: InvalidValue)."""
    raw = str(number or "").strip()
    if not raw:
        return None
    found = session.scalar(select(Customer.id).where(Customer.number == int(raw))) if raw.isdigit() else None
    if found is None:
        raise InvalidValue(N_("No customer has this number."), field="customer_number")
    return found


def ticket_by_number(session: Session, number: int) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number))


def change_state(session: Session, ticket: Ticket, state: object, actor: Actor, *, now: datetime | None = None) -> None:
    """Move the ticket to ``state`` if :data:`TRANSITIONS` allows it (else InvalidValue, nothing changed)."""
    state = _choice(state, TRANSITIONS, "state")
    if state == ticket.state:
        return
    if state not in TRANSITIONS[ticket.state]:
        raise InvalidTransition(ticket.state, state)
    now = now or utcnow()
    old = ticket.state
    ticket.state = state
    if state == RESOLVED:
        ticket.resolved_at = now
    elif state == CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif old == RESOLVED:  # reopened
        ticket.resolved_at = None
    if state == WAITING:
        ticket.waiting_since = now
    elif old == WAITING:
        _resume_sla(session, ticket, now)
    ticket.updated_at = now
    _log(session, ticket, EV_STATE, old, state, actor, now)
    session.flush()


def _resume_sla(session: Session, ticket: Ticket, now: datetime) -> None:
    """The customer's turn is over: the working time waited moves the resolution due date (see :mod:`.sla`)."""
    if ticket.waiting_since is not None:
        ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + paused_seconds(
            session, ticket.priority, ticket.waiting_since, now)
        ticket.resolution_due_at = due_dates(session, ticket.priority, ticket.created_at,
                                             paused_seconds=ticket.sla_paused_seconds)[1]
        if ticket.resolution_due_at > now:
            ticket.resolution_breached_at = None
    ticket.waiting_since = None


def assign(session: Session, ticket: Ticket, assignee_id: object, actor: Actor) -> None:
    """Give the ticket to a member of staff of the location (empty: to nobody, its queue)."""
    wanted = _optional_id(assignee_id, "assignee_id")
    user = staff_in_location(session, wanted) if wanted is not None else None
    if ticket.assignee_id == wanted:
        return
    old = ticket.assignee.name if ticket.assignee is not None else ""
    ticket.assignee_id = wanted
    ticket.updated_at = utcnow()
    _log(session, ticket, EV_ASSIGNEE, old, user.name if user else "", actor)
    session.flush()
    session.refresh(ticket, ["assignee"])


def change_priority(session: Session, ticket: Ticket, priority: object, actor: Actor,
                    *, now: datetime | None = None) -> None:
    """A new priority moves the due dates (from the ticket's creation); a breach not yet due again may re-alert."""
    priority = _choice(priority, PRIORITIES, "priority")
    if priority == ticket.priority:
        return
    now = now or utcnow()
    old = ticket.priority
    ticket.priority = priority
    ticket.response_due_at, ticket.resolution_due_at = due_dates(session, priority, ticket.created_at,
                                                                 paused_seconds=ticket.sla_paused_seconds or 0)
    if ticket.response_due_at > now:
        ticket.response_breached_at = None
    if ticket.resolution_due_at > now:
        ticket.resolution_breached_at = None
    ticket.updated_at = now
    _log(session, ticket, EV_PRIORITY, old, priority, actor, now)
    session.flush()


def change_queue(session: Session, ticket: Ticket, queue_id: object, actor: Actor) -> None:
    queue = _found(session, Queue, queue_id, "queue_id")
    new_id = queue.id if queue else None
    if new_id == ticket.queue_id:
        return
    old = ticket.queue.name if ticket.queue is not None else ""
    ticket.queue_id = new_id
    ticket.updated_at = utcnow()
    _log(session, ticket, EV_QUEUE, old, queue.name if queue else "", actor)
    session.flush()
    session.refresh(ticket, ["queue"])


# --- the thread ----------------------------------------------------------------------------------------


def _writable(ticket: Ticket) -> None:
    if ticket.state == CLOSED:
        raise InvalidValue(N_("The ticket is closed."), field="body")


@dataclass
class Posted:
    message: TicketMessage
    mail_id: int | None = None  # the queued e-mail of a public reply (None: a note, or no address)


def reply(session: Session, ticket: Ticket, body: object, actor: Actor, *, uploads: Iterable[Upload] = (),
          limits: dict | None = None, now: datetime | None = None) -> Posted:
    """A public reply of staff: shown in Selfcare and e-mailed to the customer.

    The first one answers the SLA's response time; a new or open ticket now waits for the customer.
    """
    if actor.user_id is None:
        raise InvalidValue(N_("Only staff reply to a ticket."), field="body")
    _writable(ticket)
    body = _text(body, "body", MAX_BODY)
    now = now or utcnow()
    message = TicketMessage(ticket_id=ticket.id, internal=False, author_user_id=actor.user_id, body=body,
                            channel=OPCARE, created_at=now)
    session.add(message)
    session.flush()
    store(session, ticket, message, list(uploads), limits)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    if ticket.state in (NEW, OPEN):
        change_state(session, ticket, WAITING, actor, now=now)
    ticket.updated_at = now
    author = session.get(User, actor.user_id)
    mail_id = mails.queue_reply(session, ticket, message, author.name if author else "")
    return Posted(message, mail_id)


def add_note(session: Session, ticket: Ticket, body: object, actor: Actor, *, uploads: Iterable[Upload] = (),
             limits: dict | None = None, now: datetime | None = None) -> Posted:
    """An internal note: staff only, never shown in Selfcare nor sent. Allowed on a closed ticket too."""
    if actor.user_id is None:
        raise InvalidValue(N_("Only staff write internal notes."), field="body")
    body = _text(body, "body", MAX_BODY)
    now = now or utcnow()
    message = TicketMessage(ticket_id=ticket.id, internal=True, author_user_id=actor.user_id, body=body,
                            channel=OPCARE, created_at=now)
    session.add(message)
    session.flush()
    store(session, ticket, message, list(uploads), limits)
    ticket.updated_at = now
    session.flush()
    return Posted(message)


def customer_message(session: Session, ticket: Ticket, body: object, actor: Actor, *, channel: str = SELFCARE,
                     author_email: str = "", email_message_id: str | None = None, uploads: Iterable[Upload] = (),
                     limits: dict | None = None, now: datetime | None = None) -> Posted:
    """The customer writes (Selfcare, or an e-mail threaded back): a waiting or resolved ticket opens again."""
    _writable(ticket)
    if actor.customer_id is not None and actor.customer_id != ticket.customer_id:
        raise InvalidValue(N_("Not found in this location."), field="ticket")
    body = _text(body, "body", MAX_BODY)
    channel = _choice(channel, (SELFCARE, EMAIL), "channel")
    now = now or utcnow()
    message = TicketMessage(ticket_id=ticket.id, internal=False, author_customer_id=actor.customer_id,
                            author_email=author_email[:254], body=body, channel=channel,
                            email_message_id=email_message_id, created_at=now)
    session.add(message)
    session.flush()
    store(session, ticket, message, list(uploads), limits)
    if ticket.state in (WAITING, RESOLVED):
        change_state(session, ticket, OPEN, actor, now=now)
    ticket.updated_at = now
    session.flush()
    return Posted(message)


def thread(session: Session, ticket: Ticket, *, public_only: bool) -> list[TicketMessage]:
    """The ticket's messages, oldest first; ``public_only`` (Selfcare) leaves internal notes out in the query."""
    stmt = select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
    if public_only:
        stmt = stmt.where(TicketMessage.internal.is_(False))
    stmt = stmt.options(selectinload(TicketMessage.author_user), selectinload(TicketMessage.author_customer),
                        selectinload(TicketMessage.attachments))
    return list(session.scalars(stmt.order_by(TicketMessage.created_at, TicketMessage.id)))


def events(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.id)))


# --- merge ----------------------------------------------------------------------------------------------


def merge(session: Session, source: Ticket, target: Ticket, actor: Actor, *, now: datetime | None = None) -> None:
    """Merge ``source`` into ``target``: its messages and files move over, ``source`` is closed with a link."""
    if source.id == target.id:
        raise InvalidValue(N_("A ticket cannot be merged into itself."), field="target")
    if source.merged_into_id is not None or source.state == CLOSED:
        raise InvalidValue(N_("A closed ticket cannot be merged."), field="target")
    if target.state == CLOSED:
        raise InvalidValue(N_("The ticket is closed."), field="target")
    if source.customer_id is not None and target.customer_id is not None and source.customer_id != target.customer_id:
        raise InvalidValue(N_("Only tickets of the same customer can be merged."), field="target")
    now = now or utcnow()
    session.execute(update(TicketMessage).where(TicketMessage.ticket_id == source.id)
                    .values(ticket_id=target.id, merged_from_id=source.id)
                    .execution_options(synchronize_session="fetch"))
    session.execute(update(TicketAttachment).where(TicketAttachment.ticket_id == source.id)
                    .values(ticket_id=target.id).execution_options(synchronize_session="fetch"))
    if target.customer_id is None and source.customer_id is not None:
        target.customer_id = source.customer_id
    if target.first_response_at is None and source.first_response_at is not None:
        target.first_response_at = source.first_response_at
    old = source.state
    source.state, source.closed_at, source.merged_into_id, source.waiting_since = CLOSED, now, target.id, None
    source.resolved_at = source.resolved_at or now
    source.updated_at = target.updated_at = now
    _log(session, source, EV_STATE, old, CLOSED, actor, now)
    _log(session, source, EV_MERGED, "", f"#{target.number}", actor, now)
    _log(session, target, EV_MERGED_FROM, "", f"#{source.number}", actor, now)
    if target.state in (WAITING, RESOLVED) and old in (NEW, OPEN):
        change_state(session, target, OPEN, actor, now=now)
    session.flush()


# --- split ---------------------------------------------------------------------------------------------

MAX_SPLIT = 500


def _message_ids(values: object) -> list[int]:
    raw = values if isinstance(values, (list, tuple, set, frozenset)) else [values]
    try:
        ids = list(dict.fromkeys(int(v) for v in raw if str(v).strip()))
    except (TypeError, ValueError):
        raise InvalidValue(N_("Choose messages of this ticket."), field="messages") from None
    if not ids:
        raise InvalidValue(N_("Choose the messages to move."), field="messages")
    if len(ids) > MAX_SPLIT:
        raise InvalidValue(N_("Choose messages of this ticket."), field="messages")
    return ids


def split(session: Session, ticket: Ticket, message_ids: object, actor: Actor, *, subject: object = "",
          now: datetime | None = None) -> Ticket:
    """Move chosen messages (with their files) of ``ticket`` into a new ticket, and return it.

    Rules (else InvalidValue on ``messages``/``subject``, nothing changed): staff only; the ticket is not
    closed; every chosen message is in this ticket; at least one of them is public (the customer sees
    the new ticket's thread), and the old ticket keeps at least one public message. The new ticket gets
    the next number, the same customer/requester, service, device, queue, category, priority and channel,
    state new, SLA due dates from now, and the subject given (default ``Re: <old subject>``). Both
    tickets log the split; e-mail answers to a moved message follow it (threading by stored Message-ID).
    """
    if actor.user_id is None:
        raise InvalidValue(N_("Only staff split tickets."), field="messages")
    if ticket.state == CLOSED:
        raise InvalidValue(N_("The ticket is closed."), field="messages")
    ids = _message_ids(message_ids)
    title = _subject(subject) if str(subject or "").strip() else " ".join(f"Re: {ticket.subject}".split())[:MAX_SUBJECT]
    rows = session.execute(select(TicketMessage.id, TicketMessage.internal)
                           .where(TicketMessage.ticket_id == ticket.id)).all()
    internal = dict(rows)
    if any(i not in internal for i in ids):
        raise InvalidValue(N_("Choose messages of this ticket."), field="messages")
    if all(internal[i] for i in ids):
        raise InvalidValue(N_("Move at least one public message (the customer sees the new ticket)."),
                           field="messages")
    if not any(not is_note for i, is_note in internal.items() if i not in ids):
        raise InvalidValue(N_("Leave at least one public message in this ticket."), field="messages")
    now = now or utcnow()
    response_due, resolution_due = due_dates(session, ticket.priority, now)
    new = Ticket(number=sequences.take(session, SEQUENCE), subject=title, queue_id=ticket.queue_id,
                 category_id=ticket.category_id, priority=ticket.priority, state=NEW, channel=ticket.channel,
                 customer_id=ticket.customer_id, requester_email=ticket.requester_email, service_id=ticket.service_id,
                 device_id=ticket.device_id, created_by_id=actor.user_id, created_at=now, updated_at=now,
                 response_due_at=response_due, resolution_due_at=resolution_due)
    session.add(new)
    session.flush()
    session.execute(update(TicketMessage).where(TicketMessage.ticket_id == ticket.id, TicketMessage.id.in_(ids))
                    .values(ticket_id=new.id).execution_options(synchronize_session="fetch"))
    session.execute(update(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id,
                                                   TicketAttachment.message_id.in_(ids))
                    .values(ticket_id=new.id).execution_options(synchronize_session="fetch"))
    ticket.updated_at = now
    _log(session, new, EV_CREATED, "", NEW, actor, now)
    _log(session, new, EV_SPLIT_FROM, "", f"#{ticket.number}", actor, now)
    _log(session, ticket, EV_SPLIT_TO, "", f"#{new.number}", actor, now)
    session.flush()
    return new


# --- lists --------------------------------------------------------------------------------------------


def _list_loads() -> tuple:
    """What a list row shows, loaded in a few queries instead of one per row."""
    return selectinload(Ticket.customer), selectinload(Ticket.queue), selectinload(Ticket.assignee)


@dataclass
class TicketFilter:
    queue_id: int | None = None
    state: str | None = None  # a state, or "active" (new, open, waiting)
    priority: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue: bool = False
    customer_id: int | None = None


def _filtered(stmt, f: TicketFilter, now: datetime):  # noqa: ANN001, ANN202
    if f.queue_id:
        stmt = stmt.where(Ticket.queue_id == f.queue_id)
    if f.state == "active":
        stmt = stmt.where(Ticket.state.in_(ACTIVE_STATES))
    elif f.state:
        stmt = stmt.where(Ticket.state == f.state)
    if f.priority:
        stmt = stmt.where(Ticket.priority == f.priority)
    if f.assignee_id:
        stmt = stmt.where(Ticket.assignee_id == f.assignee_id)
    if f.unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    if f.customer_id:
        stmt = stmt.where(Ticket.customer_id == f.customer_id)
    if f.overdue:  # while waiting for the customer the resolution clock is paused
        stmt = stmt.where(Ticket.state.in_(ACTIVE_STATES),
                          ((Ticket.first_response_at.is_(None) & (Ticket.response_due_at < now))
                           | ((Ticket.state != WAITING) & (Ticket.resolution_due_at < now))))
    return stmt


def list_tickets(session: Session, f: TicketFilter, *, limit: int = 500, now: datetime | None = None) -> list[Ticket]:
    stmt = _filtered(select(Ticket), f, now or utcnow()).options(*_list_loads())
    return list(session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit)))


def counts(session: Session, f: TicketFilter, *, now: datetime | None = None) -> dict[str, int]:
    """Tickets per state under the filter (its own state ignored), and how many are overdue."""
    now = now or utcnow()
    base = TicketFilter(**{**f.__dict__, "state": None, "overdue": False})
    rows = session.execute(_filtered(select(Ticket.state, func.count()), base, now).group_by(Ticket.state)).all()
    result = {state: 0 for state in TRANSITIONS}
    result.update({state: n for state, n in rows})
    result["active"] = sum(result[s] for s in ACTIVE_STATES)
    overdue = TicketFilter(**{**base.__dict__, "overdue": True})
    result["overdue"] = session.scalar(_filtered(select(func.count()).select_from(Ticket), overdue, now)) or 0
    return result


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if ticket.state not in ACTIVE_STATES:
        return False
    late_response = ticket.first_response_at is None and ticket.response_due_at is not None \
        and ticket.response_due_at < now
    late_resolution = ticket.state != WAITING and ticket.resolution_due_at is not None \
        and ticket.resolution_due_at < now  # paused while waiting for the customer
    return late_response or late_resolution


def tickets_of_customer(session: Session, customer_id: int, *, limit: int = 100) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.customer_id == customer_id).options(*_list_loads())
                                .order_by(Ticket.id.desc()).limit(limit)))


# --- GDPR ------------------------------------------------------------------------------------------------

ERASED = "[anonymised]"


def erase_customer(session: Session, customer_id: int) -> int:
    """An anonymised customer's tickets lose their personal content: subjects, message texts, e-mail
    addresses and files (numbers, states, dates and the event log stay). Returns the tickets erased."""
    ids = list(session.scalars(select(Ticket.id).where(Ticket.customer_id == customer_id)))
    if not ids:
        return 0
    session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(subject=ERASED, requester_email="")
                    .execution_options(synchronize_session="fetch"))
    session.execute(update(TicketMessage).where(TicketMessage.ticket_id.in_(ids))
                    .values(body=ERASED, author_email="").execution_options(synchronize_session="fetch"))
    for row in session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id.in_(ids))):
        session.delete(row)
    session.flush()
    return len(ids)
