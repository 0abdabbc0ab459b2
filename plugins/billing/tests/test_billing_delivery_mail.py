"""Invoice delivery: issuing queues one e-mail per document, the job attaches a real PDF and a valid ISDOC,
the SMTP server gets them; a server without Pango gives a clear failed state; export zips the month."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from mango_billing import delivery, dunning
from mango_billing.models import BillingProfile, Invoice
from mango_billing.outputs.isdoc import validate_isdoc
from mango_billing.run import run_billing
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer, CustomerContact, CustomerContactChannel
from mango_core.db import utcnow
from mango_core.documents.service import PdfUnavailable
from mango_core.mail import service as mail
from mango_core.mail.models import FAILED, PREPARING, QUEUED, SENT, MailAttachment, MailMessage
from mango_core.mail.testing import running_smtp_server
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post

ISSUED = date(2025, 3, 1)


def customer_with(db, *emails: str, billing: bool = True, other: str | None = None) -> Customer:
    customer = make_row(db, Customer)
    if other:  # a contact without the billing role
        _contact(db, customer, other, billing=False)
    for email in emails:
        _contact(db, customer, email, billing=billing)
    return customer


def _contact(db, customer: Customer, email: str, *, billing: bool) -> None:
    contact = CustomerContact(customer_id=customer.id, name="Kontakt", role_billing=billing)
    db.add(contact)
    db.flush()
    db.add(CustomerContactChannel(contact_id=contact.id, kind="email", value=email, search_value=email.lower()))
    db.flush()


@pytest.fixture
def prg(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        world.loc_a.email = "fakturace@alfa.test"
        db.add(BankAccount(label="Hlavní", account_number="2900123478/2010", iban="CZ7420100000002900123478",
                           is_default=True))
        db.flush()
        yield world.loc_a


@pytest.fixture
def issued(db, prg):
    net = make_row(db, Product, price=Decimal("413.22"), vat_rate=Decimal("21"))
    people = {
        "billing": customer_with(db, "platby@firma.test", other="reditel@firma.test"),
        "any": customer_with(db, "jan@novak.test", billing=False),
        "paper": customer_with(db, "papir@example.test"),
        "none": make_row(db, Customer),
    }
    db.add(BillingProfile(customer_id=people["paper"].id, invoice_by_email=False))
    for customer in people.values():
        make_row(db, Service, customer_id=customer.id, product_id=net.id, class_id=net.class_id, state="active",
                 start_date=date(2024, 1, 1), activated_on=date(2024, 1, 1))
    db.commit()
    result = run_billing(db, prg, "2025-03", issued_on=ISSUED)
    assert result.invoices == 4
    db.commit()
    return people


def invoice_of(db, customer: Customer) -> Invoice:
    return db.scalar(select(Invoice).where(Invoice.customer_id == customer.id))


def test_issuing_holds_one_light_message_per_document(db, issued):
    messages = list(db.scalars(select(MailMessage).order_by(MailMessage.id)))
    by_invoice = {m.entity_id: m for m in messages}
    billing, anyone = invoice_of(db, issued["billing"]), invoice_of(db, issued["any"])
    assert set(by_invoice) == {billing.id, anyone.id}  # opted out and address-less customers get none
    assert by_invoice[billing.id].recipients == ["platby@firma.test"]  # billing role wins
    assert by_invoice[anyone.id].recipients == ["jan@novak.test"]  # else any contact's
    message = by_invoice[billing.id]
    assert message.state == PREPARING and message.entity == "invoice" and message.dedup_key == f"invoice:{billing.id}"
    assert db.scalar(select(func.count()).select_from(MailAttachment)) == 0  # nothing rendered in the run
    assert message.subject.startswith(f"Faktura – daňový doklad {billing.number}")
    assert "Částka k úhradě: 500,00\xa0Kč" in message.text
    assert f"Variabilní symbol: {billing.variable_symbol}" in message.text
    assert f"Datum splatnosti: {billing.due_date.day}. {billing.due_date.month}. {billing.due_date.year}" in message.text
    assert "Číslo účtu: 2900123478/2010" in message.text and message.reply_to == "fakturace@alfa.test"
    # the event again (a re-run, a retry) queues nothing twice
    assert delivery.queue_invoice_mail(db, [billing.id, anyone.id]) == 0


def test_job_attaches_pdf_and_isdoc_and_the_server_receives_them(db, issued, prg, shared_fixtures):
    result = delivery.prepare_invoice_mail(db)
    if result.failed and "Pango" in result.errors[0]:  # a machine without Pango: visible, nothing crashed
        pytest.skip("WeasyPrint/Pango is not available here")
    assert (result.released, result.failed) == (2, 0)
    db.commit()
    invoice = invoice_of(db, issued["billing"])
    message = db.scalar(select(MailMessage).where(MailMessage.entity_id == invoice.id))
    assert message.state == QUEUED
    with running_smtp_server() as server:
        sent = mail.send_due(db, utcnow(), settings=server.settings(from_address="noreply@alfa.test"))
        assert sent.sent == 2
    received: dict[str, EmailMessage] = {rcpts[0]: email for rcpts, email in server.messages}
    email = received["platby@firma.test"]
    files = {p.get_filename(): p.get_content() for p in email.iter_attachments()}
    assert set(files) == {f"{invoice.number}.pdf", f"{invoice.number}.isdoc"}
    pdf = PdfReader(io.BytesIO(files[f"{invoice.number}.pdf"]))
    assert invoice.number in "".join(page.extract_text() for page in pdf.pages)
    assert validate_isdoc(files[f"{invoice.number}.isdoc"], shared_fixtures / "isdoc") == []
    db.refresh(message)
    assert message.state == SENT


def test_without_pango_the_message_fails_clearly_and_can_be_retried(db, issued, monkeypatch):
    def no_pango(_doc, **_kw):  # noqa: ANN001, ANN202, ANN003
        raise PdfUnavailable()

    monkeypatch.setattr("mango_billing.outputs.html.render_invoice_pdf", no_pango)
    result = delivery.prepare_invoice_mail(db)
    assert (result.released, result.failed) == (0, 2)
    message = db.scalar(select(MailMessage).where(MailMessage.entity_id == invoice_of(db, issued["billing"]).id))
    assert message.state == FAILED and "PDF cannot be made" in message.last_error and "Pango" in message.last_error
    assert message.attachments == []
    mail.retry(db, message)
    assert message.state == PREPARING  # its files were never made: back to the job


def test_export_zip_holds_the_months_documents(db, issued):
    out = io.BytesIO()
    result = delivery.export_zip(db, "2025-03", out, formats=["isdoc"])
    numbers = sorted(i.number for i in db.scalars(select(Invoice)))
    assert result.documents == 4
    assert sorted(zipfile.ZipFile(out).namelist()) == sorted(f"{n}.isdoc" for n in numbers)
    assert delivery.export_zip(db, "2025-04", io.BytesIO()).documents == 0
    with pytest.raises(delivery.DeliveryError, match="format"):
        delivery.export_zip(db, "2025-03", io.BytesIO(), formats="pdf,docx")
    with pytest.raises(delivery.DeliveryError, match="period"):
        delivery.export_zip(db, "2025-13", io.BytesIO())


def test_export_command_writes_the_zip(app, db, issued, tmp_path):
    out = tmp_path / "doklady.zip"
    from mango_core.cli import main

    runner = app.test_cli_runner()
    result = runner.invoke(main, ["billing", "export", "--location", "PRG", "--period", "2025-03", "--out", str(out),
                                 "--format", "isdoc"])
    assert result.exit_code == 0, result.output
    assert "4 documents, 4 files" in result.output
    assert len(zipfile.ZipFile(out).namelist()) == 4
    bad = runner.invoke(main, ["billing", "export", "--location", "PRG", "--period", "03/2025", "--out", str(out)])
    assert bad.exit_code != 0 and "period" in bad.output


def test_export_download_from_opcare(client, world, db, issued):
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    assert "Export dokladů" in client.get("/billing/delivery/").get_data(as_text=True)
    response = client.get("/billing/delivery/export.zip?period=2025-03&format=isdoc")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(response.data)).namelist()) == 4
    assert client.get("/billing/delivery/export.zip?period=garbage").status_code == 302


def test_export_needs_the_permission(client, world, db):
    login(client, world.clerk_a.email)
    assert client.get("/billing/delivery/export.zip?period=2025-03").status_code == 403


def test_dunning_reminder_is_queued_with_the_letter(db, prg):
    dunning.create_default_steps(db)
    customer = customer_with(db, "dluznik@example.test")
    make_row(db, Product, price=Decimal("100"), vat_rate=Decimal("21"))
    from test_billing_dunning_flow import make_invoice

    make_invoice(db, customer, "500.00", date.today() - timedelta(days=8))
    _proposals, result = dunning.run(db, date.today())
    assert result.reminders == 1, result.failed
    message = db.scalar(select(MailMessage).where(MailMessage.entity == "billing_reminder"))
    assert message.recipients == ["dluznik@example.test"] and message.state == QUEUED
    assert "500,00\xa0Kč" in message.text and customer.variable_symbol in message.text
    [attachment] = message.attachments
    assert attachment.content_type == "application/pdf" and attachment.content.startswith(b"%PDF")
    from mango_billing.models import DunningAction

    assert "e-mail queued to dluznik@example.test" in db.scalar(select(DunningAction)).detail


def test_recipients_order_and_duplicates(db, prg):
    """Contacts in their order, a contact's primary e-mail first, an address once whatever its case;
    a contact without e-mail and a billing contact without e-mail do not count."""
    plain = make_row(db, Customer)
    first = CustomerContact(customer_id=plain.id, name="První", role_billing=False)
    empty_billing = CustomerContact(customer_id=plain.id, name="Bez e-mailu", role_billing=True)
    second = CustomerContact(customer_id=plain.id, name="Druhý", role_billing=False)
    db.add_all([first, empty_billing, second])
    db.flush()
    for contact, value, primary in ((first, "vedlejsi@firma.test", False), (first, "hlavni@firma.test", True),
                                    (second, "HLAVNI@firma.test", False), (second, "druhy@firma.test", False)):
        db.add(CustomerContactChannel(contact_id=contact.id, kind="email", value=value, search_value=value.lower(),
                                      is_primary=primary))
    db.add(CustomerContactChannel(contact_id=second.id, kind="phone", value="+420601123456",
                                  search_value="420601123456"))
    nobody = make_row(db, Customer)
    db.add(CustomerContact(customer_id=nobody.id, name="Bez kanálů", role_billing=True))
    db.flush()
    assert delivery.recipients(db, [plain.id, nobody.id]) == {
        plain.id: ["hlavni@firma.test", "vedlejsi@firma.test", "druhy@firma.test"]}
