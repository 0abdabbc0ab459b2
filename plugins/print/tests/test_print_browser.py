"""The print shop in a real browser against a real `mango serve`: the customer configures a product and
watches the price change live, uploads a PDF that fails preflight and then a good one, staff send the
proof from the production board, the customer approves it, staff produce and hand it over, and the
billing run puts the order on the customer's invoice, which the customer sees in the portal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mango_core.config import load_settings
from mango_core.kernel import Mango
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.fixtures import CHROMIUM

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)  # CI shares two cores with PostgreSQL and the server


class Site:
    def __init__(self, url: str, instance: Path, plugins: list[str]) -> None:
        self.mango = Mango.start(load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
        self.base = ""
        self.email = ""
        self.ids: dict[str, int] = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    from mango_print.testing import build_shop

    instance = tmp_path_factory.mktemp("print-live")
    url, drop = live.server_database(instance, "print")
    try:
        live.prepare(url, instance, mango_test_plugins)
        running = Site(url, instance, mango_test_plugins)
        try:
            with running.mango.db.session() as session:
                with operator_scope():
                    prg = session.scalar(select(Location).where(Location.code == "PRG"))
                shop = build_shop(session, prg, tag="live")
                running.ids.update(location=prg.id, product=shop.product_id, customer=shop.customer_id)
                running.email = shop.email
            port = live.free_port()
            running.base = f"http://127.0.0.1:{port}"
            proc = live.start([live.venv_bin("mango"), "serve", "--port", str(port)],
                              live.server_env(url, instance, mango_test_plugins), port, instance / "server.log")
            try:
                yield running
            finally:
                live.stop(proc)
        finally:
            running.mango.db.dispose()
    finally:
        drop()


@pytest.fixture
def context_of(site, chromium):  # noqa: ANN001, ANN201
    contexts = []

    def make():  # noqa: ANN202
        ctx = chromium.new_context(base_url=site.base, viewport={"width": 1366, "height": 900})
        ctx.set_default_timeout(90_000)
        ctx.set_default_navigation_timeout(90_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


def staff_move(staff, order_id: int, to: str) -> None:  # noqa: ANN001
    staff.goto(f"/print/orders/{order_id}")
    staff.select_option("#to", to)
    with staff.expect_navigation():
        staff.click("#state-form button[type=submit]")
    assert staff.get_attribute("#order-state", "data-state") == to


def test_from_configuration_and_upload_to_production_and_invoice(site, context_of):  # noqa: ANN001
    from mango_core.selfcare.testing import PASSWORD
    from mango_print.testing import pypdf_pdf

    problems: list[str] = []
    customer = context_of().new_page()
    customer.on("pageerror", lambda exc: problems.append(str(exc)))
    customer.goto("/selfcare/PRG/login")
    customer.fill("input[name=login]", site.email)
    customer.fill("input[name=password]", PASSWORD)
    with customer.expect_navigation():
        customer.click("#selfcare-login-form button[type=submit]")
    customer.goto("/selfcare/print/")
    with customer.expect_navigation():
        customer.click(f"#print-products a[data-product='{site.ids['product']}']")
    customer.wait_for_load_state("load")
    assert customer.get_attribute("#price-total", "data-total") == "510.00"  # A5, matt, 170 g, 4/0, 100 pcs
    customer.select_option("#p_colours", "4/4")
    expect(customer.locator("#price-total")).to_have_attribute("data-total", "630.00")
    customer.fill("#p_quantity", "1000")  # the break from 1000 pieces: x 0.65
    expect(customer.locator("#price-total")).to_have_attribute("data-total", "3270.00")
    assert "3\u00a0270,00" in customer.inner_text("#price-total")
    customer.fill("#p_quantity", "0")
    expect(customer.locator("#price-total")).to_have_attribute("data-total", "")
    expect(customer.locator("#price-note")).not_to_be_empty()
    customer.fill("#p_quantity", "1000")
    expect(customer.locator("#price-total")).to_have_attribute("data-total", "3270.00")
    # first a file without bleed
    customer.set_input_files("#file", {"name": "letak.pdf", "mimeType": "application/pdf",
                                       "buffer": pypdf_pdf(148, 210, pages=2)})
    with customer.expect_navigation():
        customer.click("#order-button")
    assert customer.get_attribute("#order-state", "data-state") == "preflight_failed"
    assert customer.get_attribute("#preflight", "data-verdict") == "fail"
    assert "chybí spadávka" in customer.inner_text("#preflight")
    order_id = int(customer.url.rstrip("/").rsplit("/", 1)[1])
    customer.set_input_files("#file", {"name": "oprava.pdf", "mimeType": "application/pdf",
                                       "buffer": pypdf_pdf(154, 216, pages=2)})
    with customer.expect_navigation():
        customer.click("#upload-form button[type=submit]")
    assert customer.get_attribute("#order-state", "data-state") == "received"
    assert customer.get_attribute("#preflight", "data-verdict") == "ok"

    staff = context_of().new_page()
    staff.on("pageerror", lambda exc: problems.append(str(exc)))
    log_in(staff, "admin@alfa.test")
    if staff.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with staff.expect_navigation():
            staff.select_option("#location_id", label="PRG – Praha")
        staff.wait_for_load_state("load")
    staff.goto("/print/")
    card = staff.locator(f"#print-board [data-column='received'] [data-order='{order_id}']")
    assert "3\u00a0270,00" in card.inner_text()
    with staff.expect_navigation():
        card.click()
    staff_move(staff, order_id, "proof_sent")
    ticket = staff.request.get(f"/print/orders/{order_id}/ticket.pdf")
    assert ticket.ok and ticket.body().startswith(b"%PDF")

    customer.reload()
    with customer.expect_navigation():
        customer.click("#approve")
    assert customer.get_attribute("#order-state", "data-state") == "approved"

    for state in ("in_production", "finished", "picked_up"):
        staff_move(staff, order_id, state)
    assert staff.locator("#billed").is_visible()

    # the month's billing run (the scheduler's job) invoices the order's charge
    from mango_billing.run import run_billing

    with site.mango.db.session() as session, location_scope(site.ids["location"]):
        location = session.get(Location, site.ids["location"])
        run_billing(session, location, date.today().strftime("%Y-%m"))
    customer.goto("/selfcare/billing/invoices")
    with customer.expect_navigation():
        customer.click("#selfcare-invoices a >> nth=0")
    assert f"zakázka č. {order_id}" in customer.inner_text("body")
    assert problems == []
