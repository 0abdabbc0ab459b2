"""The printable invoice: HTML (A4) and PDF, with every particular § 29 of the VAT act asks for.

The template ``templates/billing/invoice_document.html`` runs in the core's document sandbox
(:mod:`mango_core.documents.sandbox`: Jinja2 ImmutableSandboxedEnvironment, autoescape, the
``money``/``date``/``number`` filters in the document's language) over a context of plain values built
by :func:`invoice_context` — the same context a partner-written invoice template can be given. The PDF
comes from the core's WeasyPrint function (:func:`mango_core.documents.pdf.to_pdf`).

Particulars printed (§ 29 (1) of Act 235/2004 Sb.): seller and buyer (name, address, IČO, DIČ), the
document number, the date of issue, the date of the taxable supply (DUZP), the description and
quantity of every line, the unit price without VAT, the VAT rate, the base, and the VAT per rate
— in CZK as well when the document is in another currency; § 29 (2) a) the legal reference of an
exempt line (``DocumentLine.vat_note``). A credit note names the corrected document and the reason
(§ 45); an advance invoice says it is not a tax document; a seller who is not a VAT payer says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from babel.numbers import format_currency
from jinja2 import Template
from jinja2.exceptions import TemplateError
from markupsafe import Markup

from mango_billing.outputs.document import InvoiceDocument, Party, sample_document
from mango_billing.outputs.qr import QrError, qr_svg
from mango_billing.outputs.spayd import MAX_RECIPIENT, SpaydError, clean_text, spayd
from mango_core.documents import sandbox

log = logging.getLogger(__name__)

TEMPLATE = "invoice_document.html"
STYLESHEET = "invoice_document.css"
LANGUAGES = ("cs", "en")

LABELS: dict[str, dict[str, str]] = {
    "cs": {
        "invoice": "Faktura – daňový doklad",
        "invoice_non_payer": "Faktura",
        "credit_note": "Opravný daňový doklad",
        "credit_note_non_payer": "Opravný doklad (dobropis)",
        "advance": "Zálohová faktura",
        "advance_note": "Zálohová faktura – není daňový doklad",
        "advance_tax": "Daňový doklad k přijaté platbě",
        "advance_document": "K zálohové faktuře",
        "payment_received_on": "Datum přijetí platby (DUZP)",
        "non_payer_note": "Nejsem plátce DPH.",
        "number": "Číslo dokladu",
        "seller": "Dodavatel",
        "buyer": "Odběratel",
        "ico": "IČO",
        "dic": "DIČ",
        "customer_number": "Zákaznické číslo",
        "issued_on": "Datum vystavení",
        "taxable_supply_date": "Datum uskutečnění zdanitelného plnění",
        "due_date": "Datum splatnosti",
        "payment_method": "Způsob úhrady",
        "bank_account": "Bankovní účet",
        "iban": "IBAN",
        "bic": "BIC/SWIFT",
        "variable_symbol": "Variabilní symbol",
        "constant_symbol": "Konstantní symbol",
        "specific_symbol": "Specifický symbol",
        "original_document": "Opravovaný doklad",
        "original_issued_on": "ze dne",
        "reason": "Důvod opravy",
        "description": "Označení dodávky",
        "quantity": "Množství",
        "unit_price": "Cena za MJ bez DPH",
        "vat_rate": "Sazba DPH",
        "base": "Základ",
        "vat": "DPH",
        "line_total": "Celkem s DPH",
        "amount": "Částka",
        "recap": "Rekapitulace DPH",
        "recap_czk": "Rekapitulace DPH v CZK",
        "exchange_rate": "kurz",
        "total_base": "Celkem bez DPH",
        "total_vat": "DPH celkem",
        "total": "Celkem",
        "rounding": "Zaokrouhlení",
        "paid_already": "Již uhrazeno",
        "amount_due": "K úhradě",
        "to_refund": "K vrácení",
        "nothing_due": "Neuhrazujte – doklad je již uhrazen.",
        "qr_title": "QR Platba",
        "note": "Poznámka",
        "statement": "Výpis hovorů a účtovaných položek",
        "statement_for": "k dokladu",
        "when": "Datum a čas",
        "counterpart": "Číslo / cíl",
        "duration": "Délka",
        "statement_total": "Celkem za výpis",
        "issued_by": "Vystaveno informačním systémem Mango",
        "page": "Strana",
        "of": "z",
        "bank_transfer": "převodem na účet",
        "cash": "hotově",
        "card": "platební kartou",
        "direct_debit": "inkasem z účtu",
        "sipo": "přes SIPO",
        "credit": "z předplaceného kreditu",
    },
    "en": {
        "invoice": "Invoice – tax document",
        "invoice_non_payer": "Invoice",
        "credit_note": "Credit note – corrective tax document",
        "credit_note_non_payer": "Credit note",
        "advance": "Advance invoice",
        "advance_note": "Advance invoice – not a tax document",
        "advance_tax": "Tax document on a received payment",
        "advance_document": "For advance invoice",
        "payment_received_on": "Date the payment was received (tax point)",
        "non_payer_note": "Not a VAT payer.",
        "number": "Document number",
        "seller": "Supplier",
        "buyer": "Customer",
        "ico": "Company ID",
        "dic": "VAT ID",
        "customer_number": "Customer number",
        "issued_on": "Date of issue",
        "taxable_supply_date": "Date of taxable supply",
        "due_date": "Due date",
        "payment_method": "Payment method",
        "bank_account": "Bank account",
        "iban": "IBAN",
        "bic": "BIC/SWIFT",
        "variable_symbol": "Variable symbol",
        "constant_symbol": "Constant symbol",
        "specific_symbol": "Specific symbol",
        "original_document": "Corrected document",
        "original_issued_on": "of",
        "reason": "Reason for the correction",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price excl. VAT",
        "vat_rate": "VAT rate",
        "base": "Base",
        "vat": "VAT",
        "line_total": "Total incl. VAT",
        "amount": "Amount",
        "recap": "VAT summary",
        "recap_czk": "VAT summary in CZK",
        "exchange_rate": "exchange rate",
        "total_base": "Total excl. VAT",
        "total_vat": "Total VAT",
        "total": "Total",
        "rounding": "Rounding",
        "paid_already": "Already paid",
        "amount_due": "Amount due",
        "to_refund": "To be refunded",
        "nothing_due": "Do not pay – this document is settled.",
        "qr_title": "QR payment",
        "note": "Note",
        "statement": "Itemised statement",
        "statement_for": "to document",
        "when": "Date and time",
        "counterpart": "Number / destination",
        "duration": "Duration",
        "statement_total": "Statement total",
        "issued_by": "Issued by the Mango information system",
        "page": "Page",
        "of": "of",
        "bank_transfer": "bank transfer",
        "cash": "cash",
        "card": "payment card",
        "direct_debit": "direct debit",
        "sipo": "SIPO",
        "credit": "prepaid credit",
    },
}


class InvoiceRenderError(ValueError):
    """The invoice template failed (a bug of the template, not of the data)."""


@lru_cache(maxsize=4)
def _resource(name: str) -> str:
    return resources.files("mango_billing").joinpath("templates", "billing", name).read_text(encoding="utf-8")


def _party(party: Party) -> dict[str, Any]:
    return {"name": party.name, "street": party.street, "postal_line": party.postal_line, "city": party.city,
            "postal_code": party.postal_code, "country": party.country, "ico": party.ico, "dic": party.dic,
            "vat_payer": party.vat_payer, "email": party.email, "phone": party.phone,
            "bank_account": party.bank_account, "iban": _grouped(party.iban), "bic": party.bic,
            "register": party.register, "customer_number": party.customer_number}


def _unit_price(value: Decimal, currency: str, lang: str) -> str:
    """A unit price with its own decimals (at least two, up to four): ``0,9035 Kč``."""
    locale = {"cs": "cs_CZ", "en": "en_GB"}[lang]
    return format_currency(value, currency, locale=locale, currency_digits=False, decimal_quantization=False)


def _grouped(iban: str) -> str:
    compact = "".join((iban or "").split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _title(doc: InvoiceDocument, t: dict[str, str]) -> tuple[str, str]:
    """(heading, the line under it) for the kind of document."""
    if doc.kind == "advance":
        return t["advance"], t["advance_note"]
    if doc.kind == "advance_tax":
        return t["advance_tax"], ""
    if doc.kind == "credit_note":
        return (t["credit_note"], "") if doc.vat_payer else (t["credit_note_non_payer"], t["non_payer_note"])
    return (t["invoice"], "") if doc.vat_payer else (t["invoice_non_payer"], t["non_payer_note"])


QR_MESSAGE = {"invoice": "FAKTURA", "credit_note": "OPRAVNY DOKLAD", "advance": "ZALOHOVA FAKTURA",
              "advance_tax": "DANOVY DOKLAD"}


def payment_qr(doc: InvoiceDocument) -> tuple[str, str]:
    """(SPAYD string, inline SVG) when the document asks for a bank transfer; ("", "") otherwise.

    A QR code that cannot be made (an amount over the QR Platba limit, an account that is not an
    IBAN) is left out and logged: the invoice itself stays valid without it.
    """
    seller = doc.seller
    account = seller.iban or seller.bank_account
    if doc.amount_due <= 0 or doc.payment_method != "bank_transfer" or not account:
        return "", ""
    try:
        payload = spayd(account, doc.amount_due, doc.currency, vs=doc.variable_symbol or None,
                        ks=doc.constant_symbol or None, ss=doc.specific_symbol or None,
                        message=clean_text(f"{QR_MESSAGE[doc.kind]} {doc.number}") or None,
                        due=doc.due_date, bic=seller.bic or None,
                        recipient=clean_text(seller.name, MAX_RECIPIENT) or None)
        return payload, qr_svg(payload, title="QR Platba")
    except (SpaydError, QrError) as exc:
        log.warning("invoice %s: no QR Platba code: %s", doc.number, exc)
        return "", ""


def invoice_context(doc: InvoiceDocument, *, lang: str = "cs") -> dict[str, Any]:
    """The template context of a checked document: plain values only (and the QR as markup)."""
    doc.check()
    if lang not in LABELS:
        raise ValueError(f"language {lang!r} is not offered; use one of {', '.join(LANGUAGES)}")
    t = LABELS[lang]
    title, subtitle = _title(doc, t)
    spayd_text, svg = payment_qr(doc)
    czk_rows = doc.vat_rows_in_czk() if doc.currency != "CZK" and doc.exchange_rate else []
    statement = [{"when": row.occurred_at, "when_text": row.occurred_at.strftime("%d.%m.%Y %H:%M:%S"),
                  "description": row.description, "counterpart": row.counterpart,
                  "duration": _duration(row.duration_seconds), "quantity": row.quantity, "amount": row.amount}
                 for row in doc.statement]
    return {
        "lang": lang,
        "t": t,
        "title": title,
        "subtitle": subtitle,
        "document": {
            "kind": doc.kind, "number": doc.number, "series": doc.series, "issued_on": doc.issued_on,
            "taxable_supply_date": doc.taxable_supply_date if doc.kind != "advance" else None,
            "due_date": doc.due_date, "variable_symbol": doc.variable_symbol,
            "constant_symbol": doc.constant_symbol, "specific_symbol": doc.specific_symbol,
            "currency": doc.currency, "payment_method": t.get(doc.payment_method, doc.payment_method),
            "is_bank_transfer": doc.payment_method == "bank_transfer", "note": doc.note,
            "original_number": doc.original_number, "original_issued_on": doc.original_issued_on,
            "reason": doc.reason, "vat_payer": doc.vat_payer, "is_tax_document": doc.is_tax_document,
            "exchange_rate": doc.exchange_rate, "uuid": doc.document_uuid,
        },
        "seller": _party(doc.seller),
        "buyer": _party(doc.buyer),
        "lines": [{"description": line.description, "quantity": line.quantity, "unit": line.unit,
                   "unit_price": line.unit_price,
                   "unit_price_text": _unit_price(line.unit_price, doc.currency, lang), "vat_rate": line.vat_rate, "base": line.base, "vat": line.vat,
                   "total": line.total, "vat_note": line.vat_note} for line in doc.lines],
        "vat_rows": [{"rate": r.rate, "base": r.base, "vat": r.vat, "total": r.total} for r in doc.vat_rows],
        "vat_rows_czk": [{"rate": r.rate, "base": r.base, "vat": r.vat, "total": r.total} for r in czk_rows],
        "totals": {"base": doc.total_base, "vat": doc.total_vat, "total": doc.total, "rounding": doc.rounding,
                   "paid_already": doc.paid_already, "amount_due": doc.amount_due},
        "spayd": spayd_text,
        "qr_svg": Markup(svg),  # noqa: S704 - segno's own SVG of a checked SPAYD string, no user markup
        "statement": statement,
        "statement_total": sum((row.amount for row in doc.statement), Decimal("0")),
        "generated_at": datetime.now().replace(microsecond=0),
    }


@dataclass(frozen=True)
class InvoiceTemplate:
    """A location's own invoice template (documents screen, kind ``billing_invoice``): HTML and CSS."""

    body: str
    css: str


@lru_cache(maxsize=16)
def _template(lang: str, currency: str, body: str | None = None) -> Template:
    """The invoice template compiled once per language, currency and text, in the core's sandbox.

    Compiling is most of the cost of a render; our own file (``body`` None) is checked with the same
    rules as partner templates (no include/extends/import), as a location's own text is on saving.
    """
    env = sandbox.make_environment(lang, currency=currency)
    text = _resource(TEMPLATE) if body is None else body
    try:
        sandbox.check(text, env)
        return env.from_string(text)
    except (sandbox.TemplateProblem, TemplateError) as exc:
        raise InvoiceRenderError(f"the invoice template is broken: {exc}") from exc


def _render(doc: InvoiceDocument, lang: str, *, inline_css: bool, own: InvoiceTemplate | None = None) -> str:
    context = invoice_context(doc, lang=lang)
    css = _resource(STYLESHEET) if own is None else own.css
    context["css"] = Markup(css) if inline_css else ""  # noqa: S704 - our stylesheet or the location's, as written
    try:
        return _template(lang, doc.currency, None if own is None else own.body).render(context)
    except TemplateError as exc:
        raise InvoiceRenderError(f"the invoice template failed: {exc}") from exc


def render_invoice_html(doc: InvoiceDocument, *, lang: str = "cs", template: InvoiceTemplate | None = None) -> str:
    """A complete, printable A4 HTML page of the document (styles inline); ``template``: the location's own."""
    return _render(doc, lang, inline_css=True, own=template)


def render_invoice_pdf(doc: InvoiceDocument, *, lang: str = "cs", template: InvoiceTemplate | None = None) -> bytes:
    """The PDF of the document through the core's WeasyPrint function; ``template``: the location's own.

    Raises the core's ``PdfUnavailable`` when WeasyPrint cannot load its system libraries (Pango).
    """
    html = _render(doc, lang, inline_css=False, own=template)
    try:  # imported here: WeasyPrint needs Pango, and Mango must start on a machine without it
        from mango_core.documents import pdf
    except (ImportError, OSError) as exc:
        from mango_core.documents.service import PdfUnavailable

        raise PdfUnavailable() from exc
    css = _resource(STYLESHEET) if template is None else template.css
    if lang != "cs":  # the core's page footer is Czech
        t = LABELS[lang]
        footer = f'"{t["page"]} " counter(page) " {t["of"]} " counter(pages)'
        css += "\n@page { @bottom-right { content: " + footer + "; } }\n"
    return pdf.to_pdf(html, css)


# --- the location's own template (core document templates) -----------------------------------

INVOICE_KIND = "billing_invoice"


def location_template(session: Any) -> InvoiceTemplate | None:  # noqa: ANN401 - a Session
    """The current location's own invoice template: its first active one of kind ``billing_invoice``
    (as the documents screen lists them), or None for the built-in one."""
    from mango_core.documents import service as documents

    found = documents.list_templates(session, INVOICE_KIND, active_only=True)
    if not found:
        return None
    current = found[0].current
    return InvoiceTemplate(current.body, current.css or "")


def sample_invoice_context() -> dict[str, Any]:
    """A sample invoice (with a call statement) for the template editor's preview."""
    return {**invoice_context(sample_document(with_statement=True)), "css": ""}


def invoice_kind():  # noqa: ANN201 - a DocumentKind; the import stays lazy (documents need the app)
    """Invoices as a kind of the core's document templates: a location may write its own layout,
    starting from the built-in one; not offered on the customer card (invoices come from billing)."""
    from flask_babel import lazy_gettext as _l

    from mango_core.documents.kinds import DocumentKind

    def no_customer_context(_session: Any, _customer: Any) -> dict[str, Any]:  # noqa: ANN401
        return sample_invoice_context()

    return DocumentKind(INVOICE_KIND, _l("Invoice"), no_customer_context, _resource(TEMPLATE), _resource(STYLESHEET),
                        subject=INVOICE_KIND, sample=sample_invoice_context)
