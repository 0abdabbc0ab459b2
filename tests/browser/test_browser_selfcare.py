"""The customer portal in a real browser, against a real `mango serve` and a real SMTP server.

Staff invite a customer from the Opcare card; `mango jobs run core:send_mail` delivers the invitation
to an aiosmtpd server; the customer (on a phone-sized screen) follows the link, sets a password,
logs in, sees the QR Platba of the unpaid invoice, changes the Wi-Fi name of the service, downloads
the invoice PDF and logs out.

The server has a database of its own (not the shared browser-test one): this test bills a month,
which must not disturb the other browser tests' billing.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from mango_core.testing import live
from mango_core.testing.browser import log_in

pytestmark = pytest.mark.browser

CUSTOMER_EMAIL = "eva.portalova@example.test"
NEW_PASSWORD = "moje-nove-heslo-2026"
PHONE = {"width": 390, "height": 844}


@dataclass
class Portal:
    url: str
    env: dict[str, str]
    smtp: object
    customer_id: int
    service_id: int
    invoice_number: str


def _customer_with_an_unpaid_invoice(url: str, instance: Path, plugins: list[str]) -> tuple[int, int, str]:
    """Eva with an Internet service (Wi-Fi name editable by the customer) and her invoice of this month."""
    from mango_billing.models import Invoice
    from mango_billing.run import run_billing
    from mango_core.catalog.models import Product
    from mango_core.config import load_settings
    from mango_core.customers import service as customers
    from mango_core.kernel import Mango
    from mango_core.services import service as services
    from mango_core.tenancy import location_scope
    from mango_core.tenancy.models import Location

    mango = Mango.start(load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
    try:
        with mango.db.session() as session:
            prg = session.scalar(select(Location).where(Location.code == "PRG"))
            with location_scope(prg.id):
                eva = customers.create_customer(session, kind="person", first_name="Eva", last_name="Portálová",
                                                state="active")
                customers.add_contact(session, eva, name="Eva Portálová", roles=["owner"], emails=[CUSTOMER_EMAIL])
                product = session.scalar(select(Product).where(Product.code == "NET250"))
                service = services.create_service(session, customer_id=eva.id, product_id=product.id,
                                                  params={"wifi_name": "Eva-doma"}, start_date=date(2024, 1, 1),
                                                  activate=True)
                session.commit()
                run_billing(session, prg, date.today().strftime("%Y-%m"))
                invoice = session.scalar(select(Invoice).where(Invoice.customer_id == eva.id))
                return eva.id, service.id, invoice.number
    finally:
        mango.db.dispose()


@pytest.fixture(scope="module")
def portal_server(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Portal]:
    from mango_core.mail.testing import running_smtp_server

    instance = tmp_path_factory.mktemp("selfcare-live")
    url, drop = live.server_database(instance, "selfcare")
    port = live.free_port()
    with running_smtp_server() as smtp:
        (instance / "mango.toml").write_text(
            f'[mail]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nfrom_address = "portal@alfa.test"\n'
            f'\n[selfcare]\nbase_url = "http://127.0.0.1:{port}"\n', encoding="utf-8")
        try:
            live.prepare(url, instance, mango_test_plugins)
            customer_id, service_id, number = _customer_with_an_unpaid_invoice(url, instance, mango_test_plugins)
            env = live.server_env(url, instance, mango_test_plugins)
            proc = live.start([live.venv_bin("mango"), "serve", "--port", str(port)], env, port,
                              instance / "server.log")
            try:
                yield Portal(f"http://127.0.0.1:{port}", env, smtp, customer_id, service_id, number)
            finally:
                live.stop(proc)
        finally:
            drop()


@pytest.fixture
def context_of(browser, portal_server):  # noqa: ANN001, ANN201
    contexts = []

    def make(**options):  # noqa: ANN003, ANN202
        ctx = browser.new_context(base_url=portal_server.url, **options)
        ctx.set_default_timeout(90_000)
        ctx.set_default_navigation_timeout(90_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


def _send_mail(portal: Portal) -> None:
    done = subprocess.run([live.venv_bin("mango"), "jobs", "run", "core:send_mail", "--location", "PRG"],
                          env=portal.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 sent" in done.stdout, done.stdout


def test_invitation_password_login_qr_parameter_pdf_and_logout(context_of, portal_server):
    from pypdf import PdfReader

    # staff: the invitation from the customer card
    staff = context_of(viewport={"width": 1366, "height": 768}).new_page()
    log_in(staff, "admin@alfa.test")
    if staff.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with staff.expect_navigation():
            staff.select_option("#location_id", label="PRG – Praha")
    staff.goto(f"/customers/{portal_server.customer_id}")
    assert staff.locator("#selfcare-access").get_attribute("data-state") == "none"
    with staff.expect_navigation():
        staff.click("#selfcare-invite")
    assert CUSTOMER_EMAIL in staff.locator(".alert-success").inner_text()
    assert staff.locator("#selfcare-access").get_attribute("data-state") == "invited"

    # the mail goes out through a real SMTP server
    _send_mail(portal_server)
    (recipients, message), = portal_server.smtp.messages
    assert recipients == [CUSTOMER_EMAIL]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(portal_server.url)}/selfcare/PRG/password/\S+", body).group(0)

    # the customer, on a phone
    page = context_of(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    page.goto(link)
    assert CUSTOMER_EMAIL in page.locator("main").inner_text()
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=confirm]", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("#selfcare-password-form button[type=submit]")
    assert page.url.endswith("/selfcare/PRG/login")
    page.fill("input[name=login]", CUSTOMER_EMAIL)
    page.fill("input[name=password]", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("#selfcare-login-form button[type=submit]")
    assert page.url.endswith("/selfcare/")
    page.wait_for_load_state("load")

    # the unpaid invoice with its QR Platba, sized for the screen
    qr = page.locator("[data-qr] svg.qr-platba").first
    assert qr.is_visible()
    box = qr.bounding_box()
    assert 120 < box["width"] <= PHONE["width"] and abs(box["width"] - box["height"]) < 2
    spayd = page.locator("[data-qr]").first.get_attribute("data-spayd")
    assert spayd.startswith("SPD*1.0*ACC:CZ") and "*AM:" in spayd and "*CRC32:" in spayd
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling

    # change the Wi-Fi name (a parameter the class lets customers edit)
    with page.expect_navigation():
        page.click(f"[data-open-service='{portal_server.service_id}']")
    page.fill("#p-wifi_name", "Eva-chalupa")
    with page.expect_navigation():
        page.click("#params-form button[type=submit]")
    assert page.locator(".alert-success").count() == 1
    assert page.locator("[data-param=wifi_name]").inner_text().startswith("Eva-chalupa")

    # download the invoice PDF from the overview
    page.goto("/selfcare/")
    with page.expect_download() as download:
        page.locator("[data-pdf]").first.click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert portal_server.invoice_number in text

    # log out through the collapsed phone menu, on a page loaded afresh after the download; the menu is
    # clicked once Bootstrap has finished opening it (CI on a slow machine once waited 90 s for the
    # navigation of a click given while it was still opening)
    page.goto("/selfcare/")
    page.click("button.navbar-toggler")
    page.wait_for_selector("#selfcare-menu.show #logout", state="visible")
    page.click("#logout")
    page.wait_for_url("**/selfcare/PRG/login")
    assert page.locator(".alert-success").count() == 1
    page.goto("/selfcare/")
    assert page.url.endswith("/selfcare/PRG/login")
