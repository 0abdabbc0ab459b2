"""The cash desk in a real browser against a real `mango serve`, with the terminal simulator as the
register's card terminal: find a customer, see the open invoice, take cash with change, then a card
payment; receipts show the result and the ledger has each payment once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from mango_billing import ledger
from mango_billing.models import LedgerEntry
from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.customers import service as customers
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.fixtures import CHROMIUM
from mango_ixpos.cashdesk import service
from mango_ixpos.testing import TODAY, Simulator, make_invoice

pytestmark = pytest.mark.browser


class Site:
    def __init__(self, base: str, url: str, instance: Path, plugins: list[str]) -> None:
        self.base = base
        self.app = create_app(settings=load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
        self.mango = self.app.extensions["mango"]
        self.ids: dict[str, int] = {}

    def session(self):  # noqa: ANN201
        return self.mango.db.session()


def _data(site: Site, terminal_port: int) -> None:
    with site.app.app_context(), site.session() as session:
        with operator_scope():
            site.ids["prg"] = session.scalar(select(Location).where(Location.code == "PRG")).id
        with location_scope(site.ids["prg"]):
            customer = customers.create_customer(session, kind="person", first_name="Petra", last_name="Pokladní")
            invoice = make_invoice(session, customer, "1499.50", TODAY)
            register = service.create_register(session, name="Přepážka", terminal_host="127.0.0.1",
                                               terminal_port=terminal_port)
            service.open_session(session, register_id=register.id, opening_float="2000")
            session.commit()
            site.ids.update(customer=customer.id, invoice=invoice.id, register=register.id)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    instance = tmp_path_factory.mktemp("ixpos-live")
    url, drop = live.server_database(instance, "ixpos")
    terminal = Simulator()
    try:
        live.prepare(url, instance, mango_test_plugins)
        port = live.free_port()
        running = Site(f"http://127.0.0.1:{port}", url, instance, mango_test_plugins)
        try:
            _data(running, terminal.port)
            proc = live.start([live.venv_bin("mango"), "serve", "--port", str(port)],
                              live.server_env(url, instance, mango_test_plugins), port, instance / "server.log")
            try:
                yield running
            finally:
                live.stop(proc)
        finally:
            running.mango.db.dispose()
    finally:
        terminal.stop()
        drop()


@pytest.fixture
def page(site, chromium):  # noqa: ANN001, ANN201
    ctx = chromium.new_context(base_url=site.base, viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(90_000)
    ctx.set_default_navigation_timeout(90_000)
    tab = ctx.new_page()
    tab.problems = []
    tab.on("pageerror", lambda exc: tab.problems.append(str(exc)))
    log_in(tab, "admin@alfa.test")
    if tab.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with tab.expect_navigation():
            tab.select_option("#location_id", label="PRG – Praha")
        tab.wait_for_load_state("load")
    yield tab
    ctx.close()


def test_cash_then_card_payment_at_the_desk(site, page):  # noqa: ANN001
    page.goto("/")
    with page.expect_navigation():
        page.click("#main-menu a[data-menu='ixpos_cashdesk.index']")
    with page.expect_navigation():
        page.locator(f"tr[data-register='{site.ids['register']}'] a", has_text="Přijímat platby").click()
    page.fill("#ixpos-search input[name=q]", "Pokladní")
    with page.expect_navigation():
        page.press("#ixpos-search input[name=q]", "Enter")
    with page.expect_navigation():
        page.locator("#ixpos-found a", has_text="Petra Pokladní").click()
    assert page.locator(f"#ixpos-open-invoices tr[data-invoice='{site.ids['invoice']}']").is_visible()
    assert page.input_value("#ixpos-pay input[name=amount]") == "1499.50"
    page.fill("#ixpos-pay input[name=amount]", "1500")
    page.fill("#ixpos-pay input[name=tendered]", "2000")
    with page.expect_navigation():
        page.click("#ixpos-pay-submit")
    assert page.get_attribute("#ixpos-payment", "data-state") == "approved"
    receipt = page.locator("#ixpos-receipt").inner_text()
    assert "Vráceno" in receipt and "500,00 CZK" in receipt and "Petra Pokladní" in receipt
    assert "Platba přijata." in page.locator(".alert-success").inner_text()

    # the rest is paid by card: the simulator approves it
    with page.expect_navigation():
        page.click("text=Zpět na pokladnu")
    page.goto(f"/ixpos/registers/{site.ids['register']}?customer={site.ids['customer']}")
    page.select_option("#ixpos-pay select[name=method]", "card")
    page.select_option("#ixpos-pay select[name=target]", "prepaid")
    page.fill("#ixpos-pay input[name=amount]", "300")
    with page.expect_navigation():
        page.click("#ixpos-pay-submit")
    assert page.get_attribute("#ixpos-payment", "data-state") == "approved"
    assert "A0000" in page.locator("#ixpos-receipt").inner_text()
    assert page.problems == []

    with site.app.app_context(), site.session() as session, location_scope(site.ids["prg"]):
        assert ledger.balance(session, site.ids["customer"]) == Decimal("0.50")
        assert ledger.balance(session, site.ids["customer"], "prepaid") == Decimal("300.00")
        booked = session.scalars(select(LedgerEntry.amount).where(LedgerEntry.customer_id == site.ids["customer"],
                                                                  LedgerEntry.payment_id.is_not(None))).all()
        assert sorted(booked) == [Decimal("300.00"), Decimal("1500.00")]
