"""Issuing documents: invoices of a billing run, credit notes, and their printable form.

Amounts (documented rounding points, the same as :mod:`mango_billing.outputs.document`):

* a line's base is already rounded to 0.01 (rating, or quantity × unit price ROUND_HALF_UP);
* a line's VAT = base × rate / 100, ROUND_HALF_UP to 0.01 (printed for information);
* the VAT of a rate = the sum of that rate's bases × rate / 100, ROUND_HALF_UP to 0.01 (§ 37);
* ``total`` = Σ bases + Σ VAT per rate; no cash rounding (payments are by transfer: ``rounding`` 0).

A location that is not a VAT payer issues documents without VAT (every rate 0). The ledger gets one
entry per document of ``−total`` (an invoice makes the customer owe; a credit note, whose total is
negative, gives back). Everything of one batch — numbers, invoices, lines, ledger entries, charges
and usage marked as invoiced — is written in the caller's transaction: all or nothing.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Integer, any_, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from mango_billing import ledger
from mango_billing.models import Charge, Invoice, InvoiceLine, InvoiceSeries, LedgerEntry, UsageRecord
from mango_billing.numbering import default_series, take_numbers
from mango_billing.outputs.document import DocumentLine, InvoiceDocument, Party, StatementRow, vat_summary
from mango_billing.periods import RatedLine, money
from mango_core.customers.models import BILLING, PERMANENT, Customer, CustomerAddress
from mango_core.db import utcnow
from mango_core.db.bulk import allocate_ids, bulk_insert, on_postgres
from mango_core.tenancy.models import BankAccount, Location

ZERO = Decimal("0.00")
# the document layer knows fewer payment methods than a plan; map the rest to what is printed
DOCUMENT_METHODS = {"standing_order": "bank_transfer", "prepaid": "credit"}


class InvoiceError(ValueError):
    """A document that cannot be issued (with what was wrong, and where)."""


@dataclass
class Draft:
    """An invoice computed but not issued yet (a preview shows these)."""

    customer_id: int
    variable_symbol: str
    buyer: dict[str, Any]
    lines: list[RatedLine]
    taxable_supply_date: date
    due_days: int = 14
    payment_method: str = "bank_transfer"
    period_from: date | None = None
    period_to: date | None = None
    totals: dict[str, Any] = field(default_factory=dict)


def line_vat(base: Decimal, rate: Decimal) -> Decimal:
    return money(base * rate / 100)


def totals_of(lines: Sequence[RatedLine], vat_payer: bool) -> dict[str, Any]:
    """Base, VAT and total (and the VAT rows) of lines, following the module's rounding points."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        bases[line.vat_rate if vat_payer else ZERO] += line.amount
    rows = []
    for rate in sorted(bases, reverse=True):
        vat = money(bases[rate] * rate / 100) if vat_payer else ZERO
        rows.append((rate, bases[rate], vat))
    base = sum((r[1] for r in rows), ZERO)
    vat = sum((r[2] for r in rows), ZERO)
    return {"rows": rows, "base": base, "vat": vat, "total": base + vat}


# --- snapshots (§ 29: the parties as they were on the day of issue) --------------------------------


def seller_snapshot(session: Session, location: Location) -> dict[str, Any]:
    account = session.scalar(select(BankAccount).order_by(BankAccount.is_default.desc(), BankAccount.id).limit(1))
    return {
        "name": location.company_name or location.name, "street": location.street or "", "city": location.city or "",
        "postal_code": location.postal_code or "", "country": location.country or "CZ", "ico": location.ico or "",
        "dic": location.dic or "", "vat_payer": bool(location.vat_payer), "email": location.email or "",
        "phone": location.phone or "", "bank_account": (account.account_number or "") if account else "",
        "iban": account.iban if account else "", "bic": (account.bic or "") if account else "",
    }


def buyer_snapshots(session: Session, customer_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Buyers of many customers in two queries (the billing address, else the permanent one)."""
    if not customer_ids:
        return {}
    out: dict[int, dict[str, Any]] = {}
    rows = session.execute(select(Customer.id, Customer.display_name, Customer.number, Customer.ico, Customer.dic,
                                  Customer.variable_symbol).where(in_ids(session, Customer.id, customer_ids)))
    for cid, name, number, ico, dic, vs in rows:
        out[cid] = {"name": name, "customer_number": str(number), "ico": ico or "", "dic": dic or "",
                    "variable_symbol": vs, "street": "", "city": "", "postal_code": "", "country": "CZ"}
    addresses = session.execute(
        select(CustomerAddress.customer_id, CustomerAddress.kind, CustomerAddress.street, CustomerAddress.city,
               CustomerAddress.postal_code, CustomerAddress.country)
        .where(in_ids(session, CustomerAddress.customer_id, customer_ids),
               CustomerAddress.kind.in_((BILLING, PERMANENT)))
        .order_by(CustomerAddress.id))
    chosen: dict[int, str] = {}
    for cid, kind, street, city, postal_code, country in addresses:
        if cid in out and (cid not in chosen or (kind == BILLING and chosen[cid] != BILLING)):
            chosen[cid] = kind
            out[cid].update(street=street or "", city=city or "", postal_code=postal_code or "",
                            country=country or "CZ")
    return out


# --- issuing -----------------------------------------------------------------------------------------


def emit_issued(session: Session, location_id: int, invoice_ids: list[int]) -> None:
    """The core event ``mango_invoices_issued`` (once per batch, in the issuing transaction)."""
    if invoice_ids and has_app_context() and "mango" in current_app.extensions:
        current_app.extensions["mango"].plugins.emit("mango_invoices_issued", location_id=location_id,
                                                     session=session, invoice_ids=list(invoice_ids))


def issue_drafts(session: Session, location: Location, drafts: Sequence[Draft], *, issued_on: date,
                 run_id: int | None = None, actor_id: int | None = None, seller: dict[str, Any] | None = None,
                 series: InvoiceSeries | None = None) -> list[int]:
    """Issue invoices from drafts in one statement per table; returns their ids in draft order.

    The numbers are taken first (their counter row stays locked until the caller commits), then the
    invoice ids are allocated in one query, so that invoices, lines and ledger entries go in as plain
    bulk INSERTs without RETURNING (see :func:`bulk_insert`).
    """
    drafts = [d for d in drafts if d.lines]
    if not drafts:
        return []
    vat_payer = bool(location.vat_payer)
    seller = seller or seller_snapshot(session, location)
    series = series or default_series(session, "invoice")
    numbers = take_numbers(session, series, issued_on.year, len(drafts))
    ids = allocate_ids(session, Invoice, len(drafts))
    loc = location.id
    now = utcnow()
    inv: dict[str, list[Any]] = {name: [] for name in INVOICE_COLUMNS}
    lines: dict[str, list[Any]] = {name: [] for name in LINE_COLUMNS}
    entries: dict[str, list[Any]] = {name: [] for name in LEDGER_COLUMNS}
    charge_map: dict[int, int] = {}
    usage_map: dict[int, int] = {}
    due_dates: dict[int, date] = {}
    one = Decimal("1")
    for invoice_id, draft, (seq, number) in zip(ids, drafts, numbers, strict=True):
        totals = draft.totals or totals_of(draft.lines, vat_payer)
        due = due_dates.get(draft.due_days)
        if due is None:
            due = due_dates[draft.due_days] = issued_on + timedelta(days=draft.due_days)
        for name, value in (("id", invoice_id), ("sequence", seq), ("number", number),
                            ("customer_id", draft.customer_id), ("taxable_supply_date", draft.taxable_supply_date),
                            ("due_date", due), ("period_from", draft.period_from), ("period_to", draft.period_to),
                            ("variable_symbol", draft.variable_symbol), ("payment_method", draft.payment_method),
                            ("buyer", draft.buyer), ("total_base", totals["base"]), ("total_vat", totals["vat"]),
                            ("total", totals["total"]), ("uuid", str(uuidlib.uuid4()))):
            inv[name].append(value)
        for position, line in enumerate(draft.lines, start=1):
            rate = line.vat_rate if vat_payer else ZERO
            vat = line_vat(line.amount, rate) if vat_payer else ZERO
            counted = line.kind in ("one_off", "discount")
            unit_price = line.amount / line.quantity if counted else line.amount
            for name, value in (("invoice_id", invoice_id), ("position", position), ("kind", line.kind),
                                ("service_id", line.service_id), ("product_id", line.product_id),
                                ("description", line.description[:300]), ("period_from", line.period_from),
                                ("period_to", line.period_to), ("quantity", line.quantity if counted else one),
                                ("unit", line.unit[:20]), ("unit_price", _unit_price(unit_price)), ("vat_rate", rate),
                                ("base", line.amount), ("vat", vat), ("total", line.amount + vat)):
                lines[name].append(value)
            if line.charge_id is not None:
                charge_map[line.charge_id] = invoice_id
            for usage_id in line.usage_ids:
                usage_map[usage_id] = invoice_id
        for name, value in (("customer_id", draft.customer_id), ("amount", -totals["total"]),
                            ("invoice_id", invoice_id), ("note", number)):
            entries[name].append(value)
    bulk_insert(session, Invoice, inv, {
        "location_id": loc, "kind": "invoice", "series_id": series.id, "year": issued_on.year, "run_id": run_id,
        "issued_on": issued_on, "currency": location.currency or "CZK", "vat_payer": vat_payer, "seller": seller,
        "rounding": ZERO, "created_at": now, "created_by_id": actor_id})
    bulk_insert(session, InvoiceLine, lines, {"location_id": loc})
    bulk_insert(session, LedgerEntry, entries, {
        "location_id": loc, "account": "receivable", "kind": "invoice", "booked_on": issued_on, "created_at": now,
        "created_by_id": actor_id})
    mark_used(session, charge_map, usage_map)
    emit_issued(session, loc, ids)
    return ids


INVOICE_COLUMNS = ("id", "sequence", "number", "customer_id", "taxable_supply_date", "due_date", "period_from",
                   "period_to", "variable_symbol", "payment_method", "buyer", "total_base", "total_vat", "total",
                   "uuid")
LINE_COLUMNS = ("invoice_id", "position", "kind", "service_id", "product_id", "description", "period_from",
                "period_to", "quantity", "unit", "unit_price", "vat_rate", "base", "vat", "total")
LEDGER_COLUMNS = ("customer_id", "amount", "invoice_id", "note")


# --- bulk statements that cost the same for 10 rows and for 10,000 -----------------------------------


def in_ids(session: Session, column: Any, ids: Collection[int]) -> Any:
    """``column IN ids`` — on PostgreSQL as ``= ANY(array)``: one parameter instead of thousands.

    (psycopg parses a statement's placeholders on every execution of a long statement; an IN list
    of 2,000 ids made that parsing the largest cost of a billing run.)
    """
    listed = sorted(set(ids))
    if len(listed) > 100 and listed[-1] - listed[0] + 1 == len(listed):
        # a run of consecutive ids (what one import or billing batch takes from the sequence): a
        # range scan of the primary key instead of an index probe per id
        return column.between(listed[0], listed[-1])
    if on_postgres(session):
        return column == any_(bindparam(None, listed, type_=ARRAY(Integer)))
    return column.in_(listed)


def _unit_price(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"))


def mark_used(session: Session, charge_map: dict[int, int], usage_map: dict[int, int]) -> None:
    """Charges and usage records carried by the new invoices point at them.

    PostgreSQL: one ``UPDATE … FROM unnest(ids, invoice ids)`` per table; SQLite: one UPDATE with a
    CASE per 1000 rows. Only rows not invoiced yet are touched.
    """
    postgres = on_postgres(session)
    for model, mapping in ((Charge, charge_map), (UsageRecord, usage_map)):
        items = list(mapping.items())
        size = max(len(items), 1) if postgres else 1000
        for first in range(0, len(items), size):
            chunk = dict(items[first:first + size])
            if postgres:
                pairs = func.unnest(bindparam("ids", list(chunk), type_=ARRAY(Integer)),
                                    bindparam("invoices", list(chunk.values()), type_=ARRAY(Integer))
                                    ).table_valued("id", "invoice_id").render_derived()
                stmt = (update(model).where(model.id == pairs.c.id, model.invoice_id.is_(None))
                        .values(invoice_id=pairs.c.invoice_id))
            else:
                stmt = (update(model).where(model.id.in_(chunk), model.invoice_id.is_(None))
                        .values(invoice_id=case(chunk, value=model.id)))
            done = session.execute(stmt.execution_options(synchronize_session=False)).rowcount
            if done != len(chunk):
                # another run invoiced some of them meanwhile: refuse the whole batch
                raise InvoiceError(f"{len(chunk) - done} charges or usage records were invoiced by someone else "
                                   "in the meantime; run the billing again")


# --- credit notes ------------------------------------------------------------------------------------


def _amount(value: Any, where: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", ".").strip())
    except (InvalidOperation, ValueError):
        raise InvoiceError(f"{where}: {value!r} is not an amount") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvoiceError(f"{where}: the amount to credit must be positive with at most 2 decimals, not {value}")
    return amount


def credited_so_far(session: Session, invoice: Invoice) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """(base, VAT) already credited per VAT rate by earlier credit notes of the invoice (positive)."""
    rows = session.execute(select(InvoiceLine.vat_rate, func.sum(InvoiceLine.base), func.sum(InvoiceLine.vat))
                           .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                           .where(Invoice.original_id == invoice.id, Invoice.kind == "credit_note")
                           .group_by(InvoiceLine.vat_rate))
    return {Decimal(rate): (-Decimal(base or 0), -Decimal(vat or 0)) for rate, base, vat in rows}


def credit_note(session: Session, invoice: Invoice, items: Sequence[dict[str, Any]], reason: str, *,
                issued_on: date | None = None, actor_id: int | None = None) -> Invoice:
    """Issue a credit note (opravný daňový doklad) correcting ``invoice``.

    ``items``: ``{"line_id": id, "amount": base}`` credits part of a line, ``{"vat_rate": r, "amount":
    base}`` an amount of one rate (``description`` optional). Amounts are bases without VAT. The
    credited base of each rate, with earlier credit notes, never exceeds the original's; a rate fully
    credited gets back exactly the VAT it had.
    """
    if invoice.kind != "invoice":
        raise InvoiceError("only an invoice can be corrected by a credit note")
    reason = (reason or "").strip()
    if not reason:
        raise InvoiceError("reason: a credit note states the reason of the correction")
    if len(reason) > 2000:
        raise InvoiceError("reason: at most 2000 characters")
    if not items:
        raise InvoiceError("items: credit at least one line or amount")
    lines_by_id = {line.id: line for line in invoice.lines}
    original: dict[Decimal, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in invoice.lines:
        original[line.vat_rate][0] += line.base
        original[line.vat_rate][1] += line.vat
    wanted: list[tuple[str, Decimal, Decimal]] = []
    per_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for i, item in enumerate(items, start=1):
        where = f"item {i}"
        if not isinstance(item, dict):
            raise InvoiceError(f"{where}: expected a line id or a VAT rate with an amount")
        amount = _amount(item.get("amount"), where)
        if item.get("line_id") not in (None, ""):
            try:
                line = lines_by_id[int(item["line_id"])]
            except (KeyError, TypeError, ValueError):
                raise InvoiceError(f"{where}: line {item['line_id']!r} is not a line of {invoice.number}") from None
            per_line[line.id] += amount
            if per_line[line.id] > line.base:
                raise InvoiceError(f"{where}: {per_line[line.id]} is more than the line's base {line.base}")
            wanted.append((item.get("description") or f"Oprava: {line.description}", line.vat_rate, amount))
        else:
            try:
                rate = Decimal(str(item.get("vat_rate")))
            except (InvalidOperation, ValueError):
                raise InvoiceError(f"{where}: VAT rate {item.get('vat_rate')!r} is not a number") from None
            if rate not in original:
                raise InvoiceError(f"{where}: {invoice.number} has no line with VAT rate {rate} %")
            wanted.append((item.get("description") or f"Oprava dokladu {invoice.number}", rate, amount))
    earlier = credited_so_far(session, invoice)
    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for _text, rate, amount in wanted:
        by_rate[rate] += amount
    vat_for: dict[Decimal, Decimal] = {}
    for rate, amount in by_rate.items():
        done_base, done_vat = earlier.get(rate, (ZERO, ZERO))
        if done_base + amount > original[rate][0]:
            raise InvoiceError(f"VAT rate {rate} %: crediting {amount} would exceed the original base "
                               f"{original[rate][0]} ({done_base} credited already)")
        full = done_base + amount == original[rate][0]
        vat_for[rate] = (original[rate][1] - done_vat) if full else (money(amount * rate / 100) if invoice.vat_payer
                                                                     else ZERO)
    issued_on = issued_on or date.today()
    series = default_series(session, "credit_note")
    (seq, number), = take_numbers(session, series, issued_on.year, 1)
    base_total = sum(by_rate.values(), ZERO)
    vat_total = sum(vat_for.values(), ZERO)
    note = Invoice(kind="credit_note", series_id=series.id, year=issued_on.year, sequence=seq, number=number,
                   customer_id=invoice.customer_id, original_id=invoice.id, reason=reason, issued_on=issued_on,
                   taxable_supply_date=issued_on, due_date=issued_on, period_from=invoice.period_from,
                   period_to=invoice.period_to, variable_symbol=invoice.variable_symbol, currency=invoice.currency,
                   vat_payer=invoice.vat_payer, payment_method=invoice.payment_method, seller=dict(invoice.seller),
                   buyer=dict(invoice.buyer), total_base=-base_total, total_vat=-vat_total, rounding=ZERO,
                   total=-(base_total + vat_total), uuid=str(uuidlib.uuid4()), created_by_id=actor_id)
    session.add(note)
    session.flush()
    # a rate's VAT goes on its last line so that the lines of a rate add up to the rate's VAT
    remaining = dict(vat_for)
    last_of_rate = {rate: max(i for i, w in enumerate(wanted) if w[1] == rate) for rate in by_rate}
    for position, (text, rate, amount) in enumerate(wanted, start=1):
        if position - 1 == last_of_rate[rate]:
            vat = remaining[rate]
        else:
            vat = money(amount * rate / 100) if invoice.vat_payer else ZERO
            remaining[rate] -= vat
        session.add(InvoiceLine(invoice_id=note.id, position=position, kind="correction", description=text[:300],
                                quantity=Decimal("1"), unit="", unit_price=-amount, vat_rate=rate, base=-amount,
                                vat=-vat, total=-(amount + vat)))
    ledger.post(session, customer_id=invoice.customer_id, kind="credit_note", amount=-note.total,
                booked_on=issued_on, invoice_id=note.id, note=number, actor_id=actor_id)
    session.flush()
    emit_issued(session, invoice.location_id, [note.id])
    return note


# --- outputs ---------------------------------------------------------------------------------------


def _party(data: dict[str, Any]) -> Party:
    known = set(Party.__dataclass_fields__)
    values = {k: ("" if v is None else v) for k, v in (data or {}).items() if k in known}
    values.setdefault("name", "?")
    return Party(**values)


def to_document(invoice: Invoice, *, original: Invoice | None = None) -> InvoiceDocument:
    """The issued invoice as the outputs' frozen :class:`InvoiceDocument`.

    A credit note names its original, a tax document of a received payment its advance invoice (both
    ``original_id``); it is read from the invoice's session unless given.
    """
    if original is None and invoice.original_id is not None:
        from sqlalchemy.orm import object_session

        session = object_session(invoice)
        original = session.get(Invoice, invoice.original_id) if session is not None else None
    lines = tuple(DocumentLine(description=ln.description, quantity=ln.quantity, unit=ln.unit,
                               unit_price=ln.unit_price, vat_rate=ln.vat_rate, base=ln.base, vat=ln.vat,
                               total=ln.total) for ln in invoice.lines)
    rows, _b, _v, _t = vat_summary(lines)
    if not invoice.vat_payer:
        rows = ()
    elif invoice.kind in ("credit_note", "advance_tax"):
        # the VAT per rate is the one written on the note (a rate credited in full returns its exact VAT);
        # a tax document of a received payment has VAT computed from the amount with VAT (advances.py)
        from mango_billing.outputs.document import VatRow

        sums: dict[Decimal, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for ln in lines:
            sums[ln.vat_rate][0] += ln.base
            sums[ln.vat_rate][1] += ln.vat
        rows = tuple(VatRow(rate=r, base=b, vat=v, total=b + v)
                     for r, (b, v) in sorted(sums.items(), reverse=True))
    method = DOCUMENT_METHODS.get(invoice.payment_method, invoice.payment_method)
    # the tax document of a received payment documents money already paid: nothing is due on it
    paid_already = invoice.total if invoice.kind == "advance_tax" else ZERO
    return InvoiceDocument(
        kind=invoice.kind, number=invoice.number, series=invoice.series.code if invoice.series else "",
        issued_on=invoice.issued_on,
        taxable_supply_date=invoice.taxable_supply_date if invoice.kind != "advance" else None,
        due_date=invoice.due_date if invoice.kind not in ("credit_note", "advance_tax") else None,
        variable_symbol=invoice.variable_symbol, currency=invoice.currency, seller=_party(invoice.seller),
        buyer=_party(invoice.buyer), lines=lines, vat_rows=rows, total_base=invoice.total_base,
        total_vat=invoice.total_vat, total=invoice.total, rounding=invoice.rounding, paid_already=paid_already,
        amount_due=invoice.total + invoice.rounding - paid_already, payment_method=method,
        original_number=original.number if original else "", original_issued_on=original.issued_on if original else None,
        original_uuid=original.uuid if original else "", reason=invoice.reason or "", uuid=invoice.uuid,
        vat_payer=invoice.vat_payer, statement=_statement(invoice))


def _statement(invoice: Invoice) -> tuple[StatementRow, ...]:
    """The itemised call list (výpis hovorů) of the invoice's calls, printed after the invoice."""
    from sqlalchemy.orm import object_session

    from mango_billing.usage.store import statement_rows

    session = object_session(invoice)
    if session is None or invoice.id is None:
        return ()
    return tuple(StatementRow(occurred_at=row["started_at"], description=row["destination_name"] or "",
                              counterpart=row["destination"], duration_seconds=int(row["seconds"]),
                              amount=row["price"]) for row in statement_rows(session, invoice.id))
