"""SIPO glue: export of the month's prescription changes and import of the paid-payments file.

The file layouts live in :mod:`mango_billing.sipo.codec` (see docs/SIPO.md); this module only
connects them to the database.

- **Prescription** of a customer for a month = the total of the customer's issued invoices whose
  payment method is ``sipo`` and whose billed period starts in that month (credit notes included),
  rounded to whole CZK with ROUND_HALF_UP (SIPO carries whole crowns only). Deriving it from issued
  documents needs no extra state: the export compares the month with the month before and writes
  "new" (nothing before), "change" (another amount) or "cancel" (nothing now).
- The connection number (spojovací číslo) is ``BillingProfile.sipo_number``; customers without a
  valid one are reported, not exported.
- **Import** of a paid-payments file (ZA): each paid line becomes a payment (method ``sipo``,
  ``dedup_key`` ``sipo:<number>:<period>:<code>``, so the same file or an overlapping one never pays
  twice), matched to the customer whose profile has that connection number; an unknown number stays
  unmatched for the pairing screen. Unpaid lines are counted only. The raw file is kept like a bank
  statement (``StatementFile`` format ``sipo``).
- **Rejection protocol** (ZZ): :func:`refused_changes` lists the refused changes with their customers
  and reasons; nothing is stored (the export is derived from invoices: once the cause is fixed, the
  month is exported again).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from mango_billing.models import BillingProfile, Invoice, Payment, StatementFile
from mango_billing.payments.matching import STAMPED, emit_matched, insert_ledger, ledger_rows
from mango_billing.sipo import codec
from mango_billing.sipo.codec import ChangeHeader, ChangeKind, ChangeRecord, SipoError
from mango_core.db import utcnow
from mango_core.tenancy.context import location_scope


@dataclass
class SipoExport:
    changes: bytes
    cover: bytes
    change_file_name: str
    cover_file_name: str
    records: list[ChangeRecord]
    skipped: list[str] = field(default_factory=list)  # customers without a valid connection number


def _month(period: date) -> tuple[date, date]:
    start = date(period.year, period.month, 1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def prescriptions(session: Session, period: date) -> dict[int, int]:
    """Whole-CZK SIPO prescription per customer for the month of ``period`` (module doc)."""
    start, end = _month(period)
    rows = session.execute(select(Invoice.customer_id, func.sum(Invoice.total))
                           .where(Invoice.payment_method == "sipo", Invoice.period_from >= start,
                                  Invoice.period_from < end)
                           .group_by(Invoice.customer_id))
    result = {}
    for customer_id, total in rows:
        amount = int(Decimal(total or 0).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        if amount > 0:
            result[customer_id] = amount
    return result


def export_changes(session: Session, location_id: int, period: date, *, organisation: str, payment_code: str,
                   created: date | None = None, text: str = "") -> SipoExport:
    """The ZM change file and the OP cover for the month of ``period``."""
    with location_scope(location_id):
        start, _end = _month(period)
        previous_month = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
        now, before = prescriptions(session, start), prescriptions(session, previous_month)
        numbers = dict(session.execute(select(BillingProfile.customer_id, BillingProfile.sipo_number)
                                       .where(BillingProfile.sipo_number.is_not(None))).all())
    records: list[ChangeRecord] = []
    skipped: list[str] = []
    for customer_id in sorted(set(now) | set(before)):
        amount, old = now.get(customer_id, 0), before.get(customer_id)
        if amount == (old or 0):
            continue
        number = (numbers.get(customer_id) or "").strip()
        if not codec.connection_number_valid(number):
            skipped.append(f"customer #{customer_id}: no valid SIPO connection number ({number or 'none'})")
            continue
        kind = ChangeKind.NEW if not old else ChangeKind.CANCEL if amount == 0 else ChangeKind.CHANGE
        records.append(ChangeRecord(connection_number=number, organisation=organisation, payment_code=payment_code,
                                    amount=amount, period=start, kind=kind, original_amount=old, text=text))
    if not records:
        raise SipoError(f"no SIPO prescription changes for {start:%m/%Y}: nothing to send"
                        + (f" ({len(skipped)} customers skipped: no valid connection number)" if skipped else ""))
    header = ChangeHeader(organisation=organisation, period=start, created=created or date.today())
    return SipoExport(codec.write_changes(records, header), codec.write_cover(records, header),
                      header.change_file_name, header.cover_file_name, records, skipped)


@dataclass(frozen=True)
class SipoImportSummary:
    new: int
    duplicates: int
    matched: int
    unmatched: int
    unpaid: int
    statement_id: int | None


def import_results(session: Session, location_id: int, data: bytes, filename: str, *,
                   actor_id: int | None = None, encoding: str = "cp1250") -> SipoImportSummary:
    """Book a paid-payments (ZA) file (module doc). SipoError for a bad file, nothing stored."""
    results = codec.parse_results(data, encoding)  # raises SipoError listing every bad line
    sha = hashlib.sha256(bytes(data)).hexdigest()
    with location_scope(location_id):
        known = session.execute(select(StatementFile.id, StatementFile.movements)
                                .where(StatementFile.sha256 == sha)).first()
        if known is not None:
            return SipoImportSummary(0, known.movements, 0, 0, 0, known.id)
        paid = [r for r in results if r.paid]
        keys = [f"sipo:{r.connection_number}:{r.period:%Y-%m}:{r.payment_code}" for r in paid]
        if len(set(keys)) != len(keys):
            raise SipoError("the file pays one connection number, period and payment code twice")
        existing = set(session.scalars(select(Payment.dedup_key).where(Payment.dedup_key.in_(keys)))) if keys else set()
        customers = _customers_by_number(session, {r.connection_number for r in paid})
        stored = StatementFile(format="sipo", filename=(filename or "")[:200], sha256=sha, content=bytes(data),
                               account="SIPO", movements=len(paid), period_from=min((r.period for r in paid),
                                                                                      default=None),
                               period_to=max((r.period for r in paid), default=None), imported_by_id=actor_id)
        session.add(stored)
        session.flush()
        now = utcnow()
        rows = []
        for key, r in zip(keys, paid, strict=True):
            if key in existing:
                continue
            customer_id = customers.get(r.connection_number)
            rows.append({"location_id": location_id, "dedup_key": key, "method": "sipo",
                         "received_on": r.paid_on or r.period, "amount": Decimal(r.amount_paid).quantize(Decimal("0.01")),
                         "currency": "CZK", "variable_symbol": None, "counter_account": None,
                         "counter_name": f"SIPO {r.connection_number}", "message": f"SIPO {r.period:%m/%Y}",
                         "reversal": False, "state": "matched" if customer_id else "unmatched",
                         "customer_id": customer_id, "target": "receivable", "statement_id": stored.id,
                         "raw": r.raw, "created_at": now, "created_by_id": actor_id,
                         "matched_at": now if customer_id else None})
        if rows:
            ids = session.scalars(insert(Payment).execution_options(**STAMPED)
                                  .returning(Payment.id, sort_by_parameter_order=True), rows).all()
            for row, pid in zip(rows, ids, strict=True):
                row["id"] = pid
        booked = [r for r in rows if r["state"] == "matched"]
        insert_ledger(session, ledger_rows(location_id, booked, actor_id))
        stored.new, stored.duplicates = len(rows), len(paid) - len(rows)
        session.flush()
        emit_matched(session, location_id, [r["id"] for r in booked])
    return SipoImportSummary(len(rows), len(paid) - len(rows), len(booked), len(rows) - len(booked),
                             len(results) - len(paid), stored.id)


@dataclass(frozen=True)
class RefusedChange:
    """A change Česká pošta refused: what could be read of it, the customer of its connection number."""

    connection_number: str | None
    customer_id: int | None
    period: date | None
    amount: int | None
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"connection_number": self.connection_number, "customer_id": self.customer_id,
                "period": f"{self.period:%Y-%m}" if self.period else None, "amount": self.amount,
                "reasons": list(self.reasons)}


def _customers_by_number(session: Session, numbers: set[str]) -> dict[str, int]:
    """Connection number → the customer whose billing profile has it (in the current location)."""
    if not numbers:
        return {}
    return dict(session.execute(select(BillingProfile.sipo_number, BillingProfile.customer_id)
                                .where(BillingProfile.sipo_number.in_(numbers))).all())


def refused_changes(session: Session, location_id: int, data: bytes, *, encoding: str = "cp1250") -> list[RefusedChange]:
    """The refused changes of a rejection protocol (ZZ) with the location's customers; SipoError for a bad file."""
    rejections = codec.parse_rejections(data, encoding)  # raises SipoError listing every bad line
    changes = [(r.change, r.reasons) for r in rejections]
    with location_scope(location_id):
        customers = _customers_by_number(session, {c.connection_number for c, _ in changes if c is not None})
    return [RefusedChange(None, None, None, None, reasons) if c is None else
            RefusedChange(c.connection_number, customers.get(c.connection_number), c.period, c.amount, reasons)
            for c, reasons in changes]
