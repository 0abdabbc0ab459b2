"""Delivery of issued documents: e-mail with the PDF and the ISDOC attached, and the batch export.

E-mail, in two steps, because a billing run issues thousands of invoices per batch and a PDF takes
tens of milliseconds to render:

1. :func:`queue_invoice_mail` answers ``mango_invoices_issued`` *inside the issuing transaction*:
   one light outbox message per document (``entity="invoice"``, ``dedup_key="invoice:<id>"``),
   held as ``preparing`` — text only, a few statements per batch, no rendering. It exists exactly
   when the invoice does; a re-run queues nothing twice.
2. The job ``billing:deliver_invoices`` (every minute) runs :func:`prepare_invoice_mail`: it
   renders the PDF and the ISDOC of up to ``delivery_batch`` held messages, attaches them and
   releases them to the core's ``core:send_mail``. A document that cannot be rendered (no Pango on
   the server, an incomplete location) makes its message ``failed`` with the reason, visible in
   the outbox; "send again" there brings it back to preparing.

Recipients: the e-mails of the customer's contacts with the billing role, else of all its
contacts; customers whose :class:`BillingProfile` says ``invoice_by_email = False``, and customers
without an address, get no message.

Export (:func:`export_zip`): the PDFs and/or ISDOC files of the documents *issued* in a month (the
same rule as the invoice list's period filter), one ``<number>.pdf`` / ``<number>.isdoc`` each.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import IO, Any

from babel.numbers import format_currency
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session, selectinload

from mango_billing.invoices import in_ids
from mango_billing.models import BillingProfile, Invoice
from mango_billing.run import RunError, period_bounds
from mango_core.customers.models import CustomerContact, CustomerContactChannel
from mango_core.mail import service as mail

log = logging.getLogger(__name__)

ENTITY = "invoice"
FORMATS = ("pdf", "isdoc")
DELIVERY_BATCH = 200
CHUNK = 5000  # ids per statement: one array parameter on PostgreSQL, well under SQLite's 32,766
PDF_TYPE = "application/pdf"
ISDOC_TYPE = "application/xml"
PAYMENT_TEXT = {
    "bank_transfer": "bankovním převodem", "standing_order": "trvalým příkazem", "sipo": "přes SIPO",
    "direct_debit": "inkasem z Vašeho účtu", "cash": "v hotovosti", "card": "platební kartou",
    "prepaid": "z Vašeho předplaceného kreditu", "credit": "z Vašeho předplaceného kreditu",
}


class DeliveryError(ValueError):
    """Delivery or export cannot go on; the message says what to fix."""


def mail_key(invoice_id: int) -> str:
    return f"invoice:{invoice_id}"


def file_stem(number: str) -> str:
    """A document number as a safe file name (numbers may contain slashes)."""
    return re.sub(r"[^0-9A-Za-z._-]+", "-", number).strip("-") or "document"


# --- recipients ----------------------------------------------------------------------------------


def recipients(session: Session, customer_ids: Iterable[int]) -> dict[int, list[str]]:
    """Per customer: the e-mails of its billing contacts, else of all its contacts (in contact order)."""
    ids = sorted(set(customer_ids))
    # customer → [(billing contact?, its e-mails)], contacts in id order, a contact's primary e-mail first
    contacts: dict[int, list[tuple[bool, list[str]]]] = defaultdict(list)
    email = CustomerContactChannel
    for start in range(0, len(ids), CHUNK):
        last = None
        for cid, contact_id, billing, value in session.execute(
                select(CustomerContact.customer_id, CustomerContact.id, CustomerContact.role_billing, email.value)
                .outerjoin(email, (email.contact_id == CustomerContact.id) & (email.kind == "email"))
                .where(in_ids(session, CustomerContact.customer_id, ids[start:start + CHUNK]))
                .order_by(CustomerContact.id, email.is_primary.desc(), email.id)):
            if contact_id != last:
                contacts[cid].append((bool(billing), []))
                last = contact_id
            if value:
                contacts[cid][-1][1].append(value)
    out: dict[int, list[str]] = {}
    for cid, rows in contacts.items():
        chosen = [values for billing, values in rows if billing and values] or [values for _b, values in rows]
        emails: list[str] = []
        seen: set[str] = set()
        for value in (v for values in chosen for v in values):
            if value.lower() not in seen:
                seen.add(value.lower())
                emails.append(value)
        if emails:
            out[cid] = emails
    return out


def opted_out(session: Session, customer_ids: Iterable[int]) -> set[int]:
    """Customers who do not want documents by e-mail (``invoice_by_email`` explicitly False)."""
    ids = sorted(set(customer_ids))
    out: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        out |= set(session.scalars(select(BillingProfile.customer_id).where(
            in_ids(session, BillingProfile.customer_id, ids[start:start + CHUNK]), BillingProfile.invoice_by_email.is_(False))))
    return out


# --- the message text ------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _money(amount: Decimal, currency: str) -> str:
    # cached: a billing run formats the same few totals (tariff prices) for every invoice, and babel
    # takes tens of microseconds per call (equal Decimals such as 1.0 and 1.00 format alike)
    return format_currency(amount, currency or "CZK", locale="cs_CZ")


def _day(value: date | None) -> str:
    return f"{value.day}. {value.month}. {value.year}" if value else ""


# kind -> (the document's name, the same in the accusative for "we send you …")
DOCUMENT_NAMES = {
    "invoice": ("Faktura – daňový doklad", "fakturu – daňový doklad"),
    "credit_note": ("Opravný daňový doklad", "opravný daňový doklad"),
    "advance": ("Zálohová faktura", "zálohovou fakturu (není daňovým dokladem)"),
    "advance_tax": ("Daňový doklad k přijaté platbě", "daňový doklad k přijaté platbě"),
}


def message_text(inv: Any, seller: dict[str, Any] | None) -> tuple[str, str]:
    """Subject and Czech text of a document's e-mail (``inv`` has Invoice's columns, ``seller`` is its
    seller snapshot)."""
    seller = seller or {}
    seller_name = seller.get("name") or ""
    # advance_tax (a tax document of a payment already received) has nothing to pay, like a credit note
    credit = inv.kind in ("credit_note", "advance_tax")
    what, accusative = DOCUMENT_NAMES.get(inv.kind, DOCUMENT_NAMES["invoice"])
    subject = f"{what} {inv.number}" + (f" – {seller_name}" if seller_name else "")
    amount = _money(inv.total + (inv.rounding or Decimal("0")), inv.currency)
    lines = ["Dobrý den,", "",
             f"v příloze Vám zasíláme {accusative} "
             f"č. {inv.number} ve formátu PDF a ve formátu ISDOC pro účetní programy.", ""]
    if credit:
        lines.append(f"Částka dokladu: {amount}")
    else:
        lines += [f"Částka k úhradě: {amount}", f"Datum splatnosti: {_day(inv.due_date)}",
                  f"Variabilní symbol: {inv.variable_symbol}"]
        method = inv.payment_method or "bank_transfer"
        if method == "bank_transfer" and seller.get("bank_account"):
            lines.append(f"Číslo účtu: {seller['bank_account']}")
        if seller.get("iban") and method == "bank_transfer":
            lines.append(f"IBAN: {seller['iban']}")
        if method != "bank_transfer":
            lines.append(f"Úhrada proběhne {PAYMENT_TEXT.get(method, method)}.")
    lines += ["", "Děkujeme, že využíváte naše služby.", "", "S pozdravem", seller_name]
    if seller.get("phone") or seller.get("email"):
        lines.append(", ".join(x for x in (seller.get("phone"), seller.get("email")) if x))
    return subject, "\n".join(lines).rstrip() + "\n"


# --- step 1: queue in the issuing transaction -------------------------------------------------------


def queue_invoice_mail(session: Session, invoice_ids: Sequence[int]) -> int:
    """Hold one message per new document of customers who get them by e-mail; returns how many."""
    ids = list(invoice_ids)
    queued = 0
    # the seller snapshot as its JSON text, parsed once per distinct text: a run's invoices share one seller
    cols = (Invoice.id, Invoice.kind, Invoice.number, Invoice.customer_id, Invoice.total, Invoice.rounding,
            Invoice.currency, Invoice.due_date, Invoice.variable_symbol, Invoice.payment_method,
            cast(Invoice.seller, Text).label("seller_json"))
    sellers: dict[str | None, dict[str, Any]] = {None: {}}
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(select(*cols).where(in_ids(session, Invoice.id, ids[start:start + CHUNK]))).all()
        customers = {r.customer_id for r in rows}
        to = recipients(session, customers)
        skip = opted_out(session, customers)
        batch = []
        for row in rows:
            if row.customer_id in skip or row.customer_id not in to:
                continue
            seller = sellers.get(row.seller_json)
            if seller is None:
                seller = sellers[row.seller_json] = json.loads(row.seller_json) or {}
            subject, text = message_text(row, seller)
            reply_to = seller.get("email") or None
            try:
                addresses = mail.clean_recipients(to[row.customer_id])
            except mail.MailInputError:
                # a typo in one contact must not stop the issue: keep the addresses that are valid
                addresses = [a for a in to[row.customer_id] if mail.EMAIL_RE.match(a)]
                if not addresses:
                    continue
            if reply_to and not mail.EMAIL_RE.match(reply_to):
                reply_to = None
            batch.append({"to": addresses, "subject": subject, "text": text, "reply_to": reply_to,
                          "entity": ENTITY, "entity_id": row.id, "dedup_key": mail_key(row.id)})
        queued += mail.queue_many(session, batch, hold=True)
    return queued


# --- step 2: render and release (the job) -----------------------------------------------------------


@dataclass
class PrepareResult:
    released: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.released} invoice e-mails ready to send, {self.failed} failed"
        return text + (f"; {self.errors[0]}" if self.errors else "")


def render_files(session: Session, invoice: Invoice, formats: Sequence[str] = FORMATS) -> list[mail.Attachment]:
    """The document's files; raises the core's PdfUnavailable or a ValueError with the reason."""
    from mango_billing.invoices import to_document
    from mango_billing.outputs.html import location_template, render_invoice_pdf
    from mango_billing.outputs.isdoc import isdoc_xml

    doc = to_document(invoice)
    stem = file_stem(invoice.number)
    files = []
    if "pdf" in formats:
        files.append(mail.Attachment(f"{stem}.pdf", render_invoice_pdf(doc, template=location_template(session)),
                                     PDF_TYPE))
    if "isdoc" in formats:
        files.append(mail.Attachment(f"{stem}.isdoc", isdoc_xml(doc), ISDOC_TYPE))
    return files


def prepare_invoice_mail(session: Session, limit: int = DELIVERY_BATCH) -> PrepareResult:
    """Render and attach the files of held invoice messages, then release them for sending."""
    from mango_core.documents.service import DocumentError, PdfUnavailable

    result = PrepareResult()
    messages = mail.preparing(session, entity=ENTITY, limit=limit)
    invoices = {i.id: i for i in session.scalars(
        select(Invoice).where(Invoice.id.in_([m.entity_id for m in messages if m.entity_id]))
        .options(selectinload(Invoice.lines), selectinload(Invoice.series)))} if messages else {}
    for message in messages:
        invoice = invoices.get(message.entity_id or 0)
        try:
            with session.begin_nested():
                if invoice is None:
                    raise DeliveryError(f"invoice {message.entity_id} does not exist in this location")
                for attachment in render_files(session, invoice):
                    mail.attach(session, message, attachment)
                mail.release(session, message)
        except PdfUnavailable as exc:
            _failed(session, result, message, f"the PDF cannot be made on this server: {exc}")
        except (DeliveryError, DocumentError, ValueError) as exc:  # InvoiceRenderError, IsdocError: data missing
            _failed(session, result, message, f"the invoice files cannot be made: {exc}")
        else:
            result.released += 1
    return result


def _failed(session: Session, result: PrepareResult, message: mail.MailMessage, error: str) -> None:
    session.refresh(message)  # the savepoint's rollback expired it
    mail.fail(session, message, error)
    result.failed += 1
    result.errors.append(f"{message.subject}: {error}")
    log.warning("invoice e-mail %s not prepared: %s", message.id, error)


# --- batch export --------------------------------------------------------------------------------


@dataclass
class ExportResult:
    documents: int = 0
    files: list[str] = field(default_factory=list)


def parse_formats(value: str | Sequence[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen = tuple(dict.fromkeys(i.strip().lower() for i in items if i and i.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise DeliveryError(f"format: expected pdf, isdoc or both (comma separated), got {value!r}")
    return chosen


def period_invoice_ids(session: Session, period: str) -> list[int]:
    try:
        start, end = period_bounds(period)
    except RunError as exc:
        raise DeliveryError(f"period: {exc}") from exc
    return list(session.scalars(select(Invoice.id).where(Invoice.issued_on >= start, Invoice.issued_on < end)
                                .order_by(Invoice.issued_on, Invoice.number)))


def export_zip(session: Session, period: str, out: str | IO[bytes], *, formats: Sequence[str] = FORMATS,
               progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write the files of the documents issued in ``period`` (YYYY-MM) into a zip."""
    from mango_core.documents.service import DocumentError, PdfUnavailable

    formats = parse_formats(formats)
    ids = period_invoice_ids(session, period)
    result = ExportResult()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for start in range(0, len(ids), 100):
            chunk = list(session.scalars(select(Invoice).where(Invoice.id.in_(ids[start:start + 100]))
                                         .options(selectinload(Invoice.lines), selectinload(Invoice.series))
                                         .order_by(Invoice.issued_on, Invoice.number)))
            for invoice in chunk:
                try:
                    files = render_files(session, invoice, formats)
                except PdfUnavailable as exc:
                    raise DeliveryError(f"the PDF cannot be made on this server ({exc}); "
                                        "export with --format isdoc, or install Pango") from exc
                except (DocumentError, ValueError) as exc:
                    raise DeliveryError(f"document {invoice.number}: {exc}") from exc
                for f in files:
                    archive.writestr(f.filename, f.content)
                    result.files.append(f.filename)
                result.documents += 1
                if progress is not None:
                    progress(result.documents, len(ids))
            for invoice in chunk:  # thousands of documents: keep the identity map small
                for line in invoice.lines:
                    session.expunge(line)
                session.expunge(invoice)
    return result
