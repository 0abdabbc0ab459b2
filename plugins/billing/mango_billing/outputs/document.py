"""An issued billing document as plain, frozen data: what every output (QR, ISDOC, HTML/PDF) reads.

The invoicing code maps its models to :class:`InvoiceDocument` once; the outputs never touch the
database. Money is :class:`~decimal.Decimal` throughout. Amounts on a document are in the document's
currency, rounded to 0.01 with ROUND_HALF_UP; unit prices may carry more decimals.

Rounding points (documented, used by :meth:`DocumentLine.compute` and :func:`vat_summary`):

* line base = quantity × unit price, rounded to 0.01 (ROUND_HALF_UP);
* VAT per rate = sum of the bases of that rate × rate / 100, rounded to 0.01 (§ 37 of the VAT act:
  the tax is computed from the base per rate, not summed from rounded line amounts);
* a line's own VAT (shown for information) = its base × rate / 100, rounded to 0.01.

:meth:`InvoiceDocument.check` verifies that a document adds up before anything is written from it.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0")
KINDS = ("invoice", "credit_note", "advance", "advance_tax")
PAYMENT_METHODS = ("bank_transfer", "cash", "card", "direct_debit", "sipo", "credit")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# Namespace for the stable UUID of a document that came without one (ISDOC needs a UUID).
_MANGO_NS = uuidlib.uuid5(uuidlib.NAMESPACE_DNS, "mango.invoice")


class DocumentError(ValueError):
    """The document is incomplete or does not add up; ``problems`` lists every finding."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("The document cannot be issued as it is: " + "; ".join(self.problems))


def money(value: Decimal) -> Decimal:
    """Round to 0.01 with ROUND_HALF_UP (the one rounding rule of billing amounts)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, kw_only=True)
class Party:
    """Seller or buyer as printed on the document."""

    name: str
    street: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = "CZ"  # ISO 3166-1 alpha-2
    ico: str = ""
    dic: str = ""
    vat_payer: bool = False
    email: str = ""
    phone: str = ""
    bank_account: str = ""  # Czech form "prefix-number/bank"
    iban: str = ""
    bic: str = ""
    register: str = ""  # e.g. "zapsaná v obchodním rejstříku vedeném Městským soudem v Praze, oddíl C, vložka 1"
    customer_number: str = ""

    @property
    def postal_line(self) -> str:
        """``110 00 Praha 1`` (Czech postal codes are printed as 3 + 2 digits)."""
        code = self.postal_code.replace(" ", "")
        if self.country == "CZ" and len(code) == 5 and code.isdigit():
            code = f"{code[:3]} {code[3:]}"
        return " ".join(p for p in (code, self.city) if p)


@dataclass(frozen=True, kw_only=True)
class DocumentLine:
    """One line: ``base`` = quantity × unit_price (rounded), ``vat`` and ``total`` = base + vat."""

    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal  # without VAT
    vat_rate: Decimal  # percent, e.g. Decimal("21")
    base: Decimal
    vat: Decimal
    total: Decimal
    vat_note: str = ""  # legal reference for an exempt supply (§ 29 (2) a), e.g. "osvobozeno dle § 51"

    @classmethod
    def compute(cls, description: str, quantity: Decimal, unit: str, unit_price: Decimal, vat_rate: Decimal,
                *, vat_note: str = "") -> DocumentLine:
        """A line whose amounts follow the documented rounding points."""
        base = money(quantity * unit_price)
        vat = money(base * vat_rate / 100)
        return cls(description=description, quantity=quantity, unit=unit, unit_price=unit_price,
                   vat_rate=vat_rate, base=base, vat=vat, total=base + vat, vat_note=vat_note)


@dataclass(frozen=True, kw_only=True)
class VatRow:
    """The VAT recapitulation of one rate."""

    rate: Decimal
    base: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True, kw_only=True)
class StatementRow:
    """One itemised usage record for the statement page (a call, an SMS, a data session)."""

    occurred_at: datetime
    description: str
    counterpart: str = ""  # called number, destination
    duration_seconds: int | None = None
    quantity: str = ""  # e.g. "120 MB" for data records
    amount: Decimal = ZERO


@dataclass(frozen=True, kw_only=True)
class InvoiceDocument:
    """An issued document, complete: everything the outputs print or export.

    ``kind``: ``invoice`` (daňový doklad), ``credit_note`` (opravný daňový doklad, with
    ``original_number``/``original_issued_on``/``reason``), ``advance`` (zálohová faktura, not a
    tax document) or ``advance_tax`` (daňový doklad k přijaté platbě: the tax document of a payment
    received on the advance ``original_number``; its DUZP is the day of the payment, and it is paid:
    ``paid_already`` = ``total``). ``vat_payer`` is False when the seller is not a VAT payer: then the document is
    not a tax document and carries no VAT.

    ``amount_due`` = ``total`` + ``rounding`` − ``paid_already``.
    """

    kind: str
    number: str
    series: str = ""
    issued_on: date
    taxable_supply_date: date | None = None  # DUZP
    due_date: date | None = None
    variable_symbol: str = ""
    constant_symbol: str = ""
    specific_symbol: str = ""
    currency: str = "CZK"
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    vat_rows: tuple[VatRow, ...]
    total_base: Decimal
    total_vat: Decimal
    total: Decimal
    rounding: Decimal = ZERO
    amount_due: Decimal
    paid_already: Decimal = ZERO
    payment_method: str = "bank_transfer"
    original_number: str = ""
    original_issued_on: date | None = None
    original_uuid: str = ""
    reason: str = ""
    note: str = ""
    uuid: str = ""
    vat_payer: bool = True
    statement: tuple[StatementRow, ...] = ()
    # CZK for one unit of ``currency``; needed when a VAT payer invoices in another currency, since
    # § 29 (1) l) wants the VAT in Czech crowns too.
    exchange_rate: Decimal | None = None

    # --- derived values -------------------------------------------------------------------

    @property
    def is_tax_document(self) -> bool:
        return self.vat_payer and self.kind != "advance"

    @property
    def document_uuid(self) -> str:
        """The document's UUID; a stable one derived from seller and number when none was given."""
        if self.uuid:
            return str(uuidlib.UUID(self.uuid)).upper()
        return str(uuidlib.uuid5(_MANGO_NS, f"{self.seller.ico}|{self.seller.name}|{self.number}")).upper()

    @property
    def rates(self) -> list[Decimal]:
        return sorted({line.vat_rate for line in self.lines}, reverse=True)

    def vat_rows_in_czk(self) -> list[VatRow]:
        """The VAT recapitulation converted to CZK (for documents in another currency)."""
        if self.currency == "CZK" or self.exchange_rate is None:
            return list(self.vat_rows)
        rate = self.exchange_rate
        rows = []
        for row in self.vat_rows:
            base, vat = money(row.base * rate), money(row.vat * rate)
            rows.append(VatRow(rate=row.rate, base=base, vat=vat, total=base + vat))
        return rows

    # --- consistency ----------------------------------------------------------------------

    def check(self) -> InvoiceDocument:
        """Raise :class:`DocumentError` (a ValueError) listing every inconsistency; return self if none."""
        problems: list[str] = []
        _check_header(self, problems)
        if self.lines:
            _check_amounts(self, problems)
        if problems:
            raise DocumentError(problems)
        return self


def _is_money(value: Any) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _type_problem(name: str, value: Any) -> str | None:
    if isinstance(value, Decimal):
        return None if value.is_finite() else f"{name} must be a finite number, not {value}"
    return f"{name} must be a Decimal, not {type(value).__name__} ({value!r})"


# amounts beyond this are not money but garbage (and quantize() refuses them)
MAX_AMOUNT = Decimal("1e15")


def _two_places(name: str, value: Decimal, problems: list[str]) -> None:
    if abs(value) >= MAX_AMOUNT:
        problems.append(f"{name} {value} is out of range (at most {MAX_AMOUNT:,.0f})")
    elif value != value.quantize(CENT):
        problems.append(f"{name} {value} has more than 2 decimal places (amounts are rounded to 0.01)")


def _check_header(doc: InvoiceDocument, problems: list[str]) -> None:
    if doc.kind not in KINDS:
        problems.append(f"kind {doc.kind!r} is not one of {', '.join(KINDS)}")
    if not (doc.number or "").strip():
        problems.append("the document number is empty")
    if not isinstance(doc.issued_on, date):
        problems.append("the date of issue (issued_on) is missing")
    if not _CURRENCY_RE.match(doc.currency or ""):
        problems.append(f"currency {doc.currency!r} is not a three-letter ISO 4217 code such as CZK")
    if doc.payment_method not in PAYMENT_METHODS:
        problems.append(f"payment method {doc.payment_method!r} is not one of {', '.join(PAYMENT_METHODS)}")
    if not (doc.seller.name or "").strip():
        problems.append("the seller's name is empty")
    if not (doc.buyer.name or "").strip():
        problems.append("the buyer's name is empty")
    if doc.is_tax_document and doc.taxable_supply_date is None:
        problems.append("a tax document needs the date of the taxable supply (DUZP)")
    if doc.is_tax_document and not doc.seller.dic:
        problems.append("a tax document needs the seller's DIČ (§ 29 (1) b of the VAT act)")
    if doc.kind == "credit_note":
        if not (doc.original_number or "").strip():
            problems.append("a credit note needs the number of the document it corrects (original_number)")
        if not (doc.reason or "").strip():
            problems.append("a credit note needs the reason of the correction")
    for name in ("variable_symbol", "constant_symbol", "specific_symbol"):
        value = getattr(doc, name) or ""
        if value and not (value.isascii() and value.isdigit() and len(value) <= 10):
            problems.append(f"{name} {value!r} must be at most 10 digits")
    if doc.uuid:
        try:
            uuidlib.UUID(doc.uuid)
        except (ValueError, AttributeError, TypeError):
            problems.append(f"uuid {doc.uuid!r} is not a UUID")
    if doc.currency != "CZK" and doc.is_tax_document and doc.vat_rows and any(r.vat for r in doc.vat_rows):
        if not _is_money(doc.exchange_rate) or doc.exchange_rate <= 0:
            problems.append(f"a tax document in {doc.currency} needs the exchange rate to CZK "
                            "(the VAT must be stated in Czech crowns, § 29 (1) l)")
    if not doc.lines:
        problems.append("the document has no lines")
    for i, row in enumerate(doc.statement, start=1):
        problem = _type_problem(f"statement row {i}: amount", row.amount)
        if problem:
            problems.append(problem)


def _check_amounts(doc: InvoiceDocument, problems: list[str]) -> None:
    names = {"total_base": doc.total_base, "total_vat": doc.total_vat, "total": doc.total,
             "rounding": doc.rounding, "amount_due": doc.amount_due, "paid_already": doc.paid_already}
    bad = [p for p in (_type_problem(n, v) for n, v in names.items()) if p]
    by_rate: dict[Decimal, list[DocumentLine]] = defaultdict(list)
    for i, line in enumerate(doc.lines, start=1):
        label = f"line {i} ({line.description[:40]!r})"
        line_bad = [p for p in (_type_problem(f"{label}: {n}", getattr(line, n))
                                for n in ("quantity", "unit_price", "vat_rate", "base", "vat", "total")) if p]
        if line_bad:
            bad.extend(line_bad)
            continue
        if not (ZERO <= line.vat_rate < 100):
            problems.append(f"{label}: VAT rate {line.vat_rate} % is not between 0 and 100")
        for n in ("base", "vat", "total"):
            _two_places(f"{label}: {n}", getattr(line, n), problems)
        expected = money(line.quantity * line.unit_price)
        if line.base != expected:
            problems.append(f"{label}: base {line.base} is not quantity × unit price = {expected}")
        if line.base + line.vat != line.total:
            problems.append(f"{label}: base {line.base} + VAT {line.vat} is not the total {line.total}")
        if not doc.vat_payer and (line.vat != 0 or line.vat_rate != 0):
            problems.append(f"{label}: a seller who is not a VAT payer charges no VAT (rate and VAT must be 0)")
        elif abs(line.vat - line.base * line.vat_rate / 100) > CENT:
            problems.append(f"{label}: VAT {line.vat} is not {line.vat_rate} % of the base {line.base}")
        by_rate[line.vat_rate].append(line)
    for i, row in enumerate(doc.vat_rows, start=1):
        bad.extend(p for p in (_type_problem(f"VAT row {i}: {n}", getattr(row, n))
                               for n in ("rate", "base", "vat", "total")) if p)
    if bad:
        problems.extend(bad)
        return

    rows: dict[Decimal, VatRow] = {}
    for row in doc.vat_rows:
        if row.rate in rows:
            problems.append(f"VAT rate {row.rate} % has more than one recapitulation row")
        rows[row.rate] = row
    if doc.vat_rows or doc.vat_payer:
        if set(rows) != set(by_rate):
            problems.append(f"the VAT recapitulation has rates {_rates(rows)} but the lines have {_rates(by_rate)}")
    for rate, row in rows.items():
        label = f"VAT row {rate} %"
        for n in ("base", "vat", "total"):
            _two_places(f"{label}: {n}", getattr(row, n), problems)
        lines = by_rate.get(rate, [])
        line_base = sum((line.base for line in lines), ZERO)
        line_vat = sum((line.vat for line in lines), ZERO)
        if lines and row.base != line_base:
            problems.append(f"{label}: base {row.base} is not the sum of its lines' bases {line_base}")
        if row.base + row.vat != row.total:
            problems.append(f"{label}: base {row.base} + VAT {row.vat} is not the total {row.total}")
        # Bottom-up (base × rate) and top-down (total × rate / (100 + rate)) differ by at most 0.01.
        if abs(row.vat - row.base * rate / 100) > CENT:
            problems.append(f"{label}: VAT {row.vat} is not {rate} % of the base {row.base}")
        # Each line's VAT is rounded on its own: the sum may differ from the rate's VAT by 0.01 a line.
        if lines and abs(row.vat - line_vat) > CENT * len(lines):
            problems.append(f"{label}: VAT {row.vat} is far from the sum of its lines' VAT {line_vat}")

    if doc.vat_rows:
        sum_base = sum((r.base for r in doc.vat_rows), ZERO)
        sum_vat = sum((r.vat for r in doc.vat_rows), ZERO)
    else:
        sum_base = sum((line.base for line in doc.lines), ZERO)
        sum_vat = sum((line.vat for line in doc.lines), ZERO)
    for n in names:
        _two_places(n, names[n], problems)
    if doc.total_base != sum_base:
        problems.append(f"total_base {doc.total_base} is not the sum of the bases {sum_base}")
    if doc.total_vat != sum_vat:
        problems.append(f"total_vat {doc.total_vat} is not the sum of the VAT {sum_vat}")
    if doc.total != doc.total_base + doc.total_vat:
        problems.append(f"total {doc.total} is not total_base + total_vat = {doc.total_base + doc.total_vat}")
    if not doc.vat_payer and doc.total_vat != 0:
        problems.append("a seller who is not a VAT payer charges no VAT (total_vat must be 0)")
    if abs(doc.rounding) >= 1:
        problems.append(f"rounding {doc.rounding} is not less than one currency unit")
    expected_due = doc.total + doc.rounding - doc.paid_already
    if doc.amount_due != expected_due:
        problems.append(f"amount_due {doc.amount_due} is not total + rounding − paid_already = {expected_due}")


def _rates(rates: Iterable[Decimal]) -> str:
    return ", ".join(f"{r} %" for r in sorted(rates, reverse=True)) or "none"


# --- building documents -------------------------------------------------------------------------


def vat_summary(lines: Sequence[DocumentLine]) -> tuple[tuple[VatRow, ...], Decimal, Decimal, Decimal]:
    """VAT rows (highest rate first), total base, total VAT and total of the lines.

    The VAT of a rate is computed from the sum of its bases (bottom-up, ROUND_HALF_UP to 0.01).
    """
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        bases[line.vat_rate] += line.base
    rows = []
    for rate in sorted(bases, reverse=True):
        base = bases[rate]
        vat = money(base * rate / 100)
        rows.append(VatRow(rate=rate, base=base, vat=vat, total=base + vat))
    total_base = sum((r.base for r in rows), ZERO)
    total_vat = sum((r.vat for r in rows), ZERO)
    return tuple(rows), total_base, total_vat, total_base + total_vat


def cash_rounding(total: Decimal, currency: str) -> Decimal:
    """The rounding that brings a CZK total to whole crowns (ROUND_HALF_UP); 0 for other currencies."""
    if currency != "CZK":
        return ZERO
    return total.quantize(Decimal("1"), rounding=ROUND_HALF_UP) - total


def sample_document(kind: str = "invoice", *, vat_payer: bool = True, with_statement: bool = False) -> InvoiceDocument:
    """A complete, consistent document (previews of templates, tests, the bench)."""
    seller = Party(name="Mango Net s.r.o.", street="Dlouhá 12", city="Praha 1", postal_code="11000", country="CZ",
                   ico="27182819", dic="CZ27182819" if vat_payer else "", vat_payer=vat_payer,
                   email="fakturace@mango-net.example", phone="+420 222 333 444",
                   bank_account="19-2000145399/0800", iban="CZ6508000000192000145399", bic="GIBACZPX",
                   register="zapsaná v obchodním rejstříku vedeném Městským soudem v Praze, oddíl C, vložka 123456")
    buyer = Party(name="Jana Nováková", street="Krátká 5", city="Brno", postal_code="60200", country="CZ",
                  email="jana@example.cz", customer_number="100234")

    def rate(percent: str) -> Decimal:
        return Decimal(percent) if vat_payer else ZERO

    lines = [
        DocumentLine.compute("Internet 250/50 Mbit/s – březen 2025", Decimal("1"), "měs.", Decimal("413.22"), rate("21")),
        DocumentLine.compute("Veřejná IPv4 adresa", Decimal("1"), "měs.", Decimal("82.64"), rate("21")),
        DocumentLine.compute("Pronájem routeru", Decimal("1"), "měs.", Decimal("41.32"), rate("21")),
        DocumentLine.compute("Hovorné dle výpisu", Decimal("37"), "min", Decimal("0.90"), rate("21")),
        DocumentLine.compute("Dodání tištěného časopisu", Decimal("1"), "ks", Decimal("89.29"), rate("12")),
    ]
    sign = Decimal("-1") if kind == "credit_note" else Decimal("1")
    if kind == "credit_note":
        lines = [DocumentLine.compute(f"Oprava: {ln.description}", ln.quantity * sign, ln.unit, ln.unit_price,
                                      ln.vat_rate) for ln in lines[:2]]
    rows, base, vat, total = vat_summary(lines)
    if not vat_payer:
        rows = ()
    issued = date(2025, 4, 1)
    rounding = cash_rounding(total, "CZK")
    statement: tuple[StatementRow, ...] = ()
    if with_statement:
        start = datetime(2025, 3, 1, 8, 0)
        statement = tuple(
            StatementRow(occurred_at=start + timedelta(hours=7 * i, minutes=i), description="Volání do mobilní sítě",
                         counterpart=f"+420 777 {100 + i:03d} {200 + i:03d}", duration_seconds=60 + 17 * i,
                         amount=money(Decimal("0.90") * ((60 + 17 * i + 59) // 60)))
            for i in range(12))
    doc = InvoiceDocument(
        kind=kind, number={"invoice": "FV2025000123", "credit_note": "OD2025000007", "advance": "ZF2025000031"}[kind],
        series={"invoice": "FV", "credit_note": "OD", "advance": "ZF"}[kind], issued_on=issued,
        taxable_supply_date=issued if kind != "advance" else None, due_date=issued + timedelta(days=14),
        variable_symbol="2025000123", constant_symbol="0308", currency="CZK", seller=seller, buyer=buyer,
        lines=tuple(lines), vat_rows=rows, total_base=base, total_vat=vat, total=total, rounding=rounding,
        amount_due=total + rounding, paid_already=ZERO, payment_method="bank_transfer",
        uuid="6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f", vat_payer=vat_payer, statement=statement,
        note="Děkujeme, že používáte naše služby.")
    if kind == "credit_note":
        doc = replace(doc, original_number="FV2025000098", original_issued_on=date(2025, 3, 1),
                      reason="Výpadek služby 10.–14. 3. 2025, sleva dle smlouvy", due_date=None)
    return doc


__all__ = [
    "CENT", "KINDS", "PAYMENT_METHODS", "DocumentError", "DocumentLine", "InvoiceDocument", "Party", "StatementRow",
    "VatRow", "cash_rounding", "money", "sample_document", "vat_summary",
]
