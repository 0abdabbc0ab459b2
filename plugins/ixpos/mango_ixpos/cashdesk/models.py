"""Tables of the cash desk (registered through mango_ixpos.models).

* :class:`CashRegister` — a till of a location, optionally with a card terminal (host and port).
* :class:`CashSession` — a shift at one register: opened with a float, closed with a counted
  amount; the expected cash and the difference are stored at closing. At most one open session per
  register: ``open_register_id`` equals ``register_id`` while open and is NULL when closed, under a
  unique constraint (NULLs never collide, on SQLite and PostgreSQL alike).
* :class:`CashPayment` — money taken at the desk, cash or card. Its ``txn_id`` is chosen before a
  terminal is asked, so a retry or a recovery after a lost connection refers to the same
  transaction; ``billing_payment_id`` points at the billing payment (the ledger entry) once approved.
* :class:`JournalEntry` — every cash-desk event; the database refuses UPDATE and DELETE
  (``mango_core.db.append_only``, migration ixpos_0001).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, Money, TenantMixin, utcnow

OPEN, CLOSED = "open", "closed"
SESSION_STATES = (OPEN, CLOSED)
CASH, CARD = "cash", "card"
METHODS = (CASH, CARD)
RECEIVABLE, PREPAID = "receivable", "prepaid"
TARGETS = (RECEIVABLE, PREPAID)
PENDING, APPROVED, DECLINED, UNKNOWN = "pending", "approved", "declined", "unknown"
PAYMENT_STATES = (PENDING, APPROVED, DECLINED, UNKNOWN)
PAYMENT, REFUND = "payment", "refund"
KINDS = (PAYMENT, REFUND)
EVENTS = ("register_created", "session_opened", "session_closed", "cash_payment", "card_pending", "card_approved",
          "card_declined", "card_unknown", "card_reconciled", "cash_refund")


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _require_scope() -> None:
    """Test factories: refuse like the tenant guard before making the rows a row refers to."""
    from mango_core.tenancy.context import TenancyError, scope_or_none

    if scope_or_none() is None:
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")


class CashRegister(TenantMixin, Base):
    """A till of a location; ``terminal_host``/``terminal_port`` name its card terminal (ECR over TCP)."""

    __tablename__ = "ixpos_register"
    __table_args__ = (UniqueConstraint("location_id", "name"),
                      CheckConstraint("terminal_port IS NULL OR (terminal_port > 0 AND terminal_port < 65536)",
                                      name="terminal_port"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    terminal_host: Mapped[str | None] = mapped_column(String(200))
    terminal_port: Mapped[int | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        import uuid

        return cls(**{"name": f"Pokladna {uuid.uuid4().hex[:8]}", **overrides})


class CashSession(TenantMixin, Base):
    """One shift at a register: float, expected and counted cash, the difference."""

    __tablename__ = "ixpos_session"
    __table_args__ = (
        UniqueConstraint("location_id", "open_register_id"),
        Index("ix_ixpos_session_register", "location_id", "register_id", "opened_at"),
        CheckConstraint(_in("state", SESSION_STATES), name="state"),
        CheckConstraint("(state = 'open') = (open_register_id IS NOT NULL)", name="open_marker"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("ixpos_register.id", ondelete="RESTRICT"))
    open_register_id: Mapped[int | None] = mapped_column()
    state: Mapped[str] = mapped_column(String(10), default=OPEN)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    opening_float: Mapped[Decimal] = mapped_column(Money())
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    expected_cash: Mapped[Decimal | None] = mapped_column(Money())
    counted_cash: Mapped[Decimal | None] = mapped_column(Money())
    difference: Mapped[Decimal | None] = mapped_column(Money())
    note: Mapped[str | None] = mapped_column(Text)

    register: Mapped[CashRegister] = relationship(lazy="joined")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import make_row

        _require_scope()
        if "register_id" not in overrides and "register" not in overrides:
            overrides["register_id"] = make_row(session, CashRegister).id
        # a closed session: any number of them may exist per register
        return cls(**{"state": CLOSED, "open_register_id": None, "opening_float": Decimal("1000.00"), **overrides})


class CashPayment(TenantMixin, Base):
    """A payment taken at the desk; card payments go through ``pending`` before the terminal answers."""

    __tablename__ = "ixpos_payment"
    __table_args__ = (
        UniqueConstraint("location_id", "txn_id"),
        Index("ix_ixpos_payment_session", "location_id", "session_id", "id"),
        Index("ix_ixpos_payment_state", "location_id", "state"),
        CheckConstraint(_in("method", METHODS), name="method"),
        CheckConstraint(_in("target", TARGETS), name="target"),
        CheckConstraint(_in("state", PAYMENT_STATES), name="state"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint("(kind = 'refund') = (refund_of_id IS NOT NULL)", name="refund_of"),
        CheckConstraint("amount > 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    txn_id: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[int] = mapped_column(ForeignKey("ixpos_session.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(String(10))
    # a refund pays ``amount`` back to the customer (money out of the drawer or back to the card)
    kind: Mapped[str] = mapped_column(String(10), default=PAYMENT)
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("ixpos_payment.id", ondelete="RESTRICT"), index=True)
    target: Mapped[str] = mapped_column(String(12), default=RECEIVABLE)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="CZK")
    tendered: Mapped[Decimal | None] = mapped_column(Money())  # cash handed over
    change: Mapped[Decimal | None] = mapped_column(Money())  # cash given back
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    auth_code: Mapped[str | None] = mapped_column(String(20))
    card: Mapped[str | None] = mapped_column(String(30))  # masked PAN as the terminal reports it
    error: Mapped[str | None] = mapped_column(Text)
    billing_payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column()

    session: Mapped[CashSession] = relationship(lazy="joined")

    @property
    def signed_amount(self) -> Decimal:
        """The amount as it moves the drawer or the card: negative for a refund."""
        return -self.amount if self.kind == REFUND else self.amount

    @property
    def number(self) -> str:
        """The receipt number: register and payment id."""
        return f"{self.session.register_id:03d}-{self.id:07d}"

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        import uuid

        from mango_core.customers.models import Customer
        from mango_core.testing.factories import make_row

        _require_scope()
        if "session_id" not in overrides and "session" not in overrides:
            overrides["session_id"] = make_row(session, CashSession).id
        if "customer_id" not in overrides:
            overrides["customer_id"] = make_row(session, Customer).id
        return cls(**{"txn_id": uuid.uuid4().hex, "method": CASH, "target": RECEIVABLE,
                      "kind": REFUND if overrides.get("refund_of_id") else PAYMENT,
                      "state": DECLINED,
                      "amount": Decimal("100.00"), **overrides})


class JournalEntry(TenantMixin, Base):
    """One cash-desk event (append-only: the database refuses UPDATE and DELETE)."""

    __tablename__ = "ixpos_journal"
    __table_args__ = (
        Index("ix_ixpos_journal_at", "location_id", "at"),
        CheckConstraint(_in("event", EVENTS), name="event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(20))
    register_id: Mapped[int | None] = mapped_column(ForeignKey("ixpos_register.id", ondelete="RESTRICT"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("ixpos_session.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("ixpos_payment.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    detail: Mapped[str | None] = mapped_column(Text)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return cls(**{"event": "session_opened", "detail": "test", **overrides})


MODELS: list[type] = [CashRegister, CashSession, CashPayment, JournalEntry]
