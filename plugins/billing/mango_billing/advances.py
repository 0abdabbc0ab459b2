"""Advance invoices (zálohové faktury), the tax documents of payments on them, and the final invoice.

An **advance invoice** (kind ``advance``, series ``ZF``) asks the customer to pay before the supply.
It is a payment request, not a tax document (no DUZP, no VAT recapitulation as a tax document) and
not a receivable: it has **no ledger entry**, so it never counts in the balance, in open items or in
dunning. It has its own variable symbol (the digits of its number, e.g. ``ZF2026000007`` →
``2026000007``; another one when that is taken), so its payments can be told from the customer's
other money. Its state lives in :class:`~mango_billing.models.Advance` (``open`` → ``paid`` →
``settled``, or ``open`` → ``cancelled``); the document itself stays as issued.

**Ledger treatment.** Money received on an advance goes to the customer's ledger account
``advance`` (like account 324 *přijaté zálohy*), not to ``receivable``: it is held for that supply
and cannot be taken by older debts (the receivable account's FIFO). The **final invoice**
(vyúčtování, an ordinary ``invoice``) carries the supply and, as negative ``deduction`` lines, the
advance's taxed payments per VAT rate; its receivable entry is ``−total`` as for every invoice
(``total`` = supply − deduction = what is still due, negative when the advance was larger — then it
is credit). In the same transaction the money held on the advance leaves the ``advance`` account
(``settlement`` −paid) and whatever of it the final invoice did not deduct (an overpayment of the
advance) is credited to ``receivable`` (``settlement`` +excess). So, per customer, the sum of all
accounts stays payments − supplies, every entry is counted once, and the ``advance`` money of a
settled advance is zero.

**Tax document on a received payment** (kind ``advance_tax``, series ``ZD``; daňový doklad k přijaté
platbě): a VAT payer owes the VAT on the day a payment is received before the supply (§ 21 (1) of
Act 235/2004 Coll. on VAT) and documents it with a tax document (§ 28, with the particulars of
§ 29; within 15 days). One is issued per payment received on an advance, for the part of the
payment that the advance still had open: DUZP = the day the payment was received; the amount is
split over the advance's VAT rates in proportion to the advance's gross per rate (the last payment
takes exactly what is left of each rate); the VAT of a part is computed from the amount with VAT
(``part × rate / (100 + rate)``, § 37 (2)), ROUND_HALF_UP to 0.01. It has no ledger entry (the
payment has one) and nothing to pay. A location that is not a VAT payer issues none.

The final invoice deducts, per rate, exactly the bases and VAT of the advance's tax documents (for a
non-VAT payer: the paid part of the advance, at 0 %); its VAT per rate is computed from its net base
per rate like every document's (§ 37), so the VAT of a supply is its tax documents' plus the final
invoice's.

Every operation is idempotent: ``issue_advance`` with a ``source`` key returns the advance issued
for it before; a payment is applied to an advance once (unique payment in ``billing_advance_payment``);
``settle`` returns the existing final invoice; ``cancel`` of a cancelled advance does nothing. All
work happens in the caller's transaction and location scope.

Not handled yet: a storno (reversal) of a payment already applied to an advance lowers what is paid
and reopens the advance, but its tax document is not corrected automatically.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_billing import ledger
from mango_billing.invoices import (
    InvoiceError,
    buyer_snapshots,
    emit_issued,
    line_vat,
    mark_used,
    seller_snapshot,
    totals_of,
)
from mango_billing.models import (
    Advance,
    AdvancePayment,
    BillingProfile,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    LedgerEntry,
    Payment,
)
from mango_billing.numbering import default_series, lock_numbers, take_numbers
from mango_billing.periods import RatedLine, money
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.tenancy.models import Location

ZERO = Decimal("0.00")
OPEN, PAID, SETTLED, CANCELLED = "open", "paid", "settled", "cancelled"
ACCOUNT = "advance"  # the ledger account of money received on advances
# a payment's method as a document prints it
DOCUMENT_METHOD = {"bank": "bank_transfer", "cash": "cash", "card": "card"}


class AdvanceError(InvoiceError):
    """An advance operation that cannot be done; the message says why (shown to people)."""


# --- reading ---------------------------------------------------------------------------------------


def of_invoice(session: Session, invoice: Invoice) -> Advance | None:
    """The advance record of an advance invoice, of its tax document, or of its final invoice."""
    if invoice.kind == "advance":
        return session.scalar(select(Advance).where(Advance.invoice_id == invoice.id))
    if invoice.kind == "advance_tax":
        return session.scalar(select(Advance).join(AdvancePayment, AdvancePayment.advance_id == Advance.id)
                              .where(AdvancePayment.tax_document_id == invoice.id))
    if invoice.kind == "invoice":
        return session.scalar(select(Advance).where(Advance.final_invoice_id == invoice.id))
    return None


def get(session: Session, advance_id: int) -> Advance | None:
    return session.scalar(select(Advance).where(Advance.id == advance_id))


def by_source(session: Session, source: str) -> Advance | None:
    return session.scalar(select(Advance).where(Advance.source == source))


def tax_documents(session: Session, advance: Advance) -> list[Invoice]:
    return list(session.scalars(select(Invoice).join(AdvancePayment, AdvancePayment.tax_document_id == Invoice.id)
                                .where(AdvancePayment.advance_id == advance.id).order_by(Invoice.id)))


def payments(session: Session, advance: Advance) -> list[tuple[AdvancePayment, Payment]]:
    rows = session.execute(select(AdvancePayment, Payment).join(Payment, Payment.id == AdvancePayment.payment_id)
                           .where(AdvancePayment.advance_id == advance.id).order_by(AdvancePayment.id))
    return [(link, payment) for link, payment in rows]


def unpaid(advance: Advance) -> Decimal:
    """What the customer should still pay on the advance (0 once settled or cancelled)."""
    if advance.state in (SETTLED, CANCELLED):
        return ZERO
    return max(ZERO, advance.invoice.total - advance.paid)


def held(session: Session, customer_id: int) -> Decimal:
    """Money of the customer received on advances and not settled yet (the ``advance`` account)."""
    return ledger.balance(session, customer_id, ACCOUNT)


@dataclass
class AdvanceView:
    """What the screens show about an advance (built by :func:`view`)."""

    advance: Advance
    document: Invoice
    unpaid: Decimal
    tax_documents: list[Invoice] = field(default_factory=list)
    final: Invoice | None = None


def view(session: Session, invoice: Invoice) -> AdvanceView | None:
    """The advance behind ``invoice`` (an advance, its tax document or its final invoice), for display."""
    advance = of_invoice(session, invoice)
    if advance is None:
        return None
    document = advance.invoice
    final = session.get(Invoice, advance.final_invoice_id) if advance.final_invoice_id else None
    return AdvanceView(advance, document, unpaid(advance), tax_documents(session, advance), final)


# --- issuing the advance -----------------------------------------------------------------------------


def _symbol_taken(session: Session, symbol: str) -> bool:
    checks = (select(Customer.id).where(Customer.variable_symbol == symbol),
              select(BillingProfile.id).where(BillingProfile.prepaid_symbol == symbol),
              select(Invoice.id).where((Invoice.variable_symbol == symbol) | (Invoice.number == symbol)))
    return any(session.scalar(stmt.limit(1)) is not None for stmt in checks)


def advance_symbol(session: Session, number: str, year: int, sequence: int) -> str:
    """The advance's own variable symbol: the digits of its number, else ``9|8|…`` + year + sequence.

    It must not be any customer's, uniCredit's or other document's symbol, or the payment import
    would book the money elsewhere (the customer's symbol wins there).
    """
    digits = "".join(ch for ch in number if ch.isdigit()).lstrip("0")
    candidates = [digits] if 0 < len(digits) <= 10 else []
    candidates += [f"{lead}{year % 100:02d}{sequence:07d}" for lead in "987654321"]
    for candidate in candidates:
        if not _symbol_taken(session, candidate):
            return candidate
    raise AdvanceError(f"no free variable symbol for advance invoice {number}")  # pragma: no cover


def _lines_of(lines: Sequence[RatedLine]) -> list[RatedLine]:
    out = [line for line in lines if line.amount != 0]
    if not out:
        raise AdvanceError("an advance invoice needs at least one line with an amount")
    for line in out:
        if not isinstance(line.amount, Decimal) or line.amount != money(line.amount):
            raise AdvanceError(f"line {line.description!r}: the amount is a Decimal with at most 2 decimals")
    return out


def _line_rows(invoice_id: int, lines: Sequence[RatedLine], vat_payer: bool, start: int = 1) -> list[InvoiceLine]:
    rows = []
    for position, line in enumerate(lines, start=start):
        rate = line.vat_rate if vat_payer else ZERO
        vat = line_vat(line.amount, rate) if vat_payer else ZERO
        quantity = line.quantity or Decimal("1")
        rows.append(InvoiceLine(invoice_id=invoice_id, position=position, kind=line.kind, service_id=line.service_id,
                                product_id=line.product_id, description=line.description[:300],
                                period_from=line.period_from, period_to=line.period_to, quantity=quantity,
                                unit=line.unit[:20], unit_price=(line.amount / quantity).quantize(Decimal("0.0001")),
                                vat_rate=rate, base=line.amount, vat=vat, total=line.amount + vat))
    return rows


def _check_seller(location: Location) -> None:
    if location.vat_payer and not (location.dic or "").strip():
        raise AdvanceError("the location is a VAT payer without a DIČ: its tax documents cannot be issued")


def _buyer(session: Session, customer_id: int) -> tuple[dict[str, Any], str]:
    buyer = dict(buyer_snapshots(session, [customer_id]).get(customer_id) or {})
    if not buyer:
        raise AdvanceError(f"customer #{customer_id} does not exist in this location")
    vs = buyer.pop("variable_symbol", "") or str(customer_id)
    return buyer, vs


def _new_document(session: Session, location: Location, series: InvoiceSeries, issued_on: date, **values: Any
                  ) -> Invoice:
    (seq, number), = take_numbers(session, series, issued_on.year, 1)
    document = Invoice(series_id=series.id, year=issued_on.year, sequence=seq, number=number, issued_on=issued_on,
                       currency=location.currency or "CZK", vat_payer=bool(location.vat_payer), rounding=ZERO,
                       uuid=str(uuidlib.uuid4()), **values)
    return document


def issue_advance(session: Session, location: Location, customer_id: int, lines: Sequence[RatedLine], *,
                  source: str | None = None, issued_on: date | None = None, due_days: int = 14,
                  actor_id: int | None = None) -> Advance:
    """Issue an advance invoice of ``lines`` (bases without VAT) to the customer; returns its record.

    With ``source`` (the caller's key, e.g. ``print:order:12``) a repeated call returns the advance
    issued the first time and issues nothing.
    """
    series = default_series(session, "advance")
    issued_on = issued_on or date.today()
    # one issuer of the series at a time from here on: the source check below sees committed work
    lock_numbers(session, series, issued_on.year)
    if source is not None:
        source = source.strip()[:80]
        existing = by_source(session, source)
        if existing is not None:
            return existing
    if not 0 <= due_days <= 365:
        raise AdvanceError("the advance's due days must be between 0 and 365")
    _check_seller(location)
    items = _lines_of(lines)
    vat_payer = bool(location.vat_payer)
    totals = totals_of(items, vat_payer)
    if totals["total"] <= 0:
        raise AdvanceError("an advance invoice asks for a positive amount")
    buyer, _customer_vs = _buyer(session, customer_id)
    document = _new_document(session, location, series, issued_on, kind="advance", customer_id=customer_id,
                             taxable_supply_date=None, due_date=issued_on + timedelta(days=due_days),
                             variable_symbol="0", payment_method="bank_transfer",
                             seller=seller_snapshot(session, location), buyer=buyer, total_base=totals["base"],
                             total_vat=totals["vat"], total=totals["total"], created_by_id=actor_id)
    document.variable_symbol = advance_symbol(session, document.number, issued_on.year, document.sequence)
    session.add(document)
    session.flush()
    session.add_all(_line_rows(document.id, items, vat_payer))
    advance = Advance(invoice_id=document.id, customer_id=customer_id, source=source, state=OPEN, paid=ZERO)
    session.add(advance)
    session.flush()
    emit_issued(session, location.id, [document.id])
    return advance


def cancel(session: Session, advance: Advance, *, reason: str = "", actor_id: int | None = None) -> Advance:
    """Cancel an advance nobody has paid: its number stays used, the document stays as issued."""
    if advance.state == CANCELLED:
        return advance
    if advance.state != OPEN or advance.paid != 0 or session.scalar(
            select(AdvancePayment.id).where(AdvancePayment.advance_id == advance.id).limit(1)) is not None:
        raise AdvanceError("only an advance with no payment can be cancelled")
    advance.state = CANCELLED
    advance.cancelled_at = utcnow()
    advance.cancelled_by_id = actor_id
    advance.cancel_reason = (reason or "").strip()[:2000] or None
    session.flush()
    return advance


# --- payments ----------------------------------------------------------------------------------------


def open_symbols(session: Session, symbols: Sequence[str]) -> list[tuple[str, int]]:
    """(variable symbol, customer id) of open or paid advances among ``symbols`` (for the matching)."""
    if not symbols:
        return []
    rows = session.execute(
        select(Invoice.variable_symbol, Invoice.customer_id).join(Advance, Advance.invoice_id == Invoice.id)
        .where(Invoice.kind == "advance", Invoice.variable_symbol.in_(list(symbols)), Advance.state.in_((OPEN, PAID))))
    return [(vs, cid) for vs, cid in rows]


def _for_symbol(session: Session, customer_id: int, symbol: str | None) -> Advance | None:
    from mango_billing.payments.matching import norm

    key = norm(symbol)
    if key is None:
        return None
    return session.scalar(select(Advance).join(Invoice, Invoice.id == Advance.invoice_id)
                          .where(Invoice.kind == "advance", Invoice.variable_symbol == key,
                                 Advance.customer_id == customer_id, Advance.state.in_((OPEN, PAID))))


def target_for(session: Session, customer_id: int, symbol: str | None) -> str | None:
    """``"advance"`` when ``symbol`` is an open advance's of the customer (manual payments, pairing)."""
    return ACCOUNT if _for_symbol(session, customer_id, symbol) is not None else None


def any_open(session: Session) -> bool:
    return session.scalar(select(Advance.id).where(Advance.state.in_((OPEN, PAID))).limit(1)) is not None


def apply_payments(session: Session, payment_ids: Iterable[int], *, issued_on: date | None = None) -> list[int]:
    """Apply matched payments booked to the ``advance`` account to their advances; returns the tax
    documents issued. Payments applied before are skipped (a re-run issues nothing)."""
    ids = sorted(set(payment_ids))
    if not ids or not any_open(session) or not session.scalar(select(func.count()).select_from(Payment).where(
            Payment.target == ACCOUNT, Payment.id.between(ids[0], ids[-1]))):
        return []
    wanted = set(ids)
    done = select(AdvancePayment.payment_id)
    candidates = [p for p in session.scalars(
        select(Payment).where(Payment.target == ACCOUNT, Payment.state == "matched",
                              Payment.id.between(ids[0], ids[-1]), Payment.id.not_in(done)).order_by(Payment.id))
        if p.id in wanted]
    issued: list[int] = []
    for payment in candidates:
        tax_id = apply_payment(session, payment, issued_on=issued_on)
        if tax_id is not None:
            issued.append(tax_id)
    if issued:
        from mango_core.tenancy.context import current_scope

        emit_issued(session, current_scope().write_location_id, issued)
    return issued


def _original_advance(session: Session, payment: Payment) -> Advance | None:
    """The advance of the payment a storno cancels (the importer names it in its ledger note)."""
    from mango_billing.payments.models import PaymentEvent

    detail = session.scalar(select(PaymentEvent.detail).where(PaymentEvent.payment_id == payment.id,
                                                              PaymentEvent.action == "reversed").limit(1))
    if not detail or "#" not in detail:
        return None
    try:
        original_id = int(detail.rsplit("#", 1)[1])
    except ValueError:
        return None
    return session.scalar(select(Advance).join(AdvancePayment, AdvancePayment.advance_id == Advance.id)
                          .where(AdvancePayment.payment_id == original_id))


def apply_payment(session: Session, payment: Payment, *, issued_on: date | None = None) -> int | None:
    """Record ``payment`` (matched, target ``advance``) on its advance; the tax document's id or None."""
    if payment.reversal:
        advance = _original_advance(session, payment)
    else:
        advance = _for_symbol(session, payment.customer_id, payment.variable_symbol)
    if advance is None:
        raise AdvanceError(f"payment #{payment.id} is booked to an advance, but no open advance of its customer "
                           f"has the variable symbol {payment.variable_symbol!r}")
    document = advance.invoice
    amount = Decimal(payment.amount)
    taxed_before = Decimal(session.scalar(select(func.coalesce(func.sum(AdvancePayment.taxed), 0))
                                          .where(AdvancePayment.advance_id == advance.id)) or 0)
    taxed = min(amount, document.total - taxed_before) if amount > 0 else ZERO
    taxed = max(taxed, ZERO)
    link = AdvancePayment(advance_id=advance.id, payment_id=payment.id, amount=amount, taxed=taxed)
    session.add(link)
    tax_id = None
    if taxed > 0 and document.vat_payer:
        location = session.get(Location, document.location_id)
        tax = _tax_document(session, location, advance, document, payment, taxed, taxed_before, issued_on)
        link.tax_document_id = tax_id = tax.id
    advance.paid = Decimal(advance.paid) + amount
    if advance.state == OPEN and advance.paid >= document.total:
        advance.state, advance.paid_on = PAID, payment.received_on
    elif advance.state == PAID and advance.paid < document.total:
        advance.state, advance.paid_on = OPEN, None
    session.flush()
    return tax_id


def rate_grosses(document: Invoice) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """(base, VAT) per rate of a document, VAT per rate from the summed bases (§ 37)."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in document.lines:
        bases[Decimal(line.vat_rate)] += line.base
    return {rate: (base, money(base * rate / 100) if document.vat_payer else ZERO) for rate, base in bases.items()}


def taxed_per_rate(session: Session, advance: Advance) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """(base, VAT) per rate on the advance's tax documents so far."""
    rows = session.execute(
        select(InvoiceLine.vat_rate, func.sum(InvoiceLine.base), func.sum(InvoiceLine.vat))
        .join(AdvancePayment, AdvancePayment.tax_document_id == InvoiceLine.invoice_id)
        .where(AdvancePayment.advance_id == advance.id).group_by(InvoiceLine.vat_rate))
    return {Decimal(rate): (Decimal(base or 0), Decimal(vat or 0)) for rate, base, vat in rows}


def _split(grosses: dict[Decimal, tuple[Decimal, Decimal]], done: dict[Decimal, tuple[Decimal, Decimal]],
           part: Decimal, last: bool) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, base, VAT) of ``part`` of the advance: the rest of each rate when ``last``, else in
    proportion to the gross per rate (the largest rate takes the rounding)."""
    rates = sorted(grosses, reverse=True)
    if last:
        out = []
        for rate in rates:
            base = grosses[rate][0] - done.get(rate, (ZERO, ZERO))[0]
            vat = grosses[rate][1] - done.get(rate, (ZERO, ZERO))[1]
            if base or vat:
                out.append((rate, base, vat))
        return out
    gross = {rate: grosses[rate][0] + grosses[rate][1] for rate in rates}
    left = {rate: gross[rate] - sum(done.get(rate, (ZERO, ZERO))) for rate in rates}
    total = sum(gross.values(), ZERO)
    shares: dict[Decimal, Decimal] = {}
    for rate in rates[1:]:
        shares[rate] = min(left[rate], money(part * gross[rate] / total))
    shares[rates[0]] = part - sum(shares.values(), ZERO)
    out = []
    for rate in rates:
        share = shares[rate]
        if share:
            vat = money(share * rate / (100 + rate))
            out.append((rate, share - vat, vat))
    return out


def _tax_document(session: Session, location: Location, advance: Advance, document: Invoice, payment: Payment,
                  taxed: Decimal, taxed_before: Decimal, issued_on: date | None) -> Invoice:
    _check_seller(location)
    issued_on = issued_on or max(date.today(), payment.received_on)
    series = default_series(session, "advance_tax")
    last = taxed_before + taxed == document.total
    parts = _split(rate_grosses(document), taxed_per_rate(session, advance), taxed, last)
    base = sum((p[1] for p in parts), ZERO)
    vat = sum((p[2] for p in parts), ZERO)
    tax = _new_document(session, location, series, issued_on, kind="advance_tax", customer_id=document.customer_id,
                        original_id=document.id, taxable_supply_date=payment.received_on, due_date=issued_on,
                        variable_symbol=document.variable_symbol,
                        payment_method=DOCUMENT_METHOD.get(payment.method, "bank_transfer"),
                        seller=seller_snapshot(session, location), buyer=dict(document.buyer), total_base=base,
                        total_vat=vat, total=base + vat, created_by_id=payment.matched_by_id)
    session.add(tax)
    session.flush()
    received = payment.received_on.strftime("%d.%m.%Y")
    for position, (rate, part_base, part_vat) in enumerate(parts, start=1):
        session.add(InvoiceLine(invoice_id=tax.id, position=position, kind="advance",
                                description=f"Přijatá platba ze dne {received} k zálohové faktuře {document.number}",
                                quantity=Decimal("1"), unit="", unit_price=part_base, vat_rate=rate, base=part_base,
                                vat=part_vat, total=part_base + part_vat))
    session.flush()
    return tax


# --- the final invoice ------------------------------------------------------------------------------


def advance_lines(document: Invoice) -> list[RatedLine]:
    """The advance's own lines as the supply of its final invoice (when the caller gives none)."""
    return [RatedLine(kind="one_off", description=line.description, amount=line.base, vat_rate=line.vat_rate,
                      customer_id=document.customer_id, service_id=line.service_id, product_id=line.product_id,
                      period_from=line.period_from, period_to=line.period_to, quantity=line.quantity,
                      unit=line.unit) for line in document.lines]


def settle(session: Session, advance: Advance, *, lines: Sequence[RatedLine] | None = None,
           issued_on: date | None = None, taxable_supply_date: date | None = None, due_days: int = 14,
           actor_id: int | None = None) -> Invoice:
    """Issue the final invoice of the supply (``lines``, else the advance's) deducting the paid advance.

    Returns the final invoice; a repeated call returns the one issued before.
    """
    if advance.final_invoice_id is not None:
        return session.get(Invoice, advance.final_invoice_id)
    if advance.state == CANCELLED:
        raise AdvanceError("a cancelled advance has no final invoice")
    document = advance.invoice
    location = session.get(Location, document.location_id)
    _check_seller(location)
    if not 0 <= due_days <= 365:
        raise AdvanceError("the due days must be between 0 and 365")
    series = default_series(session, "invoice")
    issued_on = issued_on or date.today()
    lock_numbers(session, series, issued_on.year)
    session.refresh(advance)  # what another transaction did before the lock
    if advance.final_invoice_id is not None:
        return session.get(Invoice, advance.final_invoice_id)
    supply = _lines_of(lines if lines is not None else advance_lines(document))
    vat_payer = bool(location.vat_payer)
    paid = Decimal(advance.paid)
    # what is deducted per rate: the tax documents' (base, VAT); a non-payer deducts the paid part at 0 %
    if vat_payer:
        deducted = {rate: bv for rate, bv in taxed_per_rate(session, advance).items() if bv != (ZERO, ZERO)}
    else:
        part = min(max(paid, ZERO), document.total)
        deducted = {ZERO: (part, ZERO)} if part else {}
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in supply:
        bases[line.vat_rate if vat_payer else ZERO] += line.amount
    for rate, (base, _vat) in deducted.items():
        bases[rate] -= base
    total_base = sum(bases.values(), ZERO)
    total_vat = sum((money(base * rate / 100) for rate, base in bases.items()), ZERO) if vat_payer else ZERO
    total = total_base + total_vat
    taxes = tax_documents(session, advance)
    buyer, customer_vs = _buyer(session, document.customer_id)
    final = _new_document(session, location, series, issued_on, kind="invoice", customer_id=document.customer_id,
                          taxable_supply_date=taxable_supply_date or issued_on,
                          due_date=issued_on + timedelta(days=due_days), variable_symbol=customer_vs,
                          payment_method="bank_transfer", seller=seller_snapshot(session, location), buyer=buyer,
                          total_base=total_base, total_vat=total_vat, total=total, created_by_id=actor_id)
    session.add(final)
    session.flush()
    rows = _line_rows(final.id, supply, vat_payer)
    which = ", ".join(t.number for t in taxes)
    text = f"Odpočet zálohy {document.number}" + (f" (daňové doklady {which})" if which else "")
    for position, (rate, (base, vat)) in enumerate(sorted(deducted.items(), reverse=True), start=len(rows) + 1):
        rows.append(InvoiceLine(invoice_id=final.id, position=position, kind="deduction", description=text[:300],
                                quantity=Decimal("1"), unit="", unit_price=-base, vat_rate=rate, base=-base,
                                vat=-vat, total=-(base + vat)))
    session.add_all(rows)
    deduction = sum((base + vat for base, vat in deducted.values()), ZERO)
    on = issued_on
    ledger.post(session, customer_id=document.customer_id, kind="invoice", amount=-total, booked_on=on,
                invoice_id=final.id, note=final.number, actor_id=actor_id)
    if paid:
        ledger.post(session, customer_id=document.customer_id, account=ACCOUNT, kind="settlement", amount=-paid,
                    booked_on=on, invoice_id=final.id, note=document.number, actor_id=actor_id)
    if paid - deduction:
        ledger.post(session, customer_id=document.customer_id, kind="settlement", amount=paid - deduction,
                    booked_on=on, invoice_id=final.id, note=document.number, actor_id=actor_id)
    charges = {line.charge_id: final.id for line in supply if line.charge_id is not None}
    if charges:
        mark_used(session, charges, {})
    advance.state = SETTLED
    advance.final_invoice_id = final.id
    session.flush()
    emit_issued(session, location.id, [final.id])
    return final


def customer_advances(session: Session, customer_id: int) -> list[Advance]:
    return list(session.scalars(select(Advance).where(Advance.customer_id == customer_id)
                                .order_by(Advance.id.desc())))


def ledger_of(session: Session, advance: Advance) -> list[LedgerEntry]:
    """The ``advance`` account entries of the advance's payments and of its settlement."""
    payment_ids = select(AdvancePayment.payment_id).where(AdvancePayment.advance_id == advance.id)
    cond = LedgerEntry.payment_id.in_(payment_ids)
    if advance.final_invoice_id is not None:
        cond = cond | (LedgerEntry.invoice_id == advance.final_invoice_id)
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.account == ACCOUNT, cond)
                                .order_by(LedgerEntry.id)))
