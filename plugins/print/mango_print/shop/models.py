"""Tables of the shop area (registered through mango_print.models).

* :class:`PrintSpec` — partner-owned like the catalogue: what makes a core product a print
  product (pages, bleed, price rules, whether an advance invoice comes before production).
* :class:`PrintOrder` — a customer's order of a configured product, its price and state.
* :class:`PrintFile` — every PDF uploaded to an order (the last one counts) with its preflight.
* :class:`PrintEvent` — the append-only history of an order's states (who, when, note).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, Money, PartnerMixin, TenantMixin, utcnow

RECEIVED, PREFLIGHT_FAILED, PROOF_SENT, APPROVED = "received", "preflight_failed", "proof_sent", "approved"
IN_PRODUCTION, FINISHED, SHIPPED, PICKED_UP, CANCELLED = "in_production", "finished", "shipped", "picked_up", "cancelled"
STATES = (RECEIVED, PREFLIGHT_FAILED, PROOF_SENT, APPROVED, IN_PRODUCTION, FINISHED, SHIPPED, PICKED_UP, CANCELLED)
VERDICTS = ("ok", "warning", "fail")


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def require_scope() -> None:
    """Test factories: refuse like the tenant guard before making the rows a row refers to."""
    from mango_core.tenancy.context import TenancyError, scope_or_none

    if scope_or_none() is None:
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")


def _order_factory(cls, session, overrides: dict, defaults: dict):  # noqa: ANN001, ANN202
    from mango_core.catalog.models import Product
    from mango_core.customers.models import Customer
    from mango_core.testing.factories import make_row

    require_scope()
    if "customer_id" not in overrides and "customer" not in overrides:
        overrides["customer_id"] = make_row(session, Customer).id
    if "product_id" not in overrides and "product" not in overrides:
        overrides["product_id"] = make_row(session, Product).id
    return cls(**{**defaults, **overrides})


class PrintSpec(PartnerMixin, Base):
    """The print side of a product: its pages, trim size, bleed and price rules."""

    __tablename__ = "print_spec"
    __table_args__ = (
        UniqueConstraint("partner_id", "product_id"),
        CheckConstraint("pages IS NULL OR pages >= 1", name="pages"),
        CheckConstraint("min_dpi >= 1", name="min_dpi"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="CASCADE"))
    pages: Mapped[int | None] = mapped_column(Integer)  # pages of the print-ready PDF; None: any
    bleed_mm: Mapped[Decimal] = mapped_column(Money(scale=1, precision=4), default=Decimal("3"))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    advance: Mapped[bool] = mapped_column(Boolean, default=False)  # invoice and payment before production
    # the lowest image resolution preflight accepts (print_0003); below 300 dpi it only warns
    min_dpi: Mapped[int] = mapped_column(Integer, default=150, server_default="150")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PrintOrder(TenantMixin, Base):
    """One order: the product, the customer's parameter values, the price when ordered, the state."""

    __tablename__ = "print_order"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("price >= 0", name="price"),
        Index("ix_print_order_state", "location_id", "state"),
        Index("ix_print_order_customer", "location_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="RESTRICT"))
    class_version: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(Money())  # without VAT, from the rules when ordered
    vat_rate: Mapped[Decimal] = mapped_column(Money(scale=2, precision=5), default=Decimal("21"))
    quote: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    advance: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default=RECEIVED)
    note: Mapped[str | None] = mapped_column(Text)  # the customer's
    # billing: the one-off charge (made on approval; with an advance, when the final invoice is issued),
    # the advance invoice issued on approval (mango_billing.advances), and the order's own invoice: the
    # final invoice that deducts the advance (orders approved before print_0002: an ordinary invoice
    # issued on approval instead of the advance)
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("billing_charge.id", ondelete="RESTRICT"))
    advance_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    files: Mapped[list[PrintFile]] = relationship(back_populates="order", order_by="PrintFile.id",
                                                  cascade="all, delete-orphan")
    events: Mapped[list[PrintEvent]] = relationship(back_populates="order", order_by="PrintEvent.id",
                                                    cascade="all, delete-orphan")

    @property
    def file(self) -> PrintFile | None:
        return self.files[-1] if self.files else None

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return _order_factory(cls, session, overrides, {"state": RECEIVED, "price": Decimal("100"), "params": {}})


class PrintFile(TenantMixin, Base):
    """An uploaded print-ready PDF and its preflight report."""

    __tablename__ = "print_file"
    __table_args__ = (CheckConstraint(_in("verdict", VERDICTS), name="verdict"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("print_order.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    verdict: Mapped[str] = mapped_column(String(10))
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[PrintOrder] = relationship(back_populates="files")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import make_row

        require_scope()
        if "order_id" not in overrides and "order" not in overrides:
            overrides["order_id"] = make_row(session, PrintOrder).id
        return cls(**{"filename": "a.pdf", "size": 4, "sha256": "0" * 64, "content": b"%PDF", "verdict": "ok",
                      **overrides})


class PrintEvent(TenantMixin, Base):
    """A change of an order's state (``from_state`` None: the order was placed)."""

    __tablename__ = "print_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("print_order.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    by_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[PrintOrder] = relationship(back_populates="events")


MODELS: list[type] = [PrintSpec, PrintOrder, PrintFile, PrintEvent]
