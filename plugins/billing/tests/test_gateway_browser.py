"""A customer pays an invoice by card in a real browser: Selfcare of a real `mango serve`, the gateway
simulator (a real subprocess) as PRG's payment gateway. The dashboard offers "Zaplatit kartou", the
browser goes to the simulator's page, the card is approved, the simulator notifies the server and sends
the browser back; the portal says paid, the invoice is paid and the ledger has the payment once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from mango_billing.ledger import open_items
from mango_billing.models import Invoice, LedgerEntry, Payment
from mango_billing.payments import gateway_service
from mango_billing.payments.gateway_testing import MERCHANT, SECRET, Simulator
from mango_billing.run import run_billing
from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.selfcare.testing import PASSWORD, build_portal
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_core.testing import live
from mango_core.testing.fixtures import CHROMIUM

pytestmark = pytest.mark.browser
KEY = Fernet.generate_key().decode()


class Site:
    def __init__(self, url: str, instance: Path, plugins: list[str]) -> None:
        self.app = create_app(settings=load_settings({"database_url": url, "plugins": plugins},
                                                     instance_path=instance))
        self.mango = self.app.extensions["mango"]
        self.base = ""
        self.ids: dict[str, int] = {}
        self.email = ""
        self.total = ""


def _data(site: Site, api_url: str) -> None:
    """Jana's portal in PRG with her invoice of this month, and PRG's gateway pointing at the simulator."""
    with site.app.app_context(), site.mango.db.session() as session:
        with operator_scope():
            prg = session.scalar(select(Location).where(Location.code == "PRG"))
        with site.app.test_request_context():
            portal = build_portal(session, prg, tag="live")
        with site.app.test_request_context(), location_scope(prg.id):
            run_billing(session, prg, date.today().strftime("%Y-%m"))
            invoice = session.scalar(select(Invoice).where(Invoice.customer_id == portal.customer_id))
            gateway_service.save_settings(session, merchant=MERCHANT, secret=SECRET, test_mode=True, api_url=api_url,
                                          method="ALL", is_active=True, actor=None)
            session.commit()
            site.ids.update(location=prg.id, customer=portal.customer_id, invoice=invoice.id)
            site.total = f"{invoice.total:.2f}".replace(".", ",")
            site.email = portal.email


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[tuple[Site, Simulator]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    instance = tmp_path_factory.mktemp("gateway-live")
    (instance / "mango.toml").write_text(f'[plugin_settings.billing]\nsecret_keys = ["{KEY}"]\n', encoding="utf-8")
    url, drop = live.server_database(instance, "gateway")
    simulator = Simulator()
    try:
        live.prepare(url, instance, mango_test_plugins)
        running = Site(url, instance, mango_test_plugins)
        try:
            _data(running, simulator.api_url)
            port = live.free_port()
            running.base = f"http://127.0.0.1:{port}"
            simulator.configure(return_url=f"{running.base}/selfcare/billing/gateway/return?id=${{id}}&refId=${{refId}}",
                                notify_url=f"{running.base}/billing/gateway/hook/notify/PRG")
            proc = live.start([live.venv_bin("mango"), "serve", "--port", str(port)],
                              live.server_env(url, instance, mango_test_plugins), port, instance / "server.log")
            try:
                yield running, simulator
            finally:
                live.stop(proc)
        finally:
            running.mango.db.dispose()
    finally:
        simulator.stop()
        drop()


def test_a_customer_pays_an_invoice_by_card_and_sees_it_paid(site, chromium):  # noqa: ANN001
    running, simulator = site
    with live.contexts(chromium, running.base) as make:
        page = make().new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto("/selfcare/PRG/login")
        page.fill("input[name=login]", running.email)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("#selfcare-login-form button[type=submit]")
        invoice_id = running.ids["invoice"]
        card = page.locator(f"[data-unpaid-invoice='{invoice_id}']")
        assert card.is_visible()
        button = card.locator(f"form[data-pay-card='{invoice_id}'] button")
        assert "Zaplatit kartou" in button.inner_text()
        # the portal stores the payment, asks the gateway and hands the browser over to its page
        with page.expect_navigation(url=f"{simulator.base}/client/instructions/index?id=*"):
            button.click()
        page.wait_for_selector("#sim-approve")
        assert page.inner_text("#sim-amount") == f"{running.total} CZK"
        with page.expect_navigation(url=f"{running.base}/selfcare/billing/gateway/payments/*"):
            page.click("#sim-approve")
        assert page.get_attribute("#gateway-result", "data-state") == "paid"
        assert "Děkujeme, platba proběhla." in page.inner_text("#gateway-result")
        with page.expect_navigation():
            page.click("#gateway-invoice")
        assert page.inner_text("#invoice-unpaid") == "Uhrazeno"
        assert page.locator("form[data-pay-card]").count() == 0
        page.goto("/selfcare/")
        assert page.locator(f"[data-unpaid-invoice='{invoice_id}']").count() == 0
        assert problems == []
    deliveries = simulator.state()["deliveries"]
    assert [d["answers"] for d in deliveries] == [[200]]
    with running.app.app_context(), running.mango.db.session() as session, location_scope(running.ids["location"]):
        entries = session.scalars(select(LedgerEntry).join(Payment, Payment.id == LedgerEntry.payment_id).where(
            LedgerEntry.customer_id == running.ids["customer"], Payment.method == "card")).all()
        invoice = session.get(Invoice, invoice_id)
        assert [e.amount for e in entries] == [invoice.total]
        assert all(item.invoice_id != invoice_id for item in open_items(session, running.ids["customer"]))
