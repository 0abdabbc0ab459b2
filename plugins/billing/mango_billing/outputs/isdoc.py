"""ISDOC 6.0.2 export (the Czech e-invoice format, namespace ``http://isdoc.cz/namespace/2013``).

Document types written: 1 invoice (faktura – daňový doklad), 2 credit note (opravný daňový doklad,
with ``OriginalDocumentReferences``), 4 advance invoice (zálohová faktura – nedaňový zálohový list),
5 tax document of a received payment (daňový doklad při přijetí platby – daňový zálohový list; its
advance invoice in ``OriginalDocumentReferences``). A final invoice deducts its advance as lines with
negative amounts (one per VAT rate), so its totals are the difference still due.
Every mandatory element of the schema is written; the rules of the official Schematron are kept too
(a credit note refers to its original; a document in the local currency has CurrRate and RefCurrRate
1 and no ``…Curr`` element; on a document that is not subject to VAT every line says
``VATApplicable false``).

Sign convention of ``PaidDepositsAmount``: as in the official ISDOC examples, paid deposits are written
as a negative amount, so that PayableAmount = DifferenceTaxInclusiveAmount + PayableRoundingAmount +
PaidDepositsAmount.

Only documents in CZK are exported: a document in another currency needs the ``…Curr`` twin of every
amount and an exchange rate (not in the document data yet), and raises :class:`IsdocError`.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from lxml import etree
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from mango_billing.outputs.document import CENT, ZERO, InvoiceDocument, Party, VatRow
from mango_core.tenancy.validators import InvalidValue, parse_bank_account

NS = "http://isdoc.cz/namespace/2013"
VERSION = "6.0.2"
ISSUING_SYSTEM = "Mango"
XSD_NAME = "isdoc-invoice-6.0.2.xsd"
DOCUMENT_TYPES = {"invoice": "1", "credit_note": "2", "advance": "4", "advance_tax": "5"}
# UN/ECE 4461 codes the ISDOC schema allows.
PAYMENT_MEANS = {"cash": "10", "bank_transfer": "42", "card": "48", "direct_debit": "49", "sipo": "50",
                 "credit": "97"}
_STREET_RE = re.compile(r"^(?P<street>.*?)\s+(?P<number>\d+[A-Za-z]?(?:/\d+[A-Za-z]?)?)$")


class IsdocError(ValueError):
    """The document cannot be exported as ISDOC; the message says why."""


def _e(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _amount(value: Decimal) -> str:
    # ``+ 0`` turns a negative zero into 0, so no "-0.00" is written.
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP) + 0:f}"


def _number(value: Decimal) -> str:
    """A quantity or rate without exponent or trailing zeros (``1``, ``2.5``, ``21``)."""
    return f"{value.normalize() + 0:f}"


def _unit_price(value: Decimal) -> str:
    """Unit prices keep up to 4 decimals (at least 2)."""
    exponent = max(2, min(4, -value.normalize().as_tuple().exponent))  # type: ignore[operator]
    return f"{value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP):f}"


def split_street(street: str) -> tuple[str, str]:
    """``Dlouhá 12/5`` → (``Dlouhá``, ``12/5``); a street without a number keeps it all in the name."""
    text = " ".join((street or "").split())
    match = _STREET_RE.match(text)
    if match:
        return match["street"], match["number"]
    return text, ""


def _country_name(code: str) -> str:
    return Locale("cs").territories.get((code or "").upper(), code or "")


def _party(parent: etree._Element, wrapper: str, party: Party) -> None:
    node = _e(_e(parent, wrapper), "Party")
    ident = _e(node, "PartyIdentification")
    if party.customer_number:
        _e(ident, "UserID", party.customer_number)
    _e(ident, "ID", party.ico or "")
    _e(_e(node, "PartyName"), "Name", party.name)
    address = _e(node, "PostalAddress")
    street, number = split_street(party.street)
    _e(address, "StreetName", street)
    _e(address, "BuildingNumber", number)
    _e(address, "CityName", party.city or "")
    _e(address, "PostalZone", (party.postal_code or "").replace(" ", ""))
    country = _e(address, "Country")
    _e(country, "IdentificationCode", (party.country or "CZ").upper())
    _e(country, "Name", _country_name(party.country or "CZ"))
    if party.dic:
        scheme = _e(node, "PartyTaxScheme")
        _e(scheme, "CompanyID", party.dic)
        _e(scheme, "TaxScheme", "VAT")
    if party.register:
        _e(_e(node, "RegisterIdentification"), "Preformatted", party.register)
    if party.phone or party.email:
        contact = _e(node, "Contact")
        if party.phone:
            _e(contact, "Telephone", party.phone)
        if party.email:
            _e(contact, "ElectronicMail", party.email)


def _bank_account(party: Party) -> tuple[str, str, str, str, str]:
    """(account number without the bank code, bank code, bank name, IBAN, BIC) of the seller's account."""
    raw = party.iban or party.bank_account
    if not raw:
        raise IsdocError("payment by bank transfer needs the seller's bank account (IBAN or prefix-number/bank)")
    try:
        account = parse_bank_account(raw)
    except InvalidValue as exc:
        raise IsdocError(f"the seller's bank account {raw!r} is not valid: {exc}") from exc
    number, bank_code = "", ""
    if account.account_number:
        number, _, bank_code = account.account_number.partition("/")
    try:
        iban = IBAN(account.iban)
        bank_name = iban.bank_name or ""
        if not bank_code and iban.country_code != "CZ":
            bank_code = iban.bank_code or ""
        if not number:
            number = iban.account_code
    except SchwiftyException:
        bank_name = ""
    bic = party.bic or account.bic or ""
    return number, bank_code, bank_name, account.iban, bic


def _tax_subtotal(parent: etree._Element, row: VatRow, vat_applicable: bool) -> None:
    sub = _e(parent, "TaxSubTotal")
    _e(sub, "TaxableAmount", _amount(row.base))
    _e(sub, "TaxAmount", _amount(row.vat))
    _e(sub, "TaxInclusiveAmount", _amount(row.total))
    # Nothing is claimed from taxed advance documents in Mango's invoices: the difference is all of it.
    _e(sub, "AlreadyClaimedTaxableAmount", "0.00")
    _e(sub, "AlreadyClaimedTaxAmount", "0.00")
    _e(sub, "AlreadyClaimedTaxInclusiveAmount", "0.00")
    _e(sub, "DifferenceTaxableAmount", _amount(row.base))
    _e(sub, "DifferenceTaxAmount", _amount(row.vat))
    _e(sub, "DifferenceTaxInclusiveAmount", _amount(row.total))
    category = _e(sub, "TaxCategory")
    _e(category, "Percent", _number(row.rate))
    _e(category, "VATApplicable", "true" if vat_applicable else "false")


def build_isdoc(doc: InvoiceDocument) -> etree._Element:
    """The ``Invoice`` element of a checked document."""
    doc.check()
    if doc.currency != "CZK":
        raise IsdocError(f"ISDOC export of documents in {doc.currency} is not supported yet (only CZK)")
    vat_applicable = doc.is_tax_document
    root = etree.Element(f"{{{NS}}}Invoice", {"version": VERSION}, nsmap={None: NS})
    _e(root, "DocumentType", DOCUMENT_TYPES[doc.kind])
    _e(root, "ID", doc.number)
    _e(root, "UUID", doc.document_uuid)
    _e(root, "IssuingSystem", ISSUING_SYSTEM)
    _e(root, "IssueDate", doc.issued_on.isoformat())
    if doc.taxable_supply_date is not None and doc.kind != "advance":
        _e(root, "TaxPointDate", doc.taxable_supply_date.isoformat())
    _e(root, "VATApplicable", "true" if vat_applicable else "false")
    # Mandatory; it names the buyer's consent to electronic invoices, which Mango does not record.
    _e(root, "ElectronicPossibilityAgreementReference", "")
    notes = [doc.note] if doc.note else []
    if doc.kind == "credit_note" and doc.reason:
        notes.insert(0, f"Důvod opravy: {doc.reason}")
    if not doc.vat_payer:
        notes.append("Dodavatel není plátcem DPH.")
    if notes:
        _e(root, "Note", "\n".join(notes))
    _e(root, "LocalCurrencyCode", doc.currency)
    _e(root, "CurrRate", "1")
    _e(root, "RefCurrRate", "1")
    _party(root, "AccountingSupplierParty", doc.seller)
    _party(root, "AccountingCustomerParty", doc.buyer)
    if doc.kind == "credit_note" or (doc.kind == "advance_tax" and doc.original_number):
        reference = _e(_e(root, "OriginalDocumentReferences"), "OriginalDocumentReference", id="original")
        _e(reference, "ID", doc.original_number)
        if doc.original_issued_on is not None:
            _e(reference, "IssueDate", doc.original_issued_on.isoformat())
        if doc.original_uuid:
            _e(reference, "UUID", doc.original_uuid.upper())

    lines = _e(root, "InvoiceLines")
    for i, line in enumerate(doc.lines, start=1):
        node = _e(lines, "InvoiceLine")
        _e(node, "ID", str(i))
        _e(node, "InvoicedQuantity", _number(line.quantity), unitCode=line.unit or "")
        _e(node, "LineExtensionAmount", _amount(line.base))
        _e(node, "LineExtensionAmountTaxInclusive", _amount(line.total))
        _e(node, "LineExtensionTaxAmount", _amount(line.vat))
        _e(node, "UnitPrice", _unit_price(line.unit_price))
        _e(node, "UnitPriceTaxInclusive", _unit_price(line.unit_price * (100 + line.vat_rate) / 100))
        category = _e(node, "ClassifiedTaxCategory")
        _e(category, "Percent", _number(line.vat_rate))
        _e(category, "VATCalculationMethod", "0")  # from the bottom: VAT = base × rate
        _e(category, "VATApplicable", "true" if vat_applicable else "false")
        if line.vat_note:
            _e(node, "VATNote", line.vat_note)
        _e(_e(node, "Item"), "Description", line.description)

    tax_total = _e(root, "TaxTotal")
    rows = list(doc.vat_rows) or [VatRow(rate=ZERO, base=doc.total_base, vat=doc.total_vat, total=doc.total)]
    for row in rows:
        _tax_subtotal(tax_total, row, vat_applicable)
    _e(tax_total, "TaxAmount", _amount(doc.total_vat))

    totals = _e(root, "LegalMonetaryTotal")
    _e(totals, "TaxExclusiveAmount", _amount(doc.total_base))
    _e(totals, "TaxInclusiveAmount", _amount(doc.total))
    _e(totals, "AlreadyClaimedTaxExclusiveAmount", "0.00")
    _e(totals, "AlreadyClaimedTaxInclusiveAmount", "0.00")
    _e(totals, "DifferenceTaxExclusiveAmount", _amount(doc.total_base))
    _e(totals, "DifferenceTaxInclusiveAmount", _amount(doc.total))
    _e(totals, "PayableRoundingAmount", _amount(doc.rounding))
    _e(totals, "PaidDepositsAmount", _amount(-doc.paid_already))
    _e(totals, "PayableAmount", _amount(doc.amount_due))

    if doc.amount_due > 0:
        payment = _e(_e(root, "PaymentMeans"), "Payment")
        _e(payment, "PaidAmount", _amount(doc.amount_due))
        _e(payment, "PaymentMeansCode", PAYMENT_MEANS[doc.payment_method])
        if doc.payment_method == "bank_transfer":
            if doc.due_date is None:
                raise IsdocError("payment by bank transfer needs the due date")
            number, bank_code, bank_name, iban, bic = _bank_account(doc.seller)
            details = _e(payment, "Details")
            _e(details, "PaymentDueDate", doc.due_date.isoformat())
            _e(details, "ID", number)
            _e(details, "BankCode", bank_code)
            _e(details, "Name", bank_name)
            _e(details, "IBAN", iban)
            _e(details, "BIC", bic)
            if doc.variable_symbol:
                _e(details, "VariableSymbol", doc.variable_symbol)
            if doc.constant_symbol:
                _e(details, "ConstantSymbol", doc.constant_symbol)
            if doc.specific_symbol:
                _e(details, "SpecificSymbol", doc.specific_symbol)
    return root


def isdoc_xml(doc: InvoiceDocument) -> bytes:
    """The ISDOC file (UTF-8 XML) of a document; DocumentError or IsdocError when it cannot be made."""
    return etree.tostring(build_isdoc(doc), xml_declaration=True, encoding="UTF-8", pretty_print=True)


@lru_cache(maxsize=4)
def _schema(xsd: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(xsd), parser))


def validate_isdoc(xml: bytes, xsd_dir: Path) -> list[str]:
    """Error messages of an ISDOC file against the official XSD in ``xsd_dir`` (empty when valid)."""
    xsd = Path(xsd_dir) / XSD_NAME
    if not xsd.is_file():
        raise FileNotFoundError(f"the ISDOC schema {XSD_NAME} is not in {xsd_dir}")
    schema = _schema(xsd.resolve())
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        tree = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    if schema.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]
