"""Tables of the helpdesk (registered through mango_callcenter.models).

* :class:`Queue` — where tickets wait (first-line support, technicians, billing…), with the address
  that hears about unassigned breaches.
* :class:`Category` — what a ticket is about (outage, slow connection, invoice…).
* :class:`Sla` — response and resolution hours per priority and location; a missing row means
  :data:`DEFAULT_SLA`.
* :class:`Ticket` — one request of one customer (or of an unknown sender), numbered per location.
* :class:`TicketMessage` — the thread: the customer's messages, staff's public replies and
  internal notes (never shown to the customer).
* :class:`TicketAttachment` — a file of a ticket (bytes in the database: backed up and replicated
  with it, no instance folder to keep in sync between web nodes).
* :class:`TicketEvent` — the append-only log of changes (state, assignee, priority, queue, merge,
  split, SLA breach); the database refuses UPDATE and DELETE.
* :class:`BusinessHours`, :class:`ClosedDay` — the location's working-hours calendar for SLA
  priorities counted in business hours (see :mod:`mango_callcenter.helpdesk.calendar`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow

LOW, NORMAL, HIGH, URGENT = "low", "normal", "high", "urgent"
PRIORITIES = (LOW, NORMAL, HIGH, URGENT)
NEW, OPEN, WAITING, RESOLVED, CLOSED = "new", "open", "waiting", "resolved", "closed"
STATES = (NEW, OPEN, WAITING, RESOLVED, CLOSED)
ACTIVE_STATES = (NEW, OPEN, WAITING)  # open tickets (while waiting for the customer the resolution clock pauses)
OPCARE, SELFCARE, EMAIL, PHONE = "opcare", "selfcare", "email", "phone"
CHANNELS = (OPCARE, SELFCARE, EMAIL, PHONE)
# (response hours, resolution hours) per priority where a location has set nothing
DEFAULT_SLA = {LOW: (24, 120), NORMAL: (8, 48), HIGH: (4, 24), URGENT: (1, 8)}
# how an SLA priority counts its hours: around the clock, or in the location's business hours
CLOCK_ALWAYS, CLOCK_BUSINESS = "24x7", "business"
CLOCKS = (CLOCK_ALWAYS, CLOCK_BUSINESS)

# event kinds of the log
EV_CREATED, EV_STATE, EV_ASSIGNEE, EV_PRIORITY, EV_QUEUE = "created", "state", "assignee", "priority", "queue"
EV_MERGED, EV_MERGED_FROM, EV_RESPONSE_BREACH, EV_RESOLUTION_BREACH = (
    "merged", "merged_from", "response_breach", "resolution_breach")
EV_SPLIT_TO, EV_SPLIT_FROM = "split_to", "split_from"
EVENT_KINDS = (EV_CREATED, EV_STATE, EV_ASSIGNEE, EV_PRIORITY, EV_QUEUE, EV_MERGED, EV_MERGED_FROM,
               EV_RESPONSE_BREACH, EV_RESOLUTION_BREACH, EV_SPLIT_TO, EV_SPLIT_FROM)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ticket_for(session, overrides: dict) -> None:  # noqa: ANN001
    """Test factories: a ticket for rows that belong to one (in the scope's location)."""
    from mango_core.tenancy.context import TenancyError, scope_or_none
    from mango_core.testing.factories import make_row

    if scope_or_none() is None:  # refuse like the tenant guard before making the ticket
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")
    if "ticket_id" not in overrides and "ticket" not in overrides:
        overrides["ticket_id"] = make_row(session, Ticket).id


class Queue(TenantMixin, Base):
    __tablename__ = "callcenter_queue"
    __table_args__ = (UniqueConstraint("location_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # who hears about breaches of unassigned tickets (comma separated); empty: nobody but the log
    email: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return self.name


class Category(TenantMixin, Base):
    __tablename__ = "callcenter_category"
    __table_args__ = (UniqueConstraint("location_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


class Sla(TenantMixin, Base):
    """Hours to the first public reply and to the resolution of a ticket of one priority."""

    __tablename__ = "callcenter_sla"
    __table_args__ = (
        UniqueConstraint("location_id", "priority"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint("response_hours >= 1 AND response_hours <= 8760", name="response_hours"),
        CheckConstraint("resolution_hours >= response_hours AND resolution_hours <= 8760", name="resolution_hours"),
        CheckConstraint(_in("clock", CLOCKS), name="clock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[str] = mapped_column(String(10))
    response_hours: Mapped[int] = mapped_column(Integer)
    resolution_hours: Mapped[int] = mapped_column(Integer)
    clock: Mapped[str] = mapped_column(String(10), default=CLOCK_ALWAYS, server_default=CLOCK_ALWAYS)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from sqlalchemy import select

        taken = set(session.scalars(select(Sla.priority)))
        free = next((p for p in PRIORITIES if p not in taken), NORMAL)
        return cls(**{"priority": free, "response_hours": 8, "resolution_hours": 48, "clock": CLOCK_ALWAYS,
                      **overrides})


class Ticket(TenantMixin, Base):
    __tablename__ = "callcenter_ticket"
    __table_args__ = (
        UniqueConstraint("location_id", "number"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"),
        Index("ix_callcenter_ticket_state", "location_id", "state", "id"),
        Index("ix_callcenter_ticket_customer", "location_id", "customer_id", "id"),
        Index("ix_callcenter_ticket_assignee", "location_id", "assignee_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_queue.id", ondelete="RESTRICT"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_category.id", ondelete="RESTRICT"),
                                                    index=True)
    priority: Mapped[str] = mapped_column(String(10), default=NORMAL)
    state: Mapped[str] = mapped_column(String(10), default=NEW)
    channel: Mapped[str] = mapped_column(String(10), default=OPCARE)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    # empty only for a sender not (yet) matched to a customer; then requester_email says who
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    requester_email: Mapped[str] = mapped_column(String(254), default="")
    service_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="SET NULL"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("core_device.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # SLA: due dates from the priority's hours, computed at creation and on a priority change
    response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    # set once by the SLA job: the breach was logged and notified (never notified twice)
    response_breached_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # the SLA pause: since when the ticket waits for the customer, and the working seconds of past waits
    # (added to the resolution time, so a priority change keeps them)
    waiting_since: Mapped[datetime | None]
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="RESTRICT"))

    queue: Mapped[Queue | None] = relationship()
    category: Mapped[Category | None] = relationship()
    assignee = relationship("User", foreign_keys=[assignee_id])
    customer = relationship("Customer")
    service = relationship("Service")
    device = relationship("Device")
    merged_into: Mapped[Ticket | None] = relationship(remote_side="Ticket.id")

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter

        n = next(_counter)
        return cls(**{"number": n, "subject": f"Ticket {n}", "priority": NORMAL, "state": NEW, "channel": OPCARE,
                      "requester_email": "", **overrides})


class TicketMessage(TenantMixin, Base):
    """One message of a ticket's thread: by the customer, or by staff (a public reply or an internal note)."""

    __tablename__ = "callcenter_message"
    __table_args__ = (
        CheckConstraint("NOT (author_user_id IS NOT NULL AND author_customer_id IS NOT NULL)", name="one_author"),
        # an internal note is written by staff
        CheckConstraint("NOT internal OR author_user_id IS NOT NULL", name="note_by_staff"),
        Index("ix_callcenter_message_ticket", "location_id", "ticket_id", "id"),
        Index("ix_callcenter_message_email_id", "location_id", "email_message_id"),  # threading look-up
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="RESTRICT"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    author_customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="SET NULL"))
    # the sender of a message that came by e-mail from an address of no customer
    author_email: Mapped[str] = mapped_column(String(254), default="")
    body: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10), default=OPCARE)
    # the RFC 5322 Message-ID of the e-mail that carried it (sent or received): threading
    email_message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the ticket it was written in when that ticket was later merged into this one
    merged_from_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="SET NULL"))

    author_user = relationship("User", foreign_keys=[author_user_id])
    author_customer = relationship("Customer", foreign_keys=[author_customer_id])
    attachments: Mapped[list[TicketAttachment]] = relationship(back_populates="message",
                                                               order_by="TicketAttachment.id")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        _ticket_for(session, overrides)
        return cls(**{"internal": False, "body": "Hello", "channel": OPCARE, **overrides})


class TicketAttachment(TenantMixin, Base):
    __tablename__ = "callcenter_attachment"
    __table_args__ = (
        CheckConstraint("size >= 0", name="size"),
        Index("ix_callcenter_attachment_ticket", "location_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="RESTRICT"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_message.id", ondelete="SET NULL"),
                                                   index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[TicketMessage | None] = relationship(back_populates="attachments")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        _ticket_for(session, overrides)
        return cls(**{"filename": "a.txt", "content_type": "text/plain", "size": 2, "sha256": "0" * 64,
                      "content": b"hi", **overrides})


class TicketEvent(TenantMixin, Base):
    """One change of a ticket (append-only: the database refuses UPDATE and DELETE)."""

    __tablename__ = "callcenter_ticket_event"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        Index("ix_callcenter_ticket_event_ticket", "location_id", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str] = mapped_column(String(200), default="")
    new_value: Mapped[str] = mapped_column(String(200), default="")
    # who: a member of staff, the customer, or neither (the SLA job, an incoming e-mail)
    # no ON DELETE action: the log is never rewritten (staff are disabled, customers anonymised, not deleted)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    actor_customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id"))

    actor_user = relationship("User", foreign_keys=[actor_user_id])

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        _ticket_for(session, overrides)
        return cls(**{"kind": EV_CREATED, "old_value": "", "new_value": NEW, **overrides})


class BusinessHours(TenantMixin, Base):
    """When a location works on one weekday (0 Monday … 6 Sunday), in minutes of its local day; no row: closed."""

    __tablename__ = "callcenter_business_hours"
    __table_args__ = (
        UniqueConstraint("location_id", "weekday"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("opens >= 0 AND opens < closes AND closes <= 1440", name="interval"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[int] = mapped_column(Integer)  # minutes after local midnight
    closes: Mapped[int] = mapped_column(Integer)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from sqlalchemy import select

        taken = set(session.scalars(select(BusinessHours.weekday)))
        free = next((d for d in range(7) if d not in taken), 0)
        return cls(**{"weekday": free, "opens": 8 * 60, "closes": 16 * 60, **overrides})


class ClosedDay(TenantMixin, Base):
    """A day the location does not work besides weekends and public holidays (company holiday, a bridge day)."""

    __tablename__ = "callcenter_closed_day"
    __table_args__ = (UniqueConstraint("location_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from datetime import timedelta

        from mango_core.testing.factories import _counter

        return cls(**{"day": date(2030, 1, 1) + timedelta(days=next(_counter)), "note": "", **overrides})


MODELS: list[type] = [Queue, Category, Sla, Ticket, TicketMessage, TicketAttachment, TicketEvent, BusinessHours,
                      ClosedDay]
