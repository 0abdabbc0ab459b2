"""The printable invoice: § 29 particulars in the HTML, Czech money format, the PDF's text."""

from __future__ import annotations

import dataclasses
import io
import re
from decimal import Decimal

import pytest
from markupsafe import escape

from mango_billing.outputs.document import DocumentError, InvoiceDocument, sample_document
from mango_billing.outputs.html import invoice_context, render_invoice_html, render_invoice_pdf


def visible(html: str) -> str:
    """The page's text: tags dropped, entities of spaces and NBSP turned into plain spaces."""
    text = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    text = re.sub(r"<svg.*?</svg>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text).replace("&nbsp;", " ").replace("\xa0", " ")
    return " ".join(text.split())


@pytest.fixture(scope="module")
def invoice_html() -> str:
    return render_invoice_html(sample_document("invoice", with_statement=True))


def test_invoice_shows_every_section_29_particular(invoice_html):
    text = visible(invoice_html)
    for expected in (
        "Faktura – daňový doklad", "Číslo dokladu FV2025000123",
        "Dodavatel Mango Net s.r.o. Dlouhá 12 110 00 Praha 1 IČO 27182819 DIČ CZ27182819",  # a), b)
        "Odběratel Jana Nováková Krátká 5 602 00 Brno",  # c)
        "Datum vystavení 1. 4. 2025",  # g)
        "Datum uskutečnění zdanitelného plnění 1. 4. 2025",  # h)
        "Datum splatnosti 15. 4. 2025",
        "Internet 250/50 Mbit/s – březen 2025 1 měs. 413,22 Kč 21 % 413,22 Kč 86,78 Kč 500,00 Kč",  # f), i)–l)
        "Hovorné dle výpisu 37 min 0,90 Kč 21 % 33,30 Kč 6,99 Kč 40,29 Kč",
        "Cena za MJ bez DPH", "Sazba DPH",
        "21 % 570,48 Kč 119,80 Kč 690,28 Kč", "12 % 89,29 Kč 10,71 Kč 100,00 Kč",  # VAT per rate
        "Celkem bez DPH 659,77 Kč", "DPH celkem 130,51 Kč", "Celkem 790,28 Kč", "Zaokrouhlení -0,28 Kč",
        "K úhradě 790,00 Kč",
        "Bankovní účet 19-2000145399/0800", "IBAN CZ65 0800 0000 1920 0014 5399", "Variabilní symbol 2025000123",
    ):
        assert expected in text, expected
    assert invoice_html.startswith("<!doctype html>") and invoice_html.rstrip().endswith("</html>")
    assert "@page" in invoice_html and "size: A4" in invoice_html


def test_thousands_are_grouped_czech_style():
    doc = sample_document()
    line = dataclasses.replace(doc.lines[0], quantity=Decimal("3"), base=Decimal("1239.66"), vat=Decimal("260.33"),
                               total=Decimal("1499.99"))
    from mango_billing.outputs.document import cash_rounding, vat_summary

    lines = (line, *doc.lines[1:])
    rows, base, vat, total = vat_summary(lines)
    rounding = cash_rounding(total, "CZK")
    big = dataclasses.replace(doc, lines=lines, vat_rows=rows, total_base=base, total_vat=vat, total=total,
                              rounding=rounding, amount_due=total + rounding)
    text = visible(render_invoice_html(big))
    assert "K úhradě 1 790,00 Kč" in text and "1 239,66 Kč" in text


def test_qr_platba_is_inline_svg_when_something_is_due(invoice_html):
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in invoice_html and "QR Platba" in invoice_html
    context = invoice_context(sample_document())
    assert context["spayd"].startswith("SPD*1.0*ACC:CZ6508000000192000145399+GIBACZPX*AM:790.00*CC:CZK*")
    assert "MSG:FAKTURA FV2025000123" in context["spayd"] and "X-VS:2025000123" in context["spayd"]


def test_no_qr_when_nothing_is_due():
    doc = sample_document()
    paid = dataclasses.replace(doc, paid_already=doc.total + doc.rounding, amount_due=Decimal("0.00"))
    html = render_invoice_html(paid)
    assert "<svg" not in html and "Neuhrazujte" in html
    assert "<svg" not in render_invoice_html(sample_document("credit_note"))


def test_credit_note_names_the_original_and_the_reason():
    text = visible(render_invoice_html(sample_document("credit_note")))
    assert "Opravný daňový doklad" in text
    assert "Opravovaný doklad: FV2025000098 ze dne 1. 3. 2025" in text
    assert "Důvod opravy: Výpadek služby 10.–14. 3. 2025, sleva dle smlouvy" in text
    assert "K vrácení -600,00 Kč" in text


def test_advance_invoice_is_not_a_tax_document():
    text = visible(render_invoice_html(sample_document("advance")))
    assert "Zálohová faktura – není daňový doklad" in text
    assert "zdanitelného plnění" not in text


def test_non_vat_payer_says_so_and_shows_no_vat():
    text = visible(render_invoice_html(sample_document("invoice", vat_payer=False)))
    assert "Nejsem plátce DPH." in text and "daňový doklad" not in text
    assert "Sazba DPH" not in text and "DIČ" not in text
    assert "Celkem 659,77 Kč" in text


def test_special_characters_in_names_are_escaped():
    doc = sample_document()
    evil = '<script>alert("x")</script> & Syn'
    doc = dataclasses.replace(doc, buyer=dataclasses.replace(doc.buyer, name=evil),
                              lines=(dataclasses.replace(doc.lines[0], description="<b>Tarif</b>"), *doc.lines[1:]),
                              note="{{ 7 * 7 }}")
    html = render_invoice_html(doc)
    assert "<script>" not in html and "<b>Tarif</b>" not in html
    assert str(escape(evil)) in html and "&lt;b&gt;Tarif&lt;/b&gt;" in html
    assert "{{ 7 * 7 }}" in html  # data is never evaluated as a template


def test_english_labels():
    text = visible(render_invoice_html(sample_document(), lang="en"))
    assert "Invoice – tax document" in text and "Date of taxable supply" in text and "Amount due" in text
    assert "Datum vystavení" not in text
    with pytest.raises(ValueError, match="language"):
        render_invoice_html(sample_document(), lang="de")


def test_statement_page_lists_the_calls(invoice_html):
    text = visible(invoice_html)
    assert "Výpis hovorů a účtovaných položek k dokladu FV2025000123" in text
    assert "01.03.2025 08:00:00 Volání do mobilní sítě +420 777 100 200 1:00 0,90 Kč" in text
    assert "page-break-before: always" in invoice_html


def test_foreign_currency_shows_vat_in_czk():
    doc = dataclasses.replace(sample_document(), currency="EUR", exchange_rate=Decimal("25.000"))
    text = visible(render_invoice_html(doc))
    assert "Rekapitulace DPH v CZK" in text and "2 995,00 Kč" in text  # 119,80 € × 25


def test_inconsistent_document_is_not_rendered():
    doc = sample_document()
    with pytest.raises(DocumentError):
        render_invoice_html(dataclasses.replace(doc, total=doc.total + 1))


def _pdf_text(doc: InvoiceDocument, **kwargs: str) -> tuple[str, int]:
    pypdf = pytest.importorskip("pypdf")
    from mango_core.documents.service import PdfUnavailable

    try:
        pdf = render_invoice_pdf(doc, **kwargs)
    except PdfUnavailable as exc:
        pytest.skip(f"WeasyPrint cannot run here: {exc}")
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")
    return " ".join(text.split()), len(reader.pages)


def test_pdf_is_a_real_pdf_with_number_and_total():
    text, pages = _pdf_text(sample_document(with_statement=True))
    assert pages == 2
    assert "FV2025000123" in text and "K úhradě 790,00 Kč" in text
    assert "Datum uskutečnění zdanitelného plnění" in text and "Strana 1 / 2" in text


def test_credit_note_pdf_shows_the_original_number():
    text, _ = _pdf_text(sample_document("credit_note"), lang="en")
    assert "FV2025000098" in text and "Credit note" in text and "Page 1 of 1" in text
