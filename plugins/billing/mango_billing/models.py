"""The billing plugin's tables: plans, invoices, the ledger, payments and bank statements.

Rules that the schema itself keeps:

- Invoices, their lines and ledger entries are append-only (database triggers): an issued
  document is corrected by a credit note, a wrong entry by a reversing entry, never by an edit.
- A customer's balance is the sum of their ledger entries in an account (``receivable`` or
  ``prepaid``): positive = the customer has money with us, negative = they owe.
- Idempotency lives in unique constraints, not in code paths: one invoice per (run, billed
  customer), one bank movement per (account, dedup key), one statement file per hash, one usage
  record per key — a re-run or a repeated import hits the constraint instead of doubling money.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, Money, PartnerMixin, TenantMixin, utcnow
from mango_core.db.set_references import SET_CHECKED

# -- vocabularies --------------------------------------------------------------------------------
PERIODS = {"monthly": 1, "quarterly": 3, "half-year": 6, "yearly": 12, "one-off": 0}
BLOCKED_RULES = ("bill", "skip", "prorate")  # what a blocked part of a period costs
PAYMENT_METHODS = ("bank_transfer", "standing_order", "sipo", "direct_debit", "cash", "card", "prepaid")
# advance: zálohová faktura (a payment request, not a tax document); advance_tax: daňový doklad k přijaté
# platbě (the tax document of a payment received on an advance) — see mango_billing.advances
DOCUMENT_KINDS = ("invoice", "credit_note", "advance", "advance_tax")
# advance: a paid part of an advance (on its tax document); deduction: a paid advance deducted on the final invoice
LINE_KINDS = ("recurring", "usage", "one_off", "discount", "correction", "advance", "deduction")
# advance: money received on advance invoices, held until their final invoice settles it (324 přijaté zálohy)
ACCOUNTS = ("receivable", "prepaid", "advance")
ENTRY_KINDS = ("invoice", "credit_note", "payment", "refund", "reversal", "topup", "draw", "return", "adjustment",
               "settlement")
ADVANCE_STATES = ("open", "paid", "settled", "cancelled")
PAYMENT_STATES = ("unmatched", "matched", "ignored", "refunded")
RUN_STATES = ("running", "done", "failed")
_test_run_months = itertools.count(1)


def _in(column: str, values) -> str:  # noqa: ANN001
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class BillingPlan(PartnerMixin, Base):
    """How and when a product is billed; shared by all locations of a partner.

    ``period`` is a key of :data:`PERIODS`. ``in_advance`` bills a period at its start (the usual
    ISP way), otherwise after its end. ``billing_day`` is the day of the month on which a run
    bills (1–28). Daily proration charges part-periods (activation, termination, price
    changes) by days; ``blocked_rule`` says what blocked days cost.
    """

    __tablename__ = "billing_plan"
    __table_args__ = (
        UniqueConstraint("partner_id", "code"),
        CheckConstraint(_in("period", PERIODS), name="period"),
        CheckConstraint(_in("blocked_rule", BLOCKED_RULES), name="blocked_rule"),
        CheckConstraint(_in("payment_method", PAYMENT_METHODS), name="payment_method"),
        CheckConstraint("billing_day >= 1 AND billing_day <= 28", name="billing_day"),
        CheckConstraint("due_days >= 0 AND due_days <= 365", name="due_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(12), default="monthly")
    in_advance: Mapped[bool] = mapped_column(Boolean, default=True)
    billing_day: Mapped[int] = mapped_column(Integer, default=1)
    due_days: Mapped[int] = mapped_column(Integer, default=14)
    prorate: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked_rule: Mapped[str] = mapped_column(String(10), default="bill")
    # the default for services of this plan; a service may choose another
    payment_method: Mapped[str] = mapped_column(String(20), default="bank_transfer")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def months(self) -> int:
        return PERIODS[self.period]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BillingProfile(TenantMixin, Base):
    """Billing settings of one customer: who pays, how, and what dunning may do."""

    __tablename__ = "billing_profile"
    __table_args__ = (UniqueConstraint("location_id", "customer_id"),
                      UniqueConstraint("location_id", "prepaid_symbol"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"))
    never_block: Mapped[bool] = mapped_column(Boolean, default=False)
    invoice_by_email: Mapped[bool] = mapped_column(Boolean, default=True)
    sipo_number: Mapped[str | None] = mapped_column(String(10))
    # the variable symbol of uniCredit top-ups (distinct from the invoices' one)
    prepaid_symbol: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)


class InvoiceSeries(TenantMixin, Base):
    """A numbering series of a location: ``format`` turns (year, number) into the document number."""

    __tablename__ = "billing_series"
    __table_args__ = (UniqueConstraint("location_id", "code"), CheckConstraint(_in("kind", DOCUMENT_KINDS), name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(12), default="invoice")
    # Python format with {year} and {number}, e.g. "FV{year}{number:06d}"
    format: Mapped[str] = mapped_column(String(40), default="{year}{number:06d}")
    is_default: Mapped[bool] = mapped_column(Boolean, default=True)

    def number_for(self, year: int, number: int) -> str:
        return self.format.format(year=year, number=number)

    @property
    def counter(self) -> str:
        return f"billing.series.{self.code}"


class BillingRun(TenantMixin, Base):
    """One billing of a period in a location. ``done`` only after every invoice is issued."""

    __tablename__ = "billing_run"
    __table_args__ = (UniqueConstraint("location_id", "period_start"), CheckConstraint(_in("state", RUN_STATES), name="state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    state: Mapped[str] = mapped_column(String(10), default="running")
    invoices: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        # one run per period and location: each test row gets a month of its own
        n = next(_test_run_months)
        start = date(2000 + n // 12, n % 12 + 1, 1)
        return cls(**{"period_start": start, "period_end": start, **overrides})


class Invoice(TenantMixin, Base):
    """An issued document (tax invoice, credit note, advance invoice). Append-only.

    ``seller`` and ``buyer`` are snapshots taken at issue (a later change of address must not
    change an issued document). Amounts are totals of the lines; ``total`` is what the customer
    owes (negative for a credit note). ``run_id`` + ``customer_id`` is unique: a re-run of a
    billing period can never bill a customer twice.
    """

    __tablename__ = "billing_invoice"
    __table_args__ = (
        UniqueConstraint("location_id", "number"),
        UniqueConstraint("location_id", "series_id", "year", "sequence"),
        UniqueConstraint("location_id", "run_id", "customer_id"),
        Index("ix_billing_invoice_customer", "location_id", "customer_id", "issued_on"),
        Index("ix_billing_invoice_vs", "location_id", "variable_symbol"),
        CheckConstraint(_in("kind", DOCUMENT_KINDS), name="kind"),
        # on PostgreSQL checked once per statement, not per row (billing_0009, mango_core.db.set_references)
        {"info": {SET_CHECKED: ("location_id", "customer_id", "series_id", "run_id")}},
    )

    # no index of its own: every index above starts with location_id (billing_0009)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default="invoice")
    series_id: Mapped[int] = mapped_column(ForeignKey("billing_series.id", ondelete="RESTRICT"))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_run.id", ondelete="RESTRICT"))
    original_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    reason: Mapped[str | None] = mapped_column(Text)
    issued_on: Mapped[date] = mapped_column(Date)
    # DUZP; None on an advance invoice, which is no tax document (billing_0006)
    taxable_supply_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    variable_symbol: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3), default="CZK")
    vat_payer: Mapped[bool] = mapped_column(Boolean, default=True)
    payment_method: Mapped[str] = mapped_column(String(20), default="bank_transfer")
    seller: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    buyer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_base: Mapped[Decimal] = mapped_column(Money())
    total_vat: Mapped[Decimal] = mapped_column(Money())
    rounding: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money())
    uuid: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.position", viewonly=True)
    series: Mapped[InvoiceSeries] = relationship(viewonly=True)


class InvoiceLine(TenantMixin, Base):
    """One line of an issued document. Append-only; ``base`` + ``vat`` = ``total``."""

    __tablename__ = "billing_invoice_line"
    __table_args__ = (
        Index("ix_billing_invoice_line_invoice", "invoice_id", "position"),
        Index("ix_billing_invoice_line_service", "location_id", "service_id"),
        CheckConstraint(_in("kind", LINE_KINDS), name="kind"),
        {"info": {SET_CHECKED: ("invoice_id", "location_id", "product_id", "service_id")}},  # billing_0009
    )

    # no index of its own: ix_billing_invoice_line_service starts with location_id (billing_0009)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"))
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12), default="recurring")
    service_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("core_product.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(String(300))
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Money(scale=4), default=Decimal("1"))
    unit: Mapped[str] = mapped_column(String(20), default="")
    unit_price: Mapped[Decimal] = mapped_column(Money(scale=4))
    vat_rate: Mapped[Decimal] = mapped_column(Money(scale=2, precision=5))
    base: Mapped[Decimal] = mapped_column(Money())
    vat: Mapped[Decimal] = mapped_column(Money())
    total: Mapped[Decimal] = mapped_column(Money())


class LedgerEntry(TenantMixin, Base):
    """One movement of money of one customer in one account. Append-only.

    ``amount`` is signed from the customer's side: an invoice is negative (they owe more), a
    payment positive; a credit note positive; a refund negative. Prepaid (uniCredit): a top-up
    is positive, a draw negative. Every entry points at what caused it.
    """

    __tablename__ = "billing_ledger"
    __table_args__ = (
        Index("ix_billing_ledger_customer", "location_id", "customer_id", "account", "id"),
        CheckConstraint(_in("account", ACCOUNTS), name="account"),
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        # one entry per document and per payment in each account: a retried job cannot double it;
        # partial, so an entry indexes only the reference it has (billing_0005)
        Index("uq_billing_ledger_invoice", "location_id", "account", "kind", "invoice_id", unique=True,
              sqlite_where=text("invoice_id IS NOT NULL"), postgresql_where=text("invoice_id IS NOT NULL")),
        Index("uq_billing_ledger_payment", "location_id", "account", "kind", "payment_id", unique=True,
              sqlite_where=text("payment_id IS NOT NULL"), postgresql_where=text("payment_id IS NOT NULL")),
        # on PostgreSQL checked once per statement, not per row (billing_0008 and 0009,
        # mango_core.db.set_references)
        {"info": {SET_CHECKED: ("location_id", "customer_id", "payment_id", "invoice_id", "service_id")}},
    )

    # no index of its own: every index above starts with location_id (billing_0004: one index
    # entry less per entry, about 5 % of the database's work on a large import)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"))
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    account: Mapped[str] = mapped_column(String(12), default="receivable")
    kind: Mapped[str] = mapped_column(String(12), default="adjustment")
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment.id", ondelete="RESTRICT"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))


class StatementFile(TenantMixin, Base):
    """An imported bank statement file, kept as it came (with its hash) for audit."""

    __tablename__ = "billing_statement_file"
    __table_args__ = (UniqueConstraint("location_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("core_bank_account.id", ondelete="RESTRICT"))
    format: Mapped[str] = mapped_column(String(12))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    account: Mapped[str] = mapped_column(String(40))
    statement_number: Mapped[str | None] = mapped_column(String(20))
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    movements: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))


class Payment(TenantMixin, Base):
    """Money received (or a refund paid out) — from a bank movement, the cash desk or by hand.

    ``dedup_key`` is unique per location: the bank's own movement id (or a fingerprint of the
    movement) for bank payments, a caller-chosen idempotency key otherwise; an overlapping
    statement therefore never creates a payment twice. ``customer_id`` is set when the payment
    is matched (by variable symbol, or by hand on the pairing screen).
    """

    __tablename__ = "billing_payment"
    __table_args__ = (
        UniqueConstraint("location_id", "dedup_key"),
        Index("ix_billing_payment_state", "location_id", "state", "received_on"),
        Index("ix_billing_payment_customer", "location_id", "customer_id"),
        Index("ix_billing_payment_vs", "location_id", "variable_symbol"),
        CheckConstraint(_in("state", PAYMENT_STATES), name="state"),
        CheckConstraint(_in("method", PAYMENT_METHODS + ("bank",)), name="method"),
        # on PostgreSQL checked once per statement, not per row (billing_0008, mango_core.db.set_references)
        {"info": {SET_CHECKED: ("location_id", "customer_id", "statement_id", "bank_account_id")}},
    )

    # no index of its own: every index above starts with location_id (billing_0004)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"))
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(20), default="bank")
    received_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="CZK")
    variable_symbol: Mapped[str | None] = mapped_column(String(10))
    constant_symbol: Mapped[str | None] = mapped_column(String(10))
    specific_symbol: Mapped[str | None] = mapped_column(String(10))
    counter_account: Mapped[str | None] = mapped_column(String(50))
    counter_name: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(String(300))
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(10), default="unmatched")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    # where the money went: the receivable account, or uniCredit (a top-up)
    target: Mapped[str] = mapped_column(String(12), default="receivable")
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("billing_statement_file.id", ondelete="RESTRICT"))
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("core_bank_account.id", ondelete="RESTRICT"))
    raw: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    matched_at: Mapped[datetime | None] = mapped_column()
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))


class Charge(TenantMixin, Base):
    """A one-off charge or discount (negative) waiting for the next billing run of its customer."""

    __tablename__ = "billing_charge"
    __table_args__ = (Index("ix_billing_charge_open", "location_id", "invoice_id", "charge_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Money(scale=4), default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Money(scale=4))
    vat_rate: Mapped[Decimal] = mapped_column(Money(scale=2, precision=5), default=Decimal("21"))
    charge_on: Mapped[date] = mapped_column(Date)
    # set in the transaction that issues the invoice carrying it
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))


class UsageRecord(TenantMixin, Base):
    """A rated usage event of a service (a call, a data volume); ``key`` makes imports idempotent."""

    __tablename__ = "billing_usage"
    __table_args__ = (
        UniqueConstraint("location_id", "source", "key"),
        Index("ix_billing_usage_service", "location_id", "service_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # "cdr", "netflow", …
    key: Mapped[str] = mapped_column(String(100))
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime] = mapped_column()
    quantity: Mapped[Decimal] = mapped_column(Money(scale=4))  # seconds, bytes…
    unit: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    price: Mapped[Decimal | None] = mapped_column(Money(scale=4))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))


class DunningStep(TenantMixin, Base):
    """A step of a location's dunning: after ``days`` overdue do ``action``."""

    __tablename__ = "billing_dunning_step"
    __table_args__ = (UniqueConstraint("location_id", "position"),
                      CheckConstraint(_in("action", ("reminder", "block", "termination_proposal")), name="action"))

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(24), default="reminder")
    name: Mapped[str] = mapped_column(String(100))
    fee: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    minimum_debt: Mapped[Decimal] = mapped_column(Money(), default=Decimal("1"))


class DunningAction(TenantMixin, Base):
    """A dunning step done for one overdue invoice (once: unique per invoice and step)."""

    __tablename__ = "billing_dunning_action"
    __table_args__ = (UniqueConstraint("location_id", "invoice_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    step_id: Mapped[int] = mapped_column(ForeignKey("billing_dunning_step.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    done_at: Mapped[datetime] = mapped_column(default=utcnow)
    debt: Mapped[Decimal] = mapped_column(Money())
    detail: Mapped[str | None] = mapped_column(Text)


class InvoiceDispute(TenantMixin, Base):
    """A customer disputes an invoice: dunning leaves it alone until ``resolved_at``."""

    __tablename__ = "billing_invoice_dispute"
    __table_args__ = (Index("ix_billing_invoice_dispute_invoice", "location_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))


class PriceListRecord(PartnerMixin, Base):
    """A price list of calls (prefix → price per minute, bands, rounding), stored as its plain form.

    ``data`` is :meth:`mango_billing.usage.pricelist.PriceList.to_dict`; it is validated by
    loading it back before it is saved.
    """

    __tablename__ = "billing_price_list"
    __table_args__ = (UniqueConstraint("partner_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductUsage(PartnerMixin, Base):
    """How a product's usage is rated: its call price list and free minutes, and unit prices of counters.

    ``unit_prices`` maps a counter unit ("GB") to a price per unit without VAT; ``free_units`` the
    quantity of that unit included in the tariff each period (a fair-use allowance).
    """

    __tablename__ = "billing_product_usage"
    __table_args__ = (UniqueConstraint("partner_id", "product_id"),
                      CheckConstraint("free_minutes >= 0", name="free_minutes"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="CASCADE"))
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("billing_price_list.id", ondelete="RESTRICT"))
    free_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # destination groups the free minutes apply to; None = every group
    free_groups: Mapped[list[str] | None] = mapped_column(JSON)
    unit_prices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    free_units: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class Advance(TenantMixin, Base):
    """The state of an advance invoice (the document itself is an append-only :class:`Invoice`).

    ``open`` → ``paid`` (payments on its variable symbol reached its total) → ``settled`` (its final
    invoice deducted it); ``open`` → ``cancelled`` (nothing paid; the number stays used). ``source``
    is the caller's idempotency key (e.g. ``print:order:12``): one advance per source.
    """

    __tablename__ = "billing_advance"
    __table_args__ = (
        UniqueConstraint("location_id", "invoice_id"),
        UniqueConstraint("location_id", "source"),
        UniqueConstraint("location_id", "final_invoice_id"),
        Index("ix_billing_advance_customer", "location_id", "customer_id"),
        CheckConstraint(_in("state", ADVANCE_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    source: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(10), default="open")
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    paid_on: Mapped[date | None] = mapped_column(Date)  # the day the payments reached the total
    final_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invoice: Mapped[Invoice] = relationship(foreign_keys=[invoice_id], viewonly=True)


class AdvancePayment(TenantMixin, Base):
    """A payment received on an advance (one advance per payment) and the tax document issued for it.

    ``taxed`` is the part of the payment that the tax document covers (at most what was left of the
    advance's total); ``tax_document_id`` is None when the location is not a VAT payer or nothing was
    left to tax.
    """

    __tablename__ = "billing_advance_payment"
    __table_args__ = (
        UniqueConstraint("location_id", "payment_id"),
        Index("ix_billing_advance_payment_advance", "location_id", "advance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advance_id: Mapped[int] = mapped_column(ForeignKey("billing_advance.id", ondelete="RESTRICT"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("billing_payment.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Money())
    taxed: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    tax_document_id: Mapped[int | None] = mapped_column(ForeignKey("billing_invoice.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS: list[type] = [BillingPlan, BillingProfile, InvoiceSeries, BillingRun, Invoice, InvoiceLine, LedgerEntry,
                      StatementFile, Payment, Charge, UsageRecord, DunningStep, DunningAction, InvoiceDispute,
                      PriceListRecord, ProductUsage, Advance, AdvancePayment]
APPEND_ONLY = ("billing_invoice", "billing_invoice_line", "billing_ledger")
