"""Online card payments of invoices in Selfcare against the gateway simulator (a real subprocess).

The application is served over real HTTP in a thread (``AppServer``) so that the simulator's push
notifications reach it; the customer's browser is the Flask test client, and "the payer presses a
button on the gateway's page" is a POST to the simulator. Every case checks the ledger: one entry per
paid online payment, none for a payment that did not go through.
"""

from __future__ import annotations

import re
import urllib.parse
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from mango_billing.models import Invoice, LedgerEntry, Payment
from mango_billing.payments import gateway_models as gm
from mango_billing.payments import gateway_service
from mango_billing.payments.gateway_jobs import settle_job
from mango_billing.payments.gateway_models import GatewaySettings, OnlinePayment
from mango_billing.payments.gateway_testing import SECRET, AppServer, Simulator
from mango_billing.run import run_billing
from mango_core.db import utcnow
from mango_core.scheduler.jobs import JobContext
from mango_core.selfcare.testing import build_portal, portal_login
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import BankAccount
from mango_core.testing.fixtures import csrf_token, login, post

KEY = Fernet.generate_key().decode()
RETURN_URL = "http://localhost/selfcare/billing/gateway/return?id=${id}&refId=${refId}"
FORM_RE = re.compile(r'data-pay-card="(\d+)">.*?name="csrf_token" type="hidden" value="([^"]+)">'
                     r'<input id="pay-reference-\d+" name="reference" type="hidden" value="([0-9a-f]{32})">', re.S)


@pytest.fixture
def keys(mango, monkeypatch):  # noqa: ANN001, ANN201
    billing = {**mango.settings.section("plugin_settings").get("billing", {}), "secret_keys": [KEY],
               "gateway_timeout": 1}
    monkeypatch.setitem(mango.settings.data, "plugin_settings",
                        {**mango.settings.section("plugin_settings"), "billing": billing})


@pytest.fixture
def shop(app, db, world, keys):  # noqa: ANN001, ANN201
    """Jana's portal in PRG, billed for March 2025 (484,00 Kč, due long ago), and the app on real HTTP."""
    with app.test_request_context():
        portal = build_portal(db, world.loc_a, tag="gw")
    with operator_scope():
        world.loc_a.dic = world.loc_a.dic or f"CZ{world.loc_a.ico}"
        db.commit()
    with app.test_request_context(), location_scope(world.loc_a.id):
        db.add(BankAccount(label="Main", account_number="19-2000145399/0800", iban="CZ6508000000192000145399",
                            is_default=True))
        db.flush()
        run_billing(db, world.loc_a, "2025-03", issued_on=date(2025, 3, 1))
        db.commit()
        found = db.scalar(select(Invoice).where(Invoice.customer_id == portal.customer_id))
        # plain values: the test's session expires ORM objects whenever the app commits
        invoice = SimpleNamespace(id=found.id, total=found.total, number=found.number)
    server = AppServer(app)
    yield portal, invoice, server
    server.stop()


@pytest.fixture
def gateway(app, db, world, shop):  # noqa: ANN001, ANN201
    """``gateway(*simulator args)``: a simulator process set up as PRG's gateway (notifications to the app)."""
    _portal, _invoice, server = shop
    started: list[Simulator] = []

    def start(*args: str) -> Simulator:
        sim = Simulator("--return-url", RETURN_URL, "--notify-url",
                        f"{server.base}/billing/gateway/hook/notify/{world.loc_a.code}", *args)
        started.append(sim)
        with app.test_request_context(), location_scope(world.loc_a.id):
            gateway_service.save_settings(db, merchant="123456", secret=SECRET, test_mode=True, api_url=sim.api_url,
                                          method="ALL", is_active=True, actor=None)
            db.commit()
        return sim

    yield start
    for sim in started:
        sim.stop()


def _pay_form(client, path: str) -> tuple[int, str, str]:  # noqa: ANN001
    html = client.get(path).get_data(as_text=True)
    found = FORM_RE.search(html)
    assert found, "no card payment button on the page"
    return int(found.group(1)), found.group(2), found.group(3)


def _start(client, invoice_id: int, reference: str | None = None, token: str | None = None):  # noqa: ANN001, ANN202
    """Press "Pay by card" on the invoice page: the redirect to the gateway's page."""
    shown, token_shown, reference_shown = _pay_form(client, f"/selfcare/billing/invoices/{invoice_id}")
    assert shown == invoice_id
    return client.post(f"/selfcare/billing/gateway/pay/{invoice_id}",
                       data={"csrf_token": token or token_shown, "reference": reference or reference_shown})


def _trans_id(response, client) -> str:  # noqa: ANN001
    """Follow the pay form's redirect to the hand-over page; the transaction id of the gateway page it leads to."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "/selfcare/billing/gateway/payments/" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    location = page.headers["Refresh"].removeprefix("0; url=")
    assert "/client/instructions/index?id=" in location, location
    assert f'data-gateway-url="{location}"' in page.get_data(as_text=True)
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["id"][0]


def _come_back(client, return_url: str):  # noqa: ANN001, ANN202
    """The browser follows the gateway's redirect back to the portal (the return URL's path and query)."""
    parts = urllib.parse.urlsplit(return_url)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302 and "/selfcare/billing/gateway/payments/" in response.headers["Location"]
    return client.get(response.headers["Location"])


def _online(db, world) -> list[OnlinePayment]:  # noqa: ANN001
    db.expire_all()
    with location_scope(world.loc_a.id):
        return list(db.scalars(select(OnlinePayment).order_by(OnlinePayment.id)))


def _card_entries(db, world, customer_id: int) -> list[LedgerEntry]:  # noqa: ANN001
    db.expire_all()
    with location_scope(world.loc_a.id):
        return list(db.scalars(select(LedgerEntry).join(Payment, Payment.id == LedgerEntry.payment_id).where(
            LedgerEntry.customer_id == customer_id, Payment.method == "card",
            Payment.dedup_key.like("manual:gateway:%"))))


def _unpaid(db, world, portal, invoice) -> object:  # noqa: ANN001
    db.expire_all()
    with location_scope(world.loc_a.id):
        return gateway_service.open_item(db, portal.customer_id, invoice.id)


def test_approved_payment_notified_before_the_return_is_booked_once(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway()
    portal_login(client, "PRG", portal.email)
    response = _start(client, invoice.id)
    trans_id = _trans_id(response, client)
    [payment] = _online(db, world)
    assert (payment.state, payment.trans_id, payment.amount, payment.test) == (gm.PENDING, trans_id, invoice.total, True)
    gateway_side = sim.state()["transactions"][0]
    assert gateway_side["price"] == "48400" and gateway_side["refId"] == payment.reference
    return_url = sim.payer(trans_id, "approve")
    # the simulator notified the app before sending the payer back: booked already
    assert sim.state()["deliveries"] == [{"transId": trans_id, "status": "PAID", "answers": [200]}]
    [payment] = _online(db, world)
    assert payment.state == gm.PAID and payment.notifications == 1 and payment.billing_payment_id
    page = _come_back(client, return_url).get_data(as_text=True)
    assert 'data-state="paid"' in page and "484,00" in page
    [entry] = _card_entries(db, world, portal.customer_id)
    assert entry.amount == invoice.total and entry.kind == "payment"
    assert _unpaid(db, world, portal, invoice) is None
    detail = client.get(f"/selfcare/billing/invoices/{invoice.id}").get_data(as_text=True)
    assert "data-pay-card" not in detail
    assert 'id="invoice-unpaid">Uhrazeno' in detail


def test_duplicate_notifications_book_the_payment_once(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway("--duplicates", "3")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    return_url = sim.payer(trans_id, "approve")
    assert sim.state()["deliveries"][0]["answers"] == [200, 200, 200]
    _come_back(client, return_url)
    _come_back(client, return_url)  # the customer reloads the return page
    [payment] = _online(db, world)
    assert payment.state == gm.PAID and payment.notifications == 3
    assert len(_card_entries(db, world, portal.customer_id)) == 1


def test_return_before_the_notification_asks_the_gateway_and_the_late_notification_changes_nothing(
        client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway("--notify", "manual")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    return_url = sim.payer(trans_id, "approve")
    [payment] = _online(db, world)
    assert payment.state == gm.PENDING and payment.notifications == 0
    page = _come_back(client, return_url).get_data(as_text=True)
    assert 'data-state="paid"' in page
    assert sim.deliver() == {trans_id: [200]}
    [payment] = _online(db, world)
    assert payment.state == gm.PAID and payment.notifications == 1
    assert len(_card_entries(db, world, portal.customer_id)) == 1


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_declined_or_cancelled_payment_books_nothing_and_the_invoice_stays_payable(client, db, world, shop, gateway,
                                                                                   action):
    portal, invoice, _server = shop
    sim = gateway()
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    return_url = sim.payer(trans_id, action)
    assert sim.state()["deliveries"][0]["status"] == "CANCELLED"
    page = _come_back(client, return_url).get_data(as_text=True)
    assert 'data-state="cancelled"' in page and "Platba neproběhla" in page
    assert f'data-pay-card="{invoice.id}"' in page  # the result page offers another try
    [payment] = _online(db, world)
    assert payment.state == gm.CANCELLED and payment.billing_payment_id is None
    assert _card_entries(db, world, portal.customer_id) == []
    assert _unpaid(db, world, portal, invoice).unpaid == invoice.total
    # a new attempt is a new transaction
    assert _trans_id(_start(client, invoice.id), client) != trans_id


def test_unknown_outcome_is_settled_by_the_job_once(app, client, db, world, shop, gateway, mango):
    portal, invoice, _server = shop
    sim = gateway("--notify", "never")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    sim.payer(trans_id, "approve")  # the customer pays and closes the browser; no notification comes
    [payment] = _online(db, world)
    assert payment.state == gm.PENDING
    later = utcnow() + timedelta(minutes=10)
    with app.app_context(), location_scope(world.loc_a.id):
        # a young pending payment is left to the return and the notification
        assert gateway_service.waiting(db) == []
        found = gateway_service.active_settings(db)
        driver = gateway_service.driver_for(found, mango.plugin_settings("billing"))
        first = gateway_service.settle_all(db, driver, now=later)
        second = gateway_service.settle_all(db, driver, now=later)
        db.commit()
    assert (first.paid, second.paid, second.pending) == (1, 0, 0)
    [payment] = _online(db, world)
    assert payment.state == gm.PAID and payment.checks >= 1
    assert len(_card_entries(db, world, portal.customer_id)) == 1


def test_the_scheduled_job_settles_through_its_context(app, client, db, world, shop, gateway, mango, monkeypatch):
    portal, invoice, _server = shop
    sim = gateway("--notify", "never")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    sim.payer(trans_id, "decline")
    monkeypatch.setattr(gateway_service, "SETTLE_AFTER", timedelta(0))
    with app.app_context(), location_scope(world.loc_a.id):
        ctx = JobContext(session=db, location_id=world.loc_a.id, job_id="billing:gateway_settle",
                         settings=mango.plugin_settings("billing"))
        assert settle_job(ctx).startswith("paid 0, cancelled 1")
        assert settle_job(ctx).startswith("paid 0, cancelled 0, still pending 0")
    assert [p.state for p in _online(db, world)] == [gm.CANCELLED]


def test_a_status_time_out_leaves_the_payment_pending_until_the_gateway_answers(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway("--fault", "status-timeout", "--hang", "3", "--notify", "manual")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    return_url = sim.payer(trans_id, "approve")
    # the notification came, the status did not: 503 so that the gateway sends it again
    assert sim.deliver() == {trans_id: [503]}
    [payment] = _online(db, world)
    assert payment.state == gm.PENDING and "status:" in payment.error
    page = _come_back(client, return_url).get_data(as_text=True)
    assert 'data-state="paid"' in page
    [payment] = _online(db, world)
    assert payment.error is None and payment.checks == 2
    assert len(_card_entries(db, world, portal.customer_id)) == 1


def test_an_amount_changed_at_the_gateway_is_refused(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway("--fault", "price-change", "--fault-times", "5")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    return_url = sim.payer(trans_id, "approve")
    page = _come_back(client, return_url).get_data(as_text=True)
    assert 'data-state="mismatch"' in page
    [payment] = _online(db, world)
    assert payment.state == gm.MISMATCH and "485.00" in payment.error and payment.billing_payment_id is None
    assert _card_entries(db, world, portal.customer_id) == []


def test_a_paid_invoice_cannot_be_paid_again(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway()
    portal_login(client, "PRG", portal.email)
    _shown, token, _reference = _pay_form(client, f"/selfcare/billing/invoices/{invoice.id}")
    trans_id = _trans_id(_start(client, invoice.id), client)
    sim.payer(trans_id, "approve")
    response = client.post(f"/selfcare/billing/gateway/pay/{invoice.id}",
                           data={"csrf_token": token, "reference": "ab" * 16})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/invoices/{invoice.id}")
    assert "je již zaplacena" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert len(_online(db, world)) == 1 and len(sim.state()["transactions"]) == 1


def test_a_double_submit_makes_one_transaction(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway()
    portal_login(client, "PRG", portal.email)
    _shown, token, reference = _pay_form(client, f"/selfcare/billing/invoices/{invoice.id}")
    first = client.post(f"/selfcare/billing/gateway/pay/{invoice.id}", data={"csrf_token": token, "reference": reference})
    second = client.post(f"/selfcare/billing/gateway/pay/{invoice.id}", data={"csrf_token": token, "reference": reference})
    assert _trans_id(first, client) == _trans_id(second, client)
    # clicking again later (a fresh form) offers the same waiting transaction of the same amount
    assert _trans_id(_start(client, invoice.id), client) == _trans_id(first, client)
    assert len(_online(db, world)) == 1 and len(sim.state()["transactions"]) == 1


def test_a_create_time_out_fails_the_attempt_without_sending_the_customer_anywhere(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    gateway("--fault", "create-timeout", "--hang", "3")
    portal_login(client, "PRG", portal.email)
    response = _start(client, invoice.id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/invoices/{invoice.id}")
    [payment] = _online(db, world)
    assert payment.state == gm.FAILED and payment.redirect_url is None
    assert "Platební brána neodpovídá" in client.get(response.headers["Location"]).get_data(as_text=True)
    # the next attempt works (the fault was once)
    assert _trans_id(_start(client, invoice.id), client)


def test_paying_by_card_lifts_the_debt_block(client, db, world, shop, gateway):
    from mango_billing import dunning
    from mango_core.services.models import Service

    portal, invoice, _server = shop
    sim = gateway()
    with location_scope(world.loc_a.id):
        dunning.create_default_steps(db)
        # 35 days after the due date: the block step (the invoice is due on 15 March 2025)
        dunning.run(db, date(2025, 4, 19))
        db.commit()
        service = db.get(Service, portal.service_id)
        assert service.state == "blocked"
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    sim.payer(trans_id, "approve")
    db.expire_all()
    with location_scope(world.loc_a.id):
        service = db.get(Service, portal.service_id)
        assert service.state != "blocked" and {b.kind for b in service.blocks if b.until is None} == set()


def test_the_dashboard_offers_card_payment_of_each_unpaid_invoice(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    gateway()
    portal_login(client, "PRG", portal.email)
    html = client.get("/selfcare/").get_data(as_text=True)
    assert f'data-pay-card="{invoice.id}"' in html and "Zaplatit kartou" in html


def test_no_button_without_a_gateway_and_no_payment_without_one(client, db, world, shop):
    portal, invoice, _server = shop
    portal_login(client, "PRG", portal.email)
    assert "data-pay-card" not in client.get(f"/selfcare/billing/invoices/{invoice.id}").get_data(as_text=True)
    token = csrf_token(client, "/selfcare/")
    response = client.post(f"/selfcare/billing/gateway/pay/{invoice.id}",
                           data={"csrf_token": token, "reference": "cd" * 16})
    assert response.status_code == 302 and _online(db, world) == []


def test_notifications_need_the_merchant_and_secret_and_name_a_known_transaction(client, db, world, shop, gateway):
    gateway()
    url = f"/billing/gateway/hook/notify/{world.loc_a.code}"
    assert client.post(url, data={"merchant": "123456", "secret": "wrong", "transId": "X"}).status_code == 401
    assert client.post("/billing/gateway/hook/notify/NOPE", data={"merchant": "123456", "secret": SECRET}
                       ).status_code == 401
    answer = client.post(url, data={"merchant": "123456", "secret": SECRET, "transId": "NOT-KNOWN"})
    assert answer.status_code == 404 and answer.get_data(as_text=True).startswith("code=1400")


def test_another_customers_payment_is_not_found(client, db, world, shop, gateway):
    from mango_core.customers.models import Customer
    from mango_core.selfcare.testing import add_account

    portal, invoice, _server = shop
    sim = gateway("--notify", "manual")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    return_url = sim.payer(trans_id, "approve")
    [payment] = _online(db, world)
    with location_scope(world.loc_a.id):
        other = db.get(Customer, portal.other_id)
    add_account(db, other, "otto.gw@example.test")
    client.post("/selfcare/PRG/logout", data={"csrf_token": csrf_token(client, "/selfcare/")})
    portal_login(client, "PRG", "otto.gw@example.test")
    parts = urllib.parse.urlsplit(return_url)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 404
    assert client.get(f"/selfcare/billing/gateway/payments/{payment.reference}").status_code == 404
    assert _online(db, world)[0].state == gm.PENDING  # nothing was settled for the wrong customer


# --- Opcare ---------------------------------------------------------------------------------------------


def _login_staff(client, user, location) -> None:  # noqa: ANN001
    login(client, user.email)
    post(client, "/location", {"location_id": location.id})


def test_gateway_settings_are_permission_checked_and_the_secret_is_encrypted(app, client, db, world, keys):
    _login_staff(client, world.clerk_a, world.loc_a)
    assert client.get("/billing/gateway/settings").status_code == 403
    assert client.get("/billing/gateway/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    _login_staff(client, world.admin_a, world.loc_a)
    page = client.get("/billing/gateway/settings").get_data(as_text=True)
    assert f"/billing/gateway/hook/notify/{world.loc_a.code}" in page and "refId=${refId}" in page
    token = csrf_token(client, "/billing/gateway/settings")
    missing = client.post("/billing/gateway/settings", data={"csrf_token": token, "merchant": "654321"})
    assert missing.status_code == 200 and "Zadejte heslo" in missing.get_data(as_text=True)
    saved = client.post("/billing/gateway/settings", data={
        "csrf_token": token, "merchant": "654321", "secret": "very-secret-password", "test_mode": "y",
        "api_url": "", "method": "ALL", "is_active": "y"})
    assert saved.status_code == 302
    db.expire_all()
    with app.app_context(), location_scope(world.loc_a.id):
        found = db.scalar(select(GatewaySettings))
        assert found.merchant == "654321" and "very-secret" not in found.secret_encrypted
        assert gateway_service.BOX.decrypt(found.secret_encrypted) == "very-secret-password"
    page = client.get("/billing/gateway/settings").get_data(as_text=True)
    assert "very-secret-password" not in page and "rd" in page  # only the masked hint
    # another location's admin sees no gateway of PRG
    with location_scope(world.loc_b.id):
        assert db.scalar(select(func.count()).select_from(GatewaySettings)) == 0


def test_the_opcare_list_shows_online_payments_and_asks_the_gateway(client, db, world, shop, gateway):
    portal, invoice, _server = shop
    sim = gateway("--notify", "never")
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, invoice.id), client)
    sim.payer(trans_id, "approve")
    [payment] = _online(db, world)
    _login_staff(client, world.admin_a, world.loc_a)
    page = client.get("/billing/gateway/").get_data(as_text=True)
    assert f'data-online-payment="{payment.id}" data-state="pending"' in page and trans_id in page
    token = csrf_token(client, "/billing/gateway/")
    assert client.post(f"/billing/gateway/{payment.id}/check", data={"csrf_token": token}).status_code == 302
    assert _online(db, world)[0].state == gm.PAID
    assert len(_card_entries(db, world, portal.customer_id)) == 1
    assert client.post("/billing/gateway/999999/check", data={"csrf_token": token}).status_code == 404


def test_an_advance_invoice_is_paid_by_card_into_its_advance(app, client, db, world, shop, gateway):
    """A print order's advance (zálohová faktura) has no ledger debt: its open amount is the advance's,
    and billing sends the card money, carrying the advance's variable symbol, to that advance."""
    from decimal import Decimal

    from mango_billing import advances
    from mango_billing.periods import RatedLine
    from mango_core.tenancy.models import Location

    portal, _invoice, _server = shop
    sim = gateway()
    with app.test_request_context(), location_scope(world.loc_a.id):
        line = RatedLine(kind="one_off", description="Tisk plakátů", amount=Decimal("1000.00"),
                         vat_rate=Decimal("21"), customer_id=0, quantity=Decimal("1"), unit="ks")
        advance = advances.issue_advance(db, db.get(Location, world.loc_a.id), portal.customer_id, [line],
                                         source="gateway-test:1")
        db.commit()
        advance_id, document_id = advance.id, advance.invoice_id
    portal_login(client, "PRG", portal.email)
    trans_id = _trans_id(_start(client, document_id), client)
    [payment] = _online(db, world)
    assert payment.amount == Decimal("1210.00")
    sim.payer(trans_id, "approve")
    db.expire_all()
    with location_scope(world.loc_a.id):
        advance = advances.get(db, advance_id)
        assert advance.state == advances.PAID and advance.paid == Decimal("1210.00")
        booked = db.get(Payment, _online(db, world)[0].billing_payment_id)
        assert (booked.target, booked.method) == ("advance", "card")
    assert "data-pay-card" not in client.get(f"/selfcare/billing/invoices/{document_id}").get_data(as_text=True)
