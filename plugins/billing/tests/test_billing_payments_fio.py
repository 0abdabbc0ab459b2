"""Fio download: the token encrypted at rest, the rate limit kept, movements imported (local HTTP server)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from mango_billing.bank.fio_api import FioTooEarlyError
from mango_billing.models import Payment
from mango_billing.payments import fio_download
from mango_billing.payments.models import FioLink
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount

TOKEN = "abcDEF1234567890secret"


@pytest.fixture
def fio_server(shared_fixtures):
    body = (shared_fixtures / "bank" / "fio_api_example-response_mhujer.json").read_bytes()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            if self.path != f"/last/{TOKEN}/transactions.json":
                self.send_response(500)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_fio_download_imports_and_respects_the_rate_limit(db, world, fio_server):
    base_url, seen = fio_server
    key = Fernet.generate_key().decode()
    with location_scope(world.loc_a.id):
        account = BankAccount(label="Fio", account_number="214498596/2010", iban="CZ0820100000000214498596")
        db.add(account)
        db.flush()
        link = fio_download.set_token(db, account.id, TOKEN, base_url=base_url, key=key)
        assert TOKEN not in link.token_encrypted and link.token_hint == TOKEN[-4:]
        assert fio_download.token_of(link, key) == TOKEN
        summary = fio_download.download(db, world.loc_a.id, link, key=key)
        assert summary is not None and summary.new == 3
        assert db.scalar(select(func.count()).select_from(Payment)) == 3
        assert link.rate_state  # persisted, keyed by a hash
        assert TOKEN not in repr(link.rate_state)
        with pytest.raises(FioTooEarlyError):
            fio_download.download(db, world.loc_a.id, db.get(FioLink, link.id), key=key)
        assert len(seen) == 1  # the second attempt never reached the bank
        with pytest.raises(fio_download.FioLinkError, match="does not decrypt"):
            fio_download.token_of(link, Fernet.generate_key().decode())


def test_no_key_no_token(db, world):
    with location_scope(world.loc_a.id):
        account = BankAccount(label="Fio", account_number="214498596/2010", iban="CZ0820100000000214498596")
        db.add(account)
        db.flush()
        with pytest.raises(fio_download.FioLinkError, match="fio_token_key"):
            fio_download.set_token(db, account.id, TOKEN, key="")
