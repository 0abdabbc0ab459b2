"""The ComGate driver against the gateway simulator (a real subprocess), its answer parser, and the
service's rules that need no web request (idempotent start, amounts, settings, the tenancy guard)."""

from __future__ import annotations

import socket
import urllib.parse
import urllib.request
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mango_billing.payments.gateway import (
    CANCELLED,
    PAID,
    PENDING,
    GatewayError,
    GatewayRefused,
    GatewayUnavailable,
    OutcomeUnknown,
    PaymentRequest,
    Status,
    from_minor,
    minor_units,
)
from mango_billing.payments.gateway_comgate import ComGateDriver, label_of, parse_answer
from mango_billing.payments.gateway_testing import MERCHANT, SECRET, Simulator


@pytest.fixture
def simulator():  # noqa: ANN201
    started: list[Simulator] = []

    def start(*args: str) -> Simulator:
        sim = Simulator(*args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def _driver(sim: Simulator, **kw) -> ComGateDriver:  # noqa: ANN003
    return ComGateDriver(kw.pop("merchant", MERCHANT), kw.pop("secret", SECRET), api_url=sim.api_url, **kw)


def _request(reference: str = "a" * 32, amount: str = "1499.50") -> PaymentRequest:
    return PaymentRequest(reference=reference, amount=Decimal(amount), currency="CZK", label="Faktura FV2025000123",
                          email="jana@example.test")


def test_create_then_status_follows_the_payer(simulator):
    sim = simulator()
    driver = _driver(sim)
    created = driver.create(_request())
    assert created.redirect_url == f"{sim.base}/client/instructions/index?id={created.trans_id}"
    stored = sim.state()["transactions"][0]
    # what went over the wire: minor units, a label of at most 16 characters, prepareOnly, test mode
    assert (stored["price"], stored["label"], stored["refId"], stored["test"], stored["curr"]) == \
        ("149950", "Faktura FV202500", "a" * 32, "true", "CZK")
    assert driver.status(created.trans_id) == Status(created.trans_id, PENDING, Decimal("1499.50"), "CZK", "a" * 32,
                                                     test=True, method="ALL")
    sim.payer(created.trans_id, "approve")
    assert driver.status(created.trans_id).state == PAID
    # a decided transaction stays decided
    sim.payer(created.trans_id, "decline")
    assert driver.status(created.trans_id).state == PAID


def test_a_declined_card_is_cancelled(simulator):
    sim = simulator()
    driver = _driver(sim)
    created = driver.create(_request())
    sim.payer(created.trans_id, "decline")
    assert driver.status(created.trans_id).state == CANCELLED


def test_a_wrong_secret_or_unknown_transaction_is_refused(simulator):
    sim = simulator()
    with pytest.raises(GatewayRefused, match="1401") as caught:
        _driver(sim, secret="wrong").create(_request())
    assert caught.value.code == "1401" and "wrong" not in str(caught.value)
    with pytest.raises(GatewayRefused, match="1400"):
        _driver(sim).status("NO-SUCH-TRANS")


def test_nothing_listening_is_unavailable_and_a_hanging_gateway_is_unknown(simulator):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(GatewayUnavailable):
        ComGateDriver(MERCHANT, SECRET, api_url=f"http://127.0.0.1:{port}/v1.0/", timeout=2).create(_request())
    sim = simulator("--fault", "status-timeout", "--hang", "3")
    driver = _driver(sim, timeout=1)
    created = driver.create(_request())
    with pytest.raises(OutcomeUnknown, match="no answer"):
        driver.status(created.trans_id)
    assert driver.status(created.trans_id).state == PENDING  # the fault was once


def test_a_server_error_is_an_unknown_outcome(simulator):
    sim = simulator("--fault", "status-error")
    driver = _driver(sim)
    created = driver.create(_request())
    with pytest.raises(OutcomeUnknown, match="HTTP 500"):
        driver.status(created.trans_id)


def test_bad_requests_are_refused_by_the_simulator(simulator):
    sim = simulator()
    body = urllib.parse.urlencode({"merchant": MERCHANT, "secret": SECRET, "price": "0", "curr": "CZK",
                                   "label": "x", "refId": "r", "prepareOnly": "true"}).encode()
    with urllib.request.urlopen(urllib.request.Request(sim.api_url + "create", data=body), timeout=10) as answer:
        assert parse_answer(answer.read())["code"] == "1400"


def test_duplicate_notifications_are_sent_as_asked(simulator):
    """The simulator POSTs each notification N times, with the fields and the secret of ComGate's push."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict[str, str]] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers["Content-Length"])
            received.append(dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    sink = HTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    try:
        sim = simulator("--duplicates", "2", "--notify-url", f"http://127.0.0.1:{sink.server_port}/n?t=${{id}}")
        created = _driver(sim).create(_request())
        sim.payer(created.trans_id, "approve")
    finally:
        sink.shutdown()
        sink.server_close()
    assert len(received) == 2 and received[0] == received[1]
    assert {k: received[0][k] for k in ("transId", "status", "price", "refId", "merchant", "secret")} == {
        "transId": created.trans_id, "status": "PAID", "price": "149950", "refId": "a" * 32, "merchant": MERCHANT,
        "secret": SECRET}


def test_amounts_in_minor_units():
    assert minor_units(Decimal("1499.50")) == 149950
    assert from_minor("149950") == Decimal("1499.50")
    with pytest.raises(ValueError):
        minor_units(Decimal("1.005"))
    with pytest.raises(ValueError):
        from_minor("12.5")


def test_labels_fit_comgate():
    assert label_of("  Faktura   FV2025000001  ") == "Faktura FV202500"
    assert label_of("") == "Platba"


@given(st.binary(max_size=200))
def test_garbage_answers_are_a_gateway_error_never_a_traceback(data):
    try:
        answer = parse_answer(data)
    except GatewayError:
        return
    assert "code" in answer


def test_the_driver_needs_credentials():
    with pytest.raises(GatewayError):
        ComGateDriver("", "x")
