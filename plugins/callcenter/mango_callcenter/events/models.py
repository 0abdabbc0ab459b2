"""Tables of the call centre events (registered through mango_callcenter.models).

* :class:`ServiceEvent` — a planned work or an outage: what customers are told, when, its state.
* :class:`EventDevice` — the devices an event is about (where the topology impact starts).
* :class:`EventService` — the services it affects (from the topology, picked by hand, by product, or all).
* :class:`EventCustomer` — the affected customers, and when each was told (one e-mail per stage).
* :class:`EventNotice` — one notice of an event to a customer, per stage and channel (at most one).
* :class:`EventSettings` — per location: whether outages opened from ISP alerts are told automatically.
* :class:`Visit` — a technician's visit in the calendar, with its links and recorded outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow

PLANNED_WORK, OUTAGE = "planned", "outage"
KINDS = (PLANNED_WORK, OUTAGE)
PLANNED, ONGOING, FINISHED, CANCELLED = "planned", "ongoing", "finished", "cancelled"
STATES = (PLANNED, ONGOING, FINISHED, CANCELLED)
CURRENT_STATES = (PLANNED, ONGOING)  # shown to customers, still to be told about
# how the affected services were chosen
TOPOLOGY, MANUAL, PRODUCT, ALL = "topology", "manual", "product", "all"
SOURCES = (TOPOLOGY, MANUAL, PRODUCT, ALL)
ANNOUNCE, END = "announce", "end"  # the notice stages: the announcement, "it is over"
STAGES = (ANNOUNCE, END)
EMAIL, SMS = "email", "sms"  # as comms.models (the events area must not need it to define its tables)
NOTICE_CHANNELS = (EMAIL, SMS)
QUEUED, NO_CONTACT = "queued", "no_contact"  # a notice was queued / the customer has no address on the channel
NOTICE_OUTCOMES = (QUEUED, NO_CONTACT)
SCHEDULED, DONE, FAILED, VISIT_CANCELLED = "scheduled", "done", "failed", "cancelled"
VISIT_STATES = (SCHEDULED, DONE, FAILED, VISIT_CANCELLED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _event_for(session, overrides: dict) -> None:  # noqa: ANN001
    """Test factories: an event for rows that belong to one (in the scope's location)."""
    from mango_core.tenancy.context import TenancyError, scope_or_none
    from mango_core.testing.factories import make_row

    if scope_or_none() is None:  # refuse like the tenant guard before making the event
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")
    if "event_id" not in overrides and "event" not in overrides:
        overrides["event_id"] = make_row(session, ServiceEvent).id


class ServiceEvent(TenantMixin, Base):
    __tablename__ = "callcenter_event"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("scope", SOURCES), name="scope"),
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        Index("ix_callcenter_event_state", "location_id", "state", "starts_at"),
        # one event per monitoring alert: the job that opens them can run again
        Index("uq_callcenter_event_alert", "location_id", "alert_id", unique=True,
              sqlite_where=text("alert_id IS NOT NULL"), postgresql_where=text("alert_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=PLANNED_WORK)
    title: Mapped[str] = mapped_column(String(200))
    # for customers (e-mail and Selfcare)
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default=PLANNED)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    # how the affected services were chosen; product_id for PRODUCT
    scope: Mapped[str] = mapped_column(String(10), default=MANUAL)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("core_product.id", ondelete="RESTRICT"))
    # the ISP monitoring alert (isp_monitor_alert.id) that opened it; no foreign key: the ISP plugin is optional
    alert_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    devices: Mapped[list[EventDevice]] = relationship(back_populates="event", order_by="EventDevice.id")

    def __str__(self) -> str:
        return self.title

    @property
    def is_current(self) -> bool:
        return self.state in CURRENT_STATES

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206, ARG003
        return cls(**{"kind": PLANNED_WORK, "title": "Výměna switche", "description": "", "state": PLANNED,
                      "starts_at": utcnow(), "scope": MANUAL, **overrides})


class EventDevice(TenantMixin, Base):
    __tablename__ = "callcenter_event_device"
    __table_args__ = (UniqueConstraint("location_id", "event_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("callcenter_event.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="RESTRICT"), index=True)

    event: Mapped[ServiceEvent] = relationship(back_populates="devices")
    device = relationship("Device")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.devices.models import Device
        from mango_core.testing.factories import make_row

        _event_for(session, overrides)
        overrides.setdefault("device_id", make_row(session, Device).id)
        return cls(**overrides)


class EventService(TenantMixin, Base):
    __tablename__ = "callcenter_event_service"
    __table_args__ = (
        UniqueConstraint("location_id", "event_id", "service_id"),
        CheckConstraint(_in("source", SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("callcenter_event.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(10), default=MANUAL)

    service = relationship("Service")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.customers.models import Customer
        from mango_core.services.models import Service
        from mango_core.testing.factories import make_row

        _event_for(session, overrides)
        if "service_id" in overrides:
            service = session.get(Service, overrides["service_id"])  # None: another location's
        else:
            service = make_row(session, Service)
            overrides["service_id"] = service.id
        if "customer_id" not in overrides:  # a service out of sight (another location's): any customer here
            overrides["customer_id"] = service.customer_id if service is not None else make_row(session, Customer).id
        return cls(**{"source": MANUAL, **overrides})


class EventCustomer(TenantMixin, Base):
    """An affected customer; ``notified_at``/``finished_notified_at``: when first told (any channel; see EventNotice)."""

    __tablename__ = "callcenter_event_customer"
    __table_args__ = (
        UniqueConstraint("location_id", "event_id", "customer_id"),
        Index("ix_callcenter_event_customer_customer", "location_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("callcenter_event.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"))
    notified_at: Mapped[datetime | None]
    finished_notified_at: Mapped[datetime | None]

    customer = relationship("Customer")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.customers.models import Customer
        from mango_core.testing.factories import make_row

        _event_for(session, overrides)
        overrides.setdefault("customer_id", make_row(session, Customer).id)
        return cls(**overrides)


class EventNotice(TenantMixin, Base):
    """A customer told of an event on one channel and stage (or found without an address on it).

    The unique key makes "told once per event, stage, channel and customer" hold even for two
    concurrent runs; a ``no_contact`` row is tried again by the next notification (an address may
    have been added since) and counts the customers who could not be reached.
    """

    __tablename__ = "callcenter_event_notice"
    __table_args__ = (
        UniqueConstraint("location_id", "event_id", "stage", "channel", "customer_id", name="uq_callcenter_event_notice_once"),
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint(_in("channel", NOTICE_CHANNELS), name="channel"),
        CheckConstraint(_in("outcome", NOTICE_OUTCOMES), name="outcome"),
        Index("ix_callcenter_event_notice_customer", "location_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("callcenter_event.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(12))
    recipients: Mapped[str] = mapped_column(String(500), default="")  # addresses or numbers, comma separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[ServiceEvent] = relationship()

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.customers.models import Customer
        from mango_core.testing.factories import make_row

        _event_for(session, overrides)
        overrides.setdefault("customer_id", make_row(session, Customer).id)
        return cls(**{"stage": ANNOUNCE, "channel": SMS, "outcome": QUEUED, "recipients": "+420777000111",
                      **overrides})


class EventSettings(TenantMixin, Base):
    """Per location: tell customers of outages opened from ISP alerts without staff (after a delay)."""

    __tablename__ = "callcenter_event_settings"
    __table_args__ = (
        UniqueConstraint("location_id"),
        CheckConstraint("auto_delay_minutes >= 0", name="auto_delay_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    auto_notify: Mapped[bool] = mapped_column(Boolean, default=False)
    # an alert must stay open this long before customers are told (a flapping link tells nobody)
    auto_delay_minutes: Mapped[int] = mapped_column(Integer, default=10)
    auto_email: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c, on in ((EMAIL, self.auto_email), (SMS, self.auto_sms)) if on)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206, ARG003
        return cls(**{"auto_notify": False, "auto_delay_minutes": 10, "auto_email": True, "auto_sms": False,
                      **overrides})


class Visit(TenantMixin, Base):
    """A technician's visit: a time window in the calendar, what it is about, and how it ended."""

    __tablename__ = "callcenter_visit"
    __table_args__ = (
        CheckConstraint(_in("state", VISIT_STATES), name="state"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_callcenter_visit_calendar", "location_id", "starts_at"),
        Index("ix_callcenter_visit_technician", "location_id", "technician_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(10), default=SCHEDULED)
    outcome: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="SET NULL"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("core_device.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_event.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    technician = relationship("User", foreign_keys=[technician_id])
    customer = relationship("Customer")
    service = relationship("Service")
    device = relationship("Device")
    ticket = relationship("Ticket")
    event: Mapped[ServiceEvent | None] = relationship()

    def __str__(self) -> str:
        return self.title

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.auth.models import User
        from mango_core.testing.factories import make_row

        if "technician_id" not in overrides and "technician" not in overrides:
            overrides["technician_id"] = make_row(session, User).id
        start = utcnow()
        return cls(**{"starts_at": start, "ends_at": start + timedelta(hours=2), "title": "Instalace",
                      "state": SCHEDULED, **overrides})


MODELS: list[type] = [ServiceEvent, EventDevice, EventService, EventCustomer, EventNotice, EventSettings, Visit]
