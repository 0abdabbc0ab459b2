"""Billing reports: pure query functions over a session (the request's location scope filters them).

Each report aggregates in SQL (GROUP BY, window sums) and returns small dataclasses; nothing
loops over invoice lines or ledger entries in Python. Money stays ``Decimal``; the only rounding
is the VAT return's whole crowns (ROUND_HALF_UP, documented at :func:`vat_summary`).

Which documents count: revenue and the VAT summary take tax documents — invoices, credit notes and
the tax documents of payments received on advances (``kind`` ``invoice`` / ``credit_note`` /
``advance_tax``) — by their DUZP (``taxable_supply_date``). Credit note lines are stored with
negative amounts (the document's total is negative), so summing the lines subtracts them; a final
invoice's deduction lines subtract its advance's tax documents the same way. Advance invoices
themselves are left out (payment requests, not tax documents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, extract, func, literal, select, type_coerce, union_all
from sqlalchemy.orm import Session

from mango_billing.models import PAYMENT_METHODS, Invoice, InvoiceLine, LedgerEntry, Payment
from mango_core.catalog.models import Product, ServiceClass
from mango_core.customers.models import Customer
from mango_core.db import Money

ZERO = Decimal("0.00")
TAX_DOCUMENTS = ("invoice", "credit_note", "advance_tax")
BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "over_90")
REVENUE_GROUPS = ("class", "product", "month")
MAX_DAYS = 3700  # about ten years: a longer report range is a typing error, not a wish


class ReportError(ValueError):
    """Bad report parameters (dates, grouping, filters); the message says what was expected."""


def check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise ReportError("the end of the period is before its start")
    if (date_to - date_from).days > MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days")


def _money(expr: Any) -> Any:
    """Read a SQL expression back as Money (SQLite keeps minor units: the type converts them)."""
    return type_coerce(expr, Money())


def _dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(Decimal("0.01"))


# --- receivables ageing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeingRow:
    customer_id: int
    number: int
    name: str
    not_due: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    over_90: Decimal

    @property
    def total(self) -> Decimal:
        return self.not_due + self.d1_30 + self.d31_60 + self.d61_90 + self.over_90

    def bucket(self, name: str) -> Decimal:
        return getattr(self, name)


@dataclass(frozen=True)
class Ageing:
    as_of: date
    rows: list[AgeingRow]
    totals: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.totals.values(), ZERO)


def _unpaid_invoices(as_of: date) -> Any:
    """A subquery of every unpaid invoice share as of a day: (customer_id, due, unpaid).

    The same FIFO as :func:`mango_billing.ledger.open_items`, in SQL: a customer's credits pay
    debts in the order (due date, invoice debts before other debts, id); the unpaid part of a
    debt is its cumulative total beyond the credits, at most the debt itself. Debts without an
    invoice (a refund, an adjustment) take their share of the credits but are no open item.
    """
    receivable = and_(LedgerEntry.account == "receivable", LedgerEntry.booked_on <= as_of)
    invoice_debts = (select(LedgerEntry.customer_id.label("customer_id"), Invoice.due_date.label("due"),
                            literal(0).label("other"), LedgerEntry.id.label("ref"),
                            (-LedgerEntry.amount).label("owed"))
                     .join(Invoice, Invoice.id == LedgerEntry.invoice_id)
                     .where(receivable, LedgerEntry.amount < 0))
    other_debts = (select(LedgerEntry.customer_id, LedgerEntry.booked_on, literal(1), LedgerEntry.id,
                          -LedgerEntry.amount)
                   .where(receivable, LedgerEntry.amount < 0, LedgerEntry.invoice_id.is_(None)))
    debts = union_all(invoice_debts, other_debts).subquery("debts")
    credits = (select(LedgerEntry.customer_id.label("customer_id"), func.sum(LedgerEntry.amount).label("paid"))
               .where(receivable, LedgerEntry.amount > 0).group_by(LedgerEntry.customer_id).subquery("credits"))
    cumulative = func.sum(debts.c.owed).over(partition_by=debts.c.customer_id,
                                             order_by=(debts.c.due, debts.c.other, debts.c.ref))
    ordered = (select(debts.c.customer_id, debts.c.due, debts.c.other, debts.c.owed,
                      (cumulative - func.coalesce(credits.c.paid, 0)).label("beyond"))
               .outerjoin(credits, credits.c.customer_id == debts.c.customer_id).subquery("ordered"))
    unpaid = case((ordered.c.beyond <= 0, 0), (ordered.c.beyond >= ordered.c.owed, ordered.c.owed),
                  else_=ordered.c.beyond)
    return (select(ordered.c.customer_id, ordered.c.due, unpaid.label("unpaid"))
            .where(ordered.c.other == 0, ordered.c.beyond > 0).subquery("open_items"))


def ageing(session: Session, as_of: date | None = None) -> Ageing:
    """Unpaid invoices per customer by days past due as of ``as_of`` (entries booked up to that day).

    Buckets: not due (due on or after ``as_of``), 1–30, 31–60, 61–90 and more than 90 days overdue.
    """
    as_of = as_of or date.today()
    items = _unpaid_invoices(as_of)
    edges = [as_of - timedelta(days=d) for d in (30, 60, 90)]
    conditions = {
        "not_due": items.c.due >= as_of,
        "d1_30": and_(items.c.due < as_of, items.c.due >= edges[0]),
        "d31_60": and_(items.c.due < edges[0], items.c.due >= edges[1]),
        "d61_90": and_(items.c.due < edges[1], items.c.due >= edges[2]),
        "over_90": items.c.due < edges[2],
    }
    sums = [_money(func.sum(case((cond, items.c.unpaid), else_=0))).label(name) for name, cond in conditions.items()]
    stmt = (select(Customer.id, Customer.number, Customer.display_name, *sums)
            .join(items, items.c.customer_id == Customer.id)
            .group_by(Customer.id, Customer.number, Customer.display_name)
            .order_by(Customer.display_name, Customer.number))
    rows = [AgeingRow(cid, number, name, *(_dec(v) for v in values))
            for cid, number, name, *values in session.execute(stmt)]
    totals = {name: sum((r.bucket(name) for r in rows), ZERO) for name in BUCKETS}
    return Ageing(as_of, rows, totals)


# --- revenue ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueRow:
    key: str  # class/product id or "YYYY-MM"; "" for lines without a product
    label: str
    base: Decimal
    vat: Decimal
    total: Decimal
    lines: int


@dataclass(frozen=True)
class Revenue:
    group: str
    date_from: date
    date_to: date
    rows: list[RevenueRow]

    @property
    def base(self) -> Decimal:
        return sum((r.base for r in self.rows), ZERO)

    @property
    def vat(self) -> Decimal:
        return sum((r.vat for r in self.rows), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((r.total for r in self.rows), ZERO)


def revenue(session: Session, date_from: date, date_to: date, group: str = "month") -> Revenue:
    """Invoiced revenue (lines of invoices minus credit notes) with DUZP in ``[date_from, date_to]``.

    ``group``: ``class`` (the product's service class), ``product`` or ``month`` (of the DUZP).
    Lines without a product (one-off charges, discounts) form their own row with key ``""``.
    """
    check_range(date_from, date_to)
    if group not in REVENUE_GROUPS:
        raise ReportError(f"revenue is grouped by one of {', '.join(REVENUE_GROUPS)}, not {group!r}")
    sums = (_money(func.sum(InvoiceLine.base)), _money(func.sum(InvoiceLine.vat)),
            _money(func.sum(InvoiceLine.total)), func.count(InvoiceLine.id))
    where = (Invoice.kind.in_(TAX_DOCUMENTS), Invoice.taxable_supply_date >= date_from,
             Invoice.taxable_supply_date <= date_to)
    base = select().select_from(InvoiceLine).join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(*where)
    rows: list[RevenueRow] = []
    if group == "month":
        year = extract("year", Invoice.taxable_supply_date)
        month = extract("month", Invoice.taxable_supply_date)
        stmt = base.add_columns(year, month, *sums).group_by(year, month).order_by(year, month)
        for y, m, b, v, t, n in session.execute(stmt):
            key = f"{int(y):04d}-{int(m):02d}"
            rows.append(RevenueRow(key, key, _dec(b), _dec(v), _dec(t), n))
        return Revenue(group, date_from, date_to, rows)
    stmt = base.outerjoin(Product, Product.id == InvoiceLine.product_id)
    if group == "product":
        key_cols: tuple[Any, ...] = (Product.id, Product.code, Product.name)
    else:
        key_cols = (ServiceClass.id, ServiceClass.name)
        stmt = stmt.outerjoin(ServiceClass, ServiceClass.id == Product.class_id)
    stmt = stmt.add_columns(*key_cols, *sums).group_by(*key_cols)
    for key, *names, b, v, t, n in session.execute(stmt):
        label = "" if key is None else " ".join(str(x) for x in names if x)
        rows.append(RevenueRow("" if key is None else str(key), label, _dec(b), _dec(v), _dec(t), n))
    # the biggest first; lines without a product last
    rows.sort(key=lambda r: (r.key == "", -r.base, r.label))
    return Revenue(group, date_from, date_to, rows)


# --- VAT summary --------------------------------------------------------------------------------------


def return_line(rate: Decimal) -> str:
    """The line of the Czech VAT return (přiznání k DPH, oddíl I) for an output-tax rate.

    21 % (and the former 20 %, 22 %) is the standard rate: line 1. Any lower positive rate
    (12 % since 2024; 15 % and 10 % before) is the reduced rate: line 2. 0 % has no line of its own:
    it is exempt or outside the scope of VAT, which the accountant decides (lines 26 or 50, or none).
    """
    if rate >= 20:
        return "1"
    if rate > 0:
        return "2"
    return ""


@dataclass(frozen=True)
class VatRow:
    rate: Decimal
    line: str  # the line of the return ("1", "2"; "" = none)
    base: Decimal
    vat: Decimal
    documents: int

    @property
    def base_czk(self) -> Decimal:
        return self.base.quantize(Decimal("1"), rounding=ROUND_HALF_UP)

    @property
    def vat_czk(self) -> Decimal:
        return self.vat.quantize(Decimal("1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class VatSummary:
    date_from: date
    date_to: date
    rows: list[VatRow]
    non_payer_total: Decimal  # documents issued while the location was not a VAT payer
    documents: int

    def line(self, number: str) -> tuple[Decimal, Decimal]:
        """Base and VAT of one line of the return in whole CZK (each summed, then rounded half up)."""
        base = sum((r.base for r in self.rows if r.line == number), ZERO)
        vat = sum((r.vat for r in self.rows if r.line == number), ZERO)
        return (base.quantize(Decimal("1"), rounding=ROUND_HALF_UP), vat.quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    @property
    def base(self) -> Decimal:
        return sum((r.base for r in self.rows), ZERO)

    @property
    def vat(self) -> Decimal:
        return sum((r.vat for r in self.rows), ZERO)


def vat_summary(session: Session, date_from: date, date_to: date) -> VatSummary:
    """Output VAT per rate of the documents with DUZP in the period (credit notes subtract).

    Sums are exact; the return's whole crowns are rounded half up per line of the return
    (:meth:`VatSummary.line`) — the rounding the form itself asks for.
    """
    check_range(date_from, date_to)
    where = (Invoice.kind.in_(TAX_DOCUMENTS), Invoice.taxable_supply_date >= date_from,
             Invoice.taxable_supply_date <= date_to)
    stmt = (select(InvoiceLine.vat_rate, _money(func.sum(InvoiceLine.base)), _money(func.sum(InvoiceLine.vat)),
                   func.count(func.distinct(Invoice.id)))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(*where, Invoice.vat_payer.is_(True))
            .group_by(InvoiceLine.vat_rate).order_by(InvoiceLine.vat_rate.desc()))
    rows = [VatRow(Decimal(rate), return_line(Decimal(rate)), _dec(b), _dec(v), n)
            for rate, b, v, n in session.execute(stmt)]
    non_payer = session.scalar(select(_money(func.sum(Invoice.total))).where(*where, Invoice.vat_payer.is_(False)))
    documents = session.scalar(select(func.count(Invoice.id)).where(*where)) or 0
    return VatSummary(date_from, date_to, rows, _dec(non_payer), documents)


# --- payments journal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalRow:
    id: int
    received_on: date
    amount: Decimal
    currency: str
    method: str
    state: str
    variable_symbol: str | None
    specific_symbol: str | None
    constant_symbol: str | None
    counter_account: str | None
    counter_name: str | None
    message: str | None
    customer_id: int | None
    customer_number: int | None
    customer_name: str | None
    target: str


@dataclass(frozen=True)
class Journal:
    date_from: date
    date_to: date
    rows: list[JournalRow]
    count: int  # all matching payments (``rows`` may be cut at the limit)
    total: Decimal
    by_state: dict[str, tuple[int, Decimal]]
    by_method: dict[str, tuple[int, Decimal]]


JOURNAL_STATES = ("matched", "unmatched", "ignored", "refunded")


def payments_journal(session: Session, date_from: date, date_to: date, *, method: str | None = None,
                     state: str | None = None, limit: int | None = None) -> Journal:
    """Payments received in ``[date_from, date_to]``, optionally of one method and one state.

    ``state`` ``matched`` / ``unmatched`` / ``ignored`` / ``refunded``; the totals per state and
    method are computed in SQL over every matching payment, whatever ``limit`` cuts from the rows.
    """
    check_range(date_from, date_to)
    if method and method not in (*PAYMENT_METHODS, "bank"):
        raise ReportError(f"unknown payment method {method!r}")
    if state and state not in JOURNAL_STATES:
        raise ReportError(f"unknown payment state {state!r}")
    where = [Payment.received_on >= date_from, Payment.received_on <= date_to]
    if method:
        where.append(Payment.method == method)
    if state:
        where.append(Payment.state == state)
    stmt = (select(Payment.id, Payment.received_on, Payment.amount, Payment.currency, Payment.method, Payment.state,
                   Payment.variable_symbol, Payment.specific_symbol, Payment.constant_symbol, Payment.counter_account,
                   Payment.counter_name, Payment.message, Payment.customer_id, Customer.number,
                   Customer.display_name, Payment.target)
            .outerjoin(Customer, Customer.id == Payment.customer_id)
            .where(*where).order_by(Payment.received_on, Payment.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [JournalRow(*row) for row in session.execute(stmt)]

    def grouped(column: Any) -> dict[str, tuple[int, Decimal]]:
        query = (select(column, func.count(Payment.id), _money(func.sum(Payment.amount)))
                 .where(*where).group_by(column).order_by(column))
        return {key: (n, _dec(total)) for key, n, total in session.execute(query)}

    by_state, by_method = grouped(Payment.state), grouped(Payment.method)
    return Journal(date_from, date_to, rows, sum(n for n, _t in by_state.values()),
                   sum((t for _n, t in by_state.values()), ZERO), by_state, by_method)
