"""Services of a location, their blocks, linked devices and scheduled (future) changes.

Only :mod:`mango_core.services.service` and :mod:`mango_core.services.lifecycle` write these
tables, so every change is validated, kept in the history and announced to plugins.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, Money, TenantMixin, utcnow

PENDING, ACTIVE, BLOCKED, TERMINATED = "pending", "active", "blocked", "terminated"
STATES = (PENDING, ACTIVE, BLOCKED, TERMINATED)
MANUAL, DEBT, PREPAID, OTHER = "manual", "debt", "prepaid", "other"
BLOCK_KINDS = (MANUAL, DEBT, PREPAID, OTHER)
# states of a scheduled change
SCHEDULED, APPLIED, CANCELLED, FAILED = "scheduled", "applied", "cancelled", "failed"
CHANGE_STATES = (SCHEDULED, APPLIED, CANCELLED, FAILED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Service(TenantMixin, Base):
    """One customer's instance of a product.

    ``params`` are validated against version ``class_version`` of class ``class_id`` (which a
    class change never rewrites). ``price`` overrides the product's price when set (same VAT
    rate). ``billing_plan`` and ``payment_period`` override the product's for billing.
    ``state`` follows the lifecycle; ``blocked`` while any block is open.
    """

    __tablename__ = "core_service"
    __table_args__ = (
        Index("ix_core_service_customer", "location_id", "customer_id", "id"),
        Index("ix_core_service_location_state", "location_id", "state"),
        Index("ix_core_service_product", "product_id"),
        Index("ix_core_service_class", "class_id"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("price IS NULL OR price >= 0", name="price"),
        CheckConstraint("payment_period IS NULL OR (payment_period >= 1 AND payment_period <= 12)",
                        name="payment_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="RESTRICT"))
    class_id: Mapped[int] = mapped_column(ForeignKey("core_service_class.id", ondelete="RESTRICT"))
    class_version: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    price: Mapped[Decimal | None] = mapped_column(Money())
    billing_plan: Mapped[Any | None] = mapped_column(JSON)
    payment_period: Mapped[int | None] = mapped_column(Integer)  # months between bills; None = billing's default
    state: Mapped[str] = mapped_column(String(12), default=PENDING)
    start_date: Mapped[date] = mapped_column(Date, default=date.today)
    activated_on: Mapped[date | None] = mapped_column(Date)
    commitment_until: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    service_place_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_customer_address.id", ondelete="SET NULL"), index=True)
    # the service this one continues (a transfer to another customer)
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    product = relationship("Product", lazy="joined")
    customer = relationship("Customer")
    service_place = relationship("CustomerAddress")
    blocks: Mapped[list[ServiceBlock]] = relationship(back_populates="service", order_by="ServiceBlock.id",
                                                      cascade="all, delete-orphan")
    device_links: Mapped[list[ServiceDevice]] = relationship(back_populates="service", cascade="all, delete-orphan",
                                                             order_by="ServiceDevice.id")

    @property
    def effective_price(self) -> Decimal:
        return self.product.price if self.price is None else self.price

    def open_blocks(self, on: date | None = None) -> list[ServiceBlock]:
        on = on or date.today()
        return [b for b in self.blocks if b.is_open(on)]

    def __str__(self) -> str:
        return f"#{self.id} {self.product.name}"

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.catalog.models import Product, ServiceClass
        from mango_core.customers.models import Customer
        from mango_core.tenancy.context import TenancyError, scope_or_none
        from mango_core.testing.factories import make_row

        if scope_or_none() is None:
            raise TenancyError("No location scope is set; refusing to write tenant-owned data.")
        if "customer_id" not in overrides and "customer" not in overrides:
            overrides["customer_id"] = make_row(session, Customer).id
        if "product_id" not in overrides:
            product = make_row(session, Product)
            overrides["product_id"] = product.id
            overrides.setdefault("class_id", product.class_id)
        if "class_id" not in overrides:
            product = session.get(Product, overrides["product_id"])  # None: another partner's (the guard refuses)
            overrides["class_id"] = product.class_id if product else make_row(session, ServiceClass).id
        return cls(**{"params": {}, "class_version": 1, "state": PENDING, **overrides})


class ServiceBlock(TenantMixin, Base):
    """A block of a service from ``since`` until ``until`` (exclusive; None = open).

    Several may overlap (a debt block and a manual one); the service is blocked while any is open.
    """

    __tablename__ = "core_service_block"
    __table_args__ = (
        Index("ix_core_service_block_service", "service_id", "id"),
        CheckConstraint(_in("kind", BLOCK_KINDS), name="kind"),
        CheckConstraint("until IS NULL OR until >= since", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12), default=MANUAL)
    since: Mapped[date] = mapped_column(Date, default=date.today)
    until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    service: Mapped[Service] = relationship(back_populates="blocks")

    def is_open(self, on: date) -> bool:
        return self.since <= on and (self.until is None or on < self.until)


class ServiceDevice(TenantMixin, Base):
    """A device of the same location that serves a service (a CPE, a port of a switch…)."""

    __tablename__ = "core_service_device"
    __table_args__ = (UniqueConstraint("location_id", "service_id", "device_id"),
                      Index("ix_core_service_device_device", "device_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    service: Mapped[Service] = relationship(back_populates="device_links")
    device = relationship("Device", lazy="joined")


class ServiceChange(TenantMixin, Base):
    """A lifecycle operation: scheduled for a future date, or done (``applied``) on the spot.

    ``payload`` holds the operation's checked arguments (JSON-safe); the job
    ``core:apply_service_changes`` applies due ones exactly once (it claims a row by moving it out
    of ``scheduled`` in the applying transaction).
    """

    __tablename__ = "core_service_change"
    __table_args__ = (
        Index("ix_core_service_change_due", "location_id", "state", "effective"),
        Index("ix_core_service_change_service", "service_id", "id"),
        CheckConstraint(_in("state", CHANGE_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30), default="activate")
    effective: Mapped[date] = mapped_column(Date, default=date.today)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default=SCHEDULED)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column()
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    service: Mapped[Service] = relationship()
