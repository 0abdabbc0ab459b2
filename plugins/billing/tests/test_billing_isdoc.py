"""ISDOC 6.0.2 export validated against the official schema; the document consistency check."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from mango_billing.outputs.document import (
    DocumentError,
    DocumentLine,
    InvoiceDocument,
    cash_rounding,
    sample_document,
    vat_summary,
)
from mango_billing.outputs.isdoc import NS, IsdocError, isdoc_xml, split_street, validate_isdoc

N = {"i": NS}


@pytest.fixture(scope="module")
def xsd_dir(shared_fixtures: Path) -> Path:
    return shared_fixtures / "isdoc"


def three_rate_invoice() -> InvoiceDocument:
    base = sample_document("invoice")
    lines = (*base.lines, DocumentLine.compute("Poštovné do zahraničí", Decimal("2"), "ks", Decimal("45.50"),
                                                Decimal("0"), vat_note="osvobozeno od daně dle § 69"))
    rows, total_base, total_vat, total = vat_summary(lines)
    rounding = cash_rounding(total, "CZK")
    paid = Decimal("100.00")
    return dataclasses.replace(base, lines=lines, vat_rows=rows, total_base=total_base, total_vat=total_vat,
                               total=total, rounding=rounding, paid_already=paid, amount_due=total + rounding - paid,
                               specific_symbol="42")


def text(tree: etree._Element, path: str) -> str:
    return tree.findtext(path, namespaces=N)


def parsed(doc: InvoiceDocument) -> etree._Element:
    return etree.fromstring(isdoc_xml(doc))


@pytest.mark.parametrize(("doc", "document_type"), [
    (three_rate_invoice(), "1"),
    (sample_document("invoice", vat_payer=False), "1"),
    (sample_document("credit_note"), "2"),
    (sample_document("advance"), "4"),
], ids=["invoice-21-12-0", "non-vat-payer", "credit-note", "advance"])
def test_every_kind_validates_against_the_official_schema(doc, document_type, xsd_dir):
    xml = isdoc_xml(doc)
    assert validate_isdoc(xml, xsd_dir) == []
    tree = etree.fromstring(xml)
    assert tree.get("version") == "6.0.2"
    assert text(tree, "i:DocumentType") == document_type
    assert text(tree, "i:ID") == doc.number
    assert text(tree, "i:UUID") == doc.document_uuid
    assert text(tree, "i:IssuingSystem") == "Mango"
    assert text(tree, "i:CurrRate") == "1" and text(tree, "i:RefCurrRate") == "1"
    assert not tree.xpath("//i:*[substring(local-name(), string-length(local-name()) - 3) = 'Curr']", namespaces=N)


def test_invoice_totals_per_rate_and_payment(xsd_dir):
    doc = three_rate_invoice()
    tree = parsed(doc)
    subtotals = tree.findall("i:TaxTotal/i:TaxSubTotal", N)
    assert [text(s, "i:TaxCategory/i:Percent") for s in subtotals] == ["21", "12", "0"]
    for sub, row in zip(subtotals, doc.vat_rows, strict=True):
        assert Decimal(text(sub, "i:TaxableAmount")) == row.base
        assert Decimal(text(sub, "i:TaxAmount")) == row.vat
        assert Decimal(text(sub, "i:TaxInclusiveAmount")) == row.total
    assert Decimal(text(tree, "i:TaxTotal/i:TaxAmount")) == doc.total_vat
    total = tree.find("i:LegalMonetaryTotal", N)
    assert Decimal(text(total, "i:TaxExclusiveAmount")) == doc.total_base
    assert Decimal(text(total, "i:TaxInclusiveAmount")) == doc.total
    assert Decimal(text(total, "i:PayableRoundingAmount")) == doc.rounding
    assert Decimal(text(total, "i:PaidDepositsAmount")) == -doc.paid_already
    assert Decimal(text(total, "i:PayableAmount")) == doc.amount_due
    details = tree.find("i:PaymentMeans/i:Payment/i:Details", N)
    assert text(tree, "i:PaymentMeans/i:Payment/i:PaymentMeansCode") == "42"
    assert text(details, "i:VariableSymbol") == "2025000123"
    assert text(details, "i:SpecificSymbol") == "42"
    assert text(details, "i:ID") == "19-2000145399" and text(details, "i:BankCode") == "0800"
    assert text(details, "i:IBAN") == "CZ6508000000192000145399" and text(details, "i:BIC") == "GIBACZPX"
    assert text(details, "i:PaymentDueDate") == "2025-04-15"
    exempt = tree.findall("i:InvoiceLines/i:InvoiceLine", N)[-1]
    assert text(exempt, "i:VATNote") == "osvobozeno od daně dle § 69"
    assert text(exempt, "i:InvoicedQuantity") == "2" and exempt.find("i:InvoicedQuantity", N).get("unitCode") == "ks"


def test_credit_note_refers_to_the_original():
    doc = sample_document("credit_note")
    tree = parsed(doc)
    reference = tree.find("i:OriginalDocumentReferences/i:OriginalDocumentReference", N)
    assert text(reference, "i:ID") == "FV2025000098" and text(reference, "i:IssueDate") == "2025-03-01"
    assert doc.reason in text(tree, "i:Note")
    assert tree.find("i:PaymentMeans", N) is None  # nothing to pay on a credit note


def test_non_vat_payer_and_advance_are_not_subject_to_vat():
    for doc in (sample_document("invoice", vat_payer=False), sample_document("advance")):
        tree = parsed(doc)
        assert text(tree, "i:VATApplicable") == "false"
        assert set(tree.xpath("//i:ClassifiedTaxCategory/i:VATApplicable/text()", namespaces=N)) == {"false"}
    assert parsed(sample_document("advance")).find("i:TaxPointDate", N) is None


def test_special_characters_are_xml_escaped(xsd_dir):
    doc = sample_document()
    buyer = dataclasses.replace(doc.buyer, name='Novák & syn <"Bistro">')
    xml = isdoc_xml(dataclasses.replace(doc, buyer=buyer))
    assert validate_isdoc(xml, xsd_dir) == []
    assert b"Nov\xc3\xa1k &amp; syn &lt;\"Bistro\"&gt;" in xml


def test_foreign_currency_is_refused_clearly():
    doc = dataclasses.replace(sample_document(), currency="EUR", exchange_rate=Decimal("25.10"))
    with pytest.raises(IsdocError, match="only CZK"):
        isdoc_xml(doc)


def test_inconsistent_document_is_not_exported():
    doc = sample_document()
    with pytest.raises(DocumentError, match="total_vat"):
        isdoc_xml(dataclasses.replace(doc, total_vat=doc.total_vat + 1, total=doc.total + 1,
                                      amount_due=doc.amount_due + 1))


def test_validator_reports_schema_errors_and_broken_xml(xsd_dir):
    tree = parsed(sample_document())
    tree.remove(tree.find("i:ID", N))
    errors = validate_isdoc(etree.tostring(tree), xsd_dir)
    assert errors and "ID" in errors[0] and errors[0].startswith("line ")
    assert validate_isdoc(b"<Invoice", xsd_dir)[0].startswith("not well-formed XML")


def test_validator_accepts_the_official_examples(xsd_dir):
    for example in sorted(xsd_dir.glob("*.isdoc")):
        assert validate_isdoc(example.read_bytes(), xsd_dir) == [], example.name


@pytest.mark.parametrize(("street", "expected"), [
    ("Dlouhá 12", ("Dlouhá", "12")), ("Na Příkopě 1096/23", ("Na Příkopě", "1096/23")),
    ("Lhota", ("Lhota", "")), ("", ("", "")), ("Třída 5. května 12a", ("Třída 5. května", "12a")),
])
def test_street_and_building_number_are_split(street, expected):
    assert split_street(street) == expected


# --- the consistency check -------------------------------------------------------------------------


def test_check_lists_every_problem_with_the_line():
    doc = sample_document()
    bad_line = dataclasses.replace(doc.lines[1], base=doc.lines[1].base + Decimal("0.01"))
    broken = dataclasses.replace(doc, lines=(doc.lines[0], bad_line, *doc.lines[2:]), number="",
                                 variable_symbol="12AB")
    with pytest.raises(DocumentError) as info:
        broken.check()
    problems = "\n".join(info.value.problems)
    assert "line 2 ('Veřejná IPv4 adresa'): base 82.65 is not quantity × unit price = 82.64" in problems
    assert "document number is empty" in problems and "variable_symbol" in problems
    assert "VAT row 21 %" in problems


@pytest.mark.parametrize("change", [
    {"total_base": 659.77},
    {"kind": "proforma"},
    {"taxable_supply_date": None},
    {"lines": ()},
    {"rounding": Decimal("1.00"), "amount_due": Decimal("791.28")},
    {"paid_already": Decimal("10.00")},
    {"uuid": "not-a-uuid"},
    {"currency": "Kč"},
    {"payment_method": "barter"},
    {"vat_payer": False},
])
def test_check_refuses_documents_that_do_not_add_up(change):
    with pytest.raises(DocumentError):
        dataclasses.replace(sample_document(), **change).check()


def test_credit_note_needs_original_and_reason():
    with pytest.raises(DocumentError, match="original_number.*reason"):
        dataclasses.replace(sample_document("credit_note"), original_number="", reason=" ").check()


def test_samples_are_consistent():
    for kind in ("invoice", "credit_note", "advance"):
        for payer in (True, False):
            assert sample_document(kind, vat_payer=payer, with_statement=True).check()


# --- property: random valid documents ------------------------------------------------------------

line_strategy = st.builds(
    DocumentLine.compute,
    description=st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and "\x00" not in s),
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3),
    unit=st.sampled_from(["ks", "měs.", "min", "GB", "h"]),
    unit_price=st.decimals(min_value=Decimal("-5000"), max_value=Decimal("50000"), places=4),
    vat_rate=st.sampled_from([Decimal("21"), Decimal("12"), Decimal("0")]),
)


def _printable(text: str) -> bool:
    # XML 1.0 allows no control characters except tab, newline and carriage return.
    return all(ch in "\t\n\r" or (ord(ch) >= 0x20 and not 0xD800 <= ord(ch) <= 0xDFFF and ord(ch) not in (0xFFFE, 0xFFFF))
               for ch in text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line_strategy.filter(lambda ln: _printable(ln.description)), min_size=1, max_size=8),
       kind=st.sampled_from(["invoice", "advance"]), paid_cents=st.integers(0, 100_000),
       days=st.integers(0, 60))
def test_random_documents_validate_and_keep_their_totals(lines, kind, paid_cents, days, xsd_dir):
    rows, total_base, total_vat, total = vat_summary(lines)
    rounding = cash_rounding(total, "CZK")
    paid = Decimal(paid_cents) / 100
    doc = dataclasses.replace(sample_document(kind), lines=tuple(lines), vat_rows=rows, total_base=total_base,
                              total_vat=total_vat, total=total, rounding=rounding, paid_already=paid,
                              amount_due=total + rounding - paid, due_date=date(2025, 4, 1) + timedelta(days=days))
    xml = isdoc_xml(doc)
    assert validate_isdoc(xml, xsd_dir) == []
    tree = etree.fromstring(xml)
    assert Decimal(text(tree, "i:LegalMonetaryTotal/i:TaxExclusiveAmount")) == total_base
    assert Decimal(text(tree, "i:LegalMonetaryTotal/i:TaxInclusiveAmount")) == total
    assert Decimal(text(tree, "i:LegalMonetaryTotal/i:PayableAmount")) == doc.amount_due
    assert Decimal(text(tree, "i:TaxTotal/i:TaxAmount")) == total_vat
    xml_lines = tree.findall("i:InvoiceLines/i:InvoiceLine", N)
    assert sum(Decimal(text(x, "i:LineExtensionAmount")) for x in xml_lines) == total_base
    assert [text(x, "i:Item/i:Description") for x in xml_lines] == [ln.description for ln in lines]
    assert sum(Decimal(text(s, "i:TaxAmount")) for s in tree.findall("i:TaxTotal/i:TaxSubTotal", N)) == total_vat


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(["total", "total_base", "total_vat", "rounding", "amount_due", "paid_already"]),
       value=st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=5), st.none(),
                       st.decimals(allow_nan=True, allow_infinity=True)))
def test_garbage_amounts_give_document_error(field, value):
    doc = sample_document()
    if isinstance(value, Decimal) and value.is_finite() and value == getattr(doc, field):
        return
    with pytest.raises(DocumentError):
        dataclasses.replace(doc, **{field: value}).check()
