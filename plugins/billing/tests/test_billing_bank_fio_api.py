"""The Fio REST API client against a real HTTP server on 127.0.0.1 (no mocks of urllib)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mango_billing.bank.fio_api import (
    FioApiError,
    FioClient,
    FioRateLimit,
    FioStatementError,
    FioTooEarlyError,
    token_key,
)

TOKEN = "Pu5CMBu5nYBthKaqM0FaUlY7JIjUnY0FaUlY7JIjU1eUlPu5CMBu5nYBthKaqM0F"
OTHER_TOKEN = "Z" * 64

STATEMENT = {
    "accountStatement": {
        "info": {
            "accountId": "2400222222",
            "bankId": "2010",
            "currency": "CZK",
            "openingBalance": 100.00,
            "closingBalance": 250.00,
            "dateStart": "2024-03-01+0100",
            "dateEnd": "2024-03-02+0100",
        },
        "transactionList": {
            "transaction": [
                {
                    "column22": {"value": 26000000001, "name": "ID pohybu", "id": 22},
                    "column0": {"value": "2024-03-02+0100", "name": "Datum", "id": 0},
                    "column1": {"value": 150.00, "name": "Objem", "id": 1},
                    "column14": {"value": "CZK", "name": "Měna", "id": 14},
                    "column5": {"value": "2024001", "name": "VS", "id": 5},
                }
            ]
        },
    }
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _Handler(BaseHTTPRequestHandler):
    server: _FioServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        status, body = self.server.answer(self.path)
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
        return


class _FioServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []
        self.status = 200
        self.body = json.dumps(STATEMENT).encode()

    def answer(self, path: str) -> tuple[int, bytes]:
        return self.status, self.body if self.status == 200 else b"<html>error</html>"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/ib_api/rest"


@pytest.fixture
def server() -> Iterator[_FioServer]:
    srv = _FioServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client(server: _FioServer, clock: FakeClock, **kwargs) -> FioClient:
    kwargs.setdefault("rate_limit", FioRateLimit())
    return FioClient(TOKEN, base_url=server.base_url, clock=clock, sleep=clock.sleep, timeout=5, **kwargs)


def _assert_no_token(exc: BaseException) -> None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        assert TOKEN not in str(exc) and TOKEN not in repr(exc)
        assert all(TOKEN not in str(arg) for arg in exc.args)
        exc = exc.__cause__ or exc.__context__


def test_last_downloads_and_parses(server, clock):
    st = client(server, clock).last()
    assert server.requests == [f"/ib_api/rest/last/{TOKEN}/transactions.json"]
    assert st.account == "2400222222/2010"
    (m,) = st.movements
    assert (m.bank_id, m.amount, m.variable_symbol) == ("26000000001", Decimal("150.00"), "2024001")


def test_periods_serves_the_public_fixture(server, clock, shared_fixtures):
    server.body = (shared_fixtures / "bank" / "fio_api_periods_honzajavorek-fiobank.json").read_bytes()
    st = client(server, clock).periods(date(2016, 8, 3), date(2016, 8, 3))
    assert server.requests == [f"/ib_api/rest/periods/{TOKEN}/2016-08-03/2016-08-03/transactions.json"]
    assert [m.amount for m in st.movements] == [Decimal("-130.00"), Decimal("-353.29")]
    with pytest.raises(FioApiError, match="starts"):
        client(server, clock).periods(date(2016, 8, 4), date(2016, 8, 3))


def test_rate_limit_per_token_in_a_persistable_object(server, clock):
    limit = FioRateLimit()
    first = client(server, clock, rate_limit=limit)
    first.last()
    clock.now += 10
    with pytest.raises(FioTooEarlyError, match="try again in 20 s") as caught:
        first.last()
    assert caught.value.retry_after == pytest.approx(20)
    assert len(server.requests) == 1  # the client did not even ask

    # The state survives in the object the caller keeps (and may store): no token inside.
    saved = limit.to_dict()
    assert saved == {token_key(TOKEN): clock.now - 10}
    assert TOKEN not in json.dumps(saved)
    restored = client(server, clock, rate_limit=FioRateLimit(saved))
    with pytest.raises(FioTooEarlyError):
        restored.last()

    # Another token has its own slot.
    FioClient(OTHER_TOKEN, base_url=server.base_url, rate_limit=limit, clock=clock).last()
    assert len(server.requests) == 2

    clock.now += 20
    restored.last()
    assert len(server.requests) == 3


def test_wait_sleeps_until_the_slot(server, clock):
    waiting = client(server, clock, wait=True)
    waiting.last()
    clock.now += 5
    waiting.last()
    assert clock.slept == [pytest.approx(25)]
    assert len(server.requests) == 2


def test_http_409_is_too_early(server, clock):
    server.status = 409
    limit = FioRateLimit()
    with pytest.raises(FioTooEarlyError, match=r"HTTP 409") as caught:
        client(server, clock, rate_limit=limit).last()
    assert caught.value.retry_after == 30
    _assert_no_token(caught.value)
    assert limit.to_dict()[token_key(TOKEN)] == clock.now


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, r"token does not exist or is not active"),
        (404, r"URL or its parameters are wrong"),
        (413, r"at most 50,000"),
        (503, r"unexpected answer HTTP 503"),
    ],
)
def test_http_errors_are_clear_and_never_show_the_token(server, clock, caplog, status, message):
    server.status = status
    caplog.set_level(logging.DEBUG, logger="mango_billing.bank.fio_api")
    with pytest.raises(FioApiError, match=message) as caught:
        client(server, clock).last()
    _assert_no_token(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert caplog.records, "the request and the failure are logged"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    assert any("/last/***/transactions.json" in r.getMessage() for r in caplog.records)


def test_unreachable_server(clock):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fio = FioClient(TOKEN, base_url=f"http://127.0.0.1:{port}/ib_api/rest", clock=clock, timeout=2)
    with pytest.raises(FioApiError, match="cannot reach the Fio API") as caught:
        fio.last()
    _assert_no_token(caught.value)


def test_unreadable_body_keeps_it_for_the_caller(server, clock):
    server.body = b'{"accountStatement": {"info": {}}}'
    with pytest.raises(FioStatementError, match="missing accountId") as caught:
        client(server, clock).last()
    assert caught.value.body == server.body
    _assert_no_token(caught.value)


def test_set_last_id_and_date(server, clock):
    fio = client(server, clock)
    fio.set_last_id(1147608196)
    clock.now += 30
    fio.set_last_date(date(2012, 7, 27))
    assert server.requests == [
        f"/ib_api/rest/set-last-id/{TOKEN}/1147608196/",
        f"/ib_api/rest/set-last-date/{TOKEN}/2012-07-27/",
    ]
    with pytest.raises(FioApiError, match="non-negative integer"):
        fio.set_last_id(-1)


def test_bad_configuration_is_refused_without_echoing_the_token():
    with pytest.raises(FioApiError, match="letters and digits") as caught:
        FioClient("abc/../x" + TOKEN)
    _assert_no_token(caught.value)
    with pytest.raises(FioApiError, match="http"):
        FioClient(TOKEN, base_url="file:///etc")
    assert TOKEN not in repr(FioClient(TOKEN))
