"""Billing in a real browser: a run of next month, an invoice and its PDF, a GPC statement, pairing."""

from __future__ import annotations

import io
import random
import re
from datetime import date
from decimal import Decimal

import pytest

from mango_core.testing.browser import log_in

pytestmark = pytest.mark.browser

OWN_ACCOUNT = "2400000009/2010"  # PRG's bank account (mango_core.testing.live.prepare)
STRAY_VS = "9876543"  # a symbol no customer or invoice has


def next_month(today: date) -> str:
    first = today.replace(day=1)
    return f"{first.year + first.month // 12}-{first.month % 12 + 1:02d}"


def amount_of(text: str) -> Decimal:
    """An amount as Opcare shows it in Czech ("1 234,50 Kč") as a Decimal."""
    digits = re.sub(r"[^\d,-]", "", text).replace(",", ".")
    return Decimal(digits)


def statement(invoice_vs: str, invoice_total: Decimal, customer_name: str) -> bytes:
    """A GPC statement of PRG's account: the invoice paid in full, and a payment whose symbol matches nobody."""
    from mango_billing.bank.gpc_writer import write_gpc
    from mango_billing.bank.statement import BankMovement, BankStatement
    from mango_billing.demo import _counter_account

    rng = random.Random(7)
    today = date.today()

    def move(bank_id: str, amount: Decimal, vs: str, message: str) -> BankMovement:
        return BankMovement(bank_id=bank_id, booked=today, amount=amount, currency="CZK",
                            counter_account=_counter_account(rng), counter_name=customer_name[:60],
                            variable_symbol=vs, constant_symbol="0308", specific_symbol=None, message=message)

    movements = (move("880001", invoice_total, invoice_vs, "Faktura"),
                 move("880002", Decimal("250.00"), STRAY_VS, "Doplatek"))
    return write_gpc(BankStatement(format="gpc", account=OWN_ACCOUNT, currency="CZK", number="7", period_from=today,
                                   period_to=today, opening_balance=Decimal("1000.00"), closing_balance=None,
                                   movements=movements), client_name="Alfa Net")


def test_billing_run_invoice_pdf_statement_import_and_pairing(new_page, tmp_path):
    from pypdf import PdfReader

    page = new_page()
    log_in(page, "admin@alfa.test")
    page.wait_for_load_state("load")  # the location switcher submits from mango.js, which must be running
    if page.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with page.expect_navigation():  # choosing the location that is current already navigates nowhere
            page.select_option("#location_id", label="PRG – Praha")

    # the run of next month: preview, then confirm
    period = next_month(date.today())
    page.goto("/billing/runs/")
    page.fill("#period", period)
    with page.expect_navigation():
        page.click("#run-form button[type=submit]")
    count = int(re.search(r"\d+", page.locator("#run-count").inner_text()).group())
    assert count > 0
    drafts = page.locator("#run-preview tbody tr").count()  # a candidate may have nothing to bill
    assert 0 < drafts <= min(count, 50)
    with page.expect_navigation():
        page.click("#run-confirm button[type=submit]")
    assert page.locator(".alert-success").count() == 1
    row = page.locator("#runs tbody tr", has_text=period)
    assert row.count() == 1 and "done" in row.inner_text()

    # the invoices are there; open one and download its PDF
    page.goto("/billing/invoices/")
    links = page.locator("#invoices tbody a")
    assert links.count() >= drafts
    with page.expect_navigation():
        links.first.click()
    number = page.locator("h1").inner_text().split()[-1]
    header = page.locator("#invoice-header").inner_text()
    invoice_vs = re.search(r"(?:Variabilní symbol|Variable symbol)\s+(\d+)", header).group(1)
    customer_number = re.search(r"\((\d+)\)", header).group(1)
    customer_name = page.locator("#invoice-header dd").first.inner_text().rsplit(" (", 1)[0]
    total = amount_of(page.locator("#invoice-vat tr.fw-bold td").last.inner_text())
    assert total > 0
    assert page.locator("#invoice-unpaid").inner_text() != "Uhrazeno"
    pdf_href = page.get_attribute("a[href$='/pdf']", "href")
    response = page.request.get(pdf_href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    body = response.body()
    assert body.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert number in text
    invoice_url = page.url

    # a bank statement through the import page: one payment matches the invoice, one waits for pairing
    path = tmp_path / "vypis.gpc"
    path.write_bytes(statement(invoice_vs, total, customer_name))
    page.goto("/billing/payments/import")
    page.set_input_files("#import-form input[type=file]", str(path))
    with page.expect_navigation():
        page.click("#import-form button[type=submit]")
    assert page.locator(".alert-success").count() == 1, page.locator("body").inner_text()[:3000]
    assert "vypis.gpc" in page.locator("#statements").inner_text()

    page.goto("/billing/payments/?state=matched")
    matched = page.locator("tbody tr", has_text=invoice_vs)
    assert matched.count() >= 1 and customer_name in matched.first.inner_text()
    page.goto(invoice_url)
    assert page.locator("#invoice-unpaid").inner_text() == "Uhrazeno"

    # pairing: the stray payment is offered; pair it with the customer by number
    page.goto("/billing/payments/pairing")
    card = page.locator("div.card", has_text=STRAY_VS)
    assert card.count() == 1
    card_id = card.get_attribute("id")
    card.locator("input[name=customer]").fill(customer_number)
    with page.expect_navigation():
        card.locator("form.d-flex button[type=submit]").first.click()
    assert page.locator(".alert-success").count() == 1
    assert page.locator(f"#{card_id}").count() == 0
    page.goto("/billing/payments/?state=matched")
    assert customer_name in page.locator("tbody tr", has_text=STRAY_VS).inner_text()
