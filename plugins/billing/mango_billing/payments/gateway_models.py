"""Tables of online card payments (migration billing_0007).

- :class:`GatewaySettings`: a location's payment gateway (provider, merchant id, the secret encrypted
  with :class:`mango_core.secrets.SecretBox`, test mode, API address).
- :class:`OnlinePayment`: one attempt of a customer to pay an invoice through the gateway, stored
  under its reference *before* the gateway hears of it, with the gateway's transaction id and the
  billing payment it became. ``reference`` and ``(provider, trans_id)`` are unique per location:
  whatever repeats (a double click, a notification, the return, the job), there is one row, and
  billing's ``record_payment`` keyed ``gateway:<reference>`` books it once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, Money, TenantMixin, utcnow

PROVIDERS = ("comgate",)
# new: stored, the gateway not asked yet; pending: the gateway has the transaction; paid: booked in billing;
# cancelled: the gateway says not paid; failed: the transaction was never created (nobody could pay);
# mismatch: the gateway reports another amount or currency than was asked — a person decides
NEW, PENDING, PAID, CANCELLED, FAILED, MISMATCH = "new", "pending", "paid", "cancelled", "failed", "mismatch"
STATES = (NEW, PENDING, PAID, CANCELLED, FAILED, MISMATCH)
OPEN_STATES = (NEW, PENDING)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class GatewaySettings(TenantMixin, Base):
    """The payment gateway of one location; the secret is never shown back in full."""

    __tablename__ = "billing_gateway_settings"
    __table_args__ = (
        UniqueConstraint("location_id"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), default="comgate")
    merchant: Mapped[str] = mapped_column(String(60))
    secret_encrypted: Mapped[str] = mapped_column(Text)  # SecretBox("billing", …) token
    secret_hint: Mapped[str] = mapped_column(String(12), default="")
    test_mode: Mapped[bool] = mapped_column(Boolean, default=True)
    api_url: Mapped[str | None] = mapped_column(String(200))  # None: the provider's production address
    method: Mapped[str] = mapped_column(String(60), default="ALL")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206, ARG003
        return cls(**{"provider": "comgate", "merchant": "123456", "secret_encrypted": "x", **overrides})


class OnlinePayment(TenantMixin, Base):
    """A customer's card payment of an invoice through the gateway (see the module doc)."""

    __tablename__ = "billing_online_payment"
    __table_args__ = (
        UniqueConstraint("location_id", "reference"),
        UniqueConstraint("location_id", "provider", "trans_id"),
        Index("ix_billing_online_payment_state", "location_id", "state", "created_at"),
        Index("ix_billing_online_payment_invoice", "location_id", "invoice_id"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        CheckConstraint("amount > 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(20), default="comgate")
    trans_id: Mapped[str | None] = mapped_column(String(64))
    redirect_url: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="CZK")
    state: Mapped[str] = mapped_column(String(10), default=NEW)
    gateway_state: Mapped[str | None] = mapped_column(String(20))  # the last state the gateway reported
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    billing_payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment.id", ondelete="RESTRICT"))
    error: Mapped[str | None] = mapped_column(Text)
    notifications: Mapped[int] = mapped_column(Integer, default=0)  # how many the gateway sent
    checks: Mapped[int] = mapped_column(Integer, default=0)  # how many times the status was asked
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        import uuid

        from mango_billing.models import Invoice
        from mango_core.tenancy.context import TenancyError, scope_or_none
        from mango_core.testing.factories import make_row

        if scope_or_none() is None:  # refuse like the tenant guard before making the invoice
            raise TenancyError("No location scope is set; refusing to write tenant-owned data.")
        invoice = session.get(Invoice, overrides["invoice_id"]) if "invoice_id" in overrides else \
            make_row(session, Invoice, kind="invoice")
        if invoice is not None:
            overrides.setdefault("invoice_id", invoice.id)
            overrides.setdefault("customer_id", invoice.customer_id)
        else:  # another location's invoice: the row is made as asked, and the tenant guard refuses it
            from mango_core.customers.models import Customer

            overrides.setdefault("customer_id", make_row(session, Customer).id)
        return cls(**{"reference": uuid.uuid4().hex, "provider": "comgate", "amount": Decimal("100.00"),
                      "state": NEW, **overrides})


MODELS: list[type] = [GatewaySettings, OnlinePayment]
