"""Payments screens: permissions, CSRF, 404 across locations, import upload, pairing, manual payment."""

from __future__ import annotations

import io
import itertools
import re
from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from mango_billing import ledger
from mango_billing.bank import BankMovement, BankStatement
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.models import Payment
from mango_billing.payments.models import PaymentEvent
from mango_core.customers.models import Customer
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount
from mango_core.testing.fixtures import csrf_token, login, post

_n = itertools.count(900_000)


def _customer(db, vs: str) -> Customer:
    n = next(_n)
    c = Customer(number=n, variable_symbol=vs, kind="person", first_name="Eva", last_name="Malá",
                 display_name="Eva Malá", sort_name="mala eva", state="active")
    db.add(c)
    db.flush()
    return c


def _statement(*pairs: tuple[str, str | None]) -> bytes:
    movements = tuple(BankMovement(None, date(2024, 2, i + 1), D(a), "CZK", "19-2000145399/0800", None, vs, None, None,
                                   None) for i, (a, vs) in enumerate(pairs))
    return write_gpc(BankStatement("gpc", "2400222222/2010", "CZK", "1", None, None, D("0"), None, movements))


def _setup(db, world):
    with location_scope(world.loc_a.id):
        db.add(BankAccount(label="Fio", account_number="2400222222/2010", iban="CZ6520100000002400222222"))
        c = _customer(db, "4444")
        db.commit()
    return c


def _login_prg(client, world) -> None:
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def _upload(client, data: bytes, name: str = "s.gpc"):
    token = csrf_token(client, "/billing/payments/import")
    return client.post("/billing/payments/import", data={"csrf_token": token, "format": "", "account": "",
                                                         "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_permissions(client, world, db):
    login(client, world.clerk_a.email)
    assert client.get("/billing/payments/").status_code == 403
    assert client.get("/billing/payments/pairing").status_code == 403
    assert post(client, "/billing/payments/1/ignore", {}, token_from="/").status_code == 403


def test_import_upload_pairing_and_log(client, world, db):
    c = _setup(db, world)
    _login_prg(client, world)
    assert client.get("/billing/payments/").status_code == 200
    resp = _upload(client, _statement(("100.00", "4444"), ("77.00", "4445")))
    assert resp.status_code == 302
    again = _upload(client, _statement(("100.00", "4444"), ("77.00", "4445")))
    assert again.status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Payment)) == 2
        unmatched = db.scalar(select(Payment).where(Payment.state == "unmatched"))
    page = client.get("/billing/payments/pairing").get_data(as_text=True)
    assert f"unmatched-{unmatched.id}" in page and "suggestion" in page  # 4445 is one digit off 4444
    # without CSRF nothing changes
    assert client.post(f"/billing/payments/{unmatched.id}/pair", data={"customer": "4444"}).status_code == 400
    resp = post(client, f"/billing/payments/{unmatched.id}/pair", {"customer": "4444", "target": "receivable"},
                token_from="/billing/payments/pairing")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        db.expire_all()
        assert ledger.balance(db, c.id) == D("177.00")
        event = db.scalar(select(PaymentEvent).where(PaymentEvent.payment_id == unmatched.id))
        assert (event.action, event.user_id) == ("paired", world.admin_a.id)
    detail = client.get(f"/billing/payments/{unmatched.id}").get_data(as_text=True)
    assert "paired" in detail


def test_bad_file_shows_the_error(client, world, db):
    _setup(db, world)
    _login_prg(client, world)
    resp = _upload(client, b"074 this is not a statement\r\n")
    assert resp.status_code == 400
    assert "128" in resp.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Payment)) == 0


def test_manual_payment_double_submit_creates_one(client, world, db):
    c = _setup(db, world)
    _login_prg(client, world)
    html = client.get("/billing/payments/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1)
    form = {"customer": "4444", "amount": "250,00", "method": "cash", "target": "receivable",
            "received_on": "2024-03-01", "note": "", "idempotency_key": key}
    first = post(client, "/billing/payments/new", form, token_from="/billing/payments/new")
    second = post(client, "/billing/payments/new", form, token_from="/billing/payments/new")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with location_scope(world.loc_a.id):
        db.expire_all()
        assert ledger.balance(db, c.id) == D("250.00")
    bad = post(client, "/billing/payments/new", {**form, "amount": "12.345", "idempotency_key": "other"},
               token_from="/billing/payments/new")
    assert bad.status_code == 400


def test_payment_of_another_location_is_404(client, world, db):
    with location_scope(world.loc_b.id):
        other = Payment(dedup_key="x", received_on=date(2024, 1, 1), amount=D("1.00"))
        db.add(other)
        db.commit()
    _login_prg(client, world)
    assert client.get(f"/billing/payments/{other.id}").status_code == 404
    resp = post(client, f"/billing/payments/{other.id}/ignore", {}, token_from="/billing/payments/pairing")
    assert resp.status_code == 404
    with location_scope(world.loc_b.id):
        db.expire_all()
        assert db.get(Payment, other.id).state == "unmatched"


def test_fio_token_screen_stores_it_encrypted_and_switches_it_off(client, world, db, mango, monkeypatch):
    from cryptography.fernet import Fernet

    from mango_billing.payments import fio_download
    from mango_billing.payments.models import FioLink

    _setup(db, world)
    with location_scope(world.loc_a.id):
        account = db.scalar(select(BankAccount).where(BankAccount.label == "Fio"))
    _login_prg(client, world)
    page = client.get("/billing/payments/import").get_data(as_text=True)
    assert "Automatické stahování z Fio banky" in page and "Zatím se z Fio banky nestahuje" in page
    # no key configured: a clear (Czech) error, nothing stored
    bad = post(client, "/billing/payments/fio", {"fio-account": str(account.id), "fio-token": "abc123XYZ9"},
               token_from="/billing/payments/import")
    assert bad.status_code == 400 and "chybí šifrovací klíč" in bad.get_data(as_text=True)
    key = Fernet.generate_key().decode()
    monkeypatch.setitem(mango.settings.data, "plugin_settings",
                        {**mango.settings.section("plugin_settings"), "billing": {"fio_token_key": key}})
    bad = post(client, "/billing/payments/fio", {"fio-account": str(account.id), "fio-token": "not a token!"},
               token_from="/billing/payments/import")
    assert bad.status_code == 400 and "jen z písmen a číslic" in bad.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(FioLink)) == 0
    done = post(client, "/billing/payments/fio", {"fio-account": str(account.id), "fio-token": "abc123XYZ9"},
                token_from="/billing/payments/import")
    assert done.status_code == 302
    with location_scope(world.loc_a.id):
        link = db.scalar(select(FioLink))
        assert link.is_active and "abc123XYZ9" not in link.token_encrypted
        assert fio_download.token_of(link, key) == "abc123XYZ9"
    page = client.get("/billing/payments/import").get_data(as_text=True)
    assert "…XYZ9" in page and "abc123XYZ9" not in page
    assert post(client, f"/billing/payments/fio/{link.id}/off", {},
                token_from="/billing/payments/import").status_code == 302
    with location_scope(world.loc_a.id):
        db.refresh(link)
        assert not link.is_active and link.token_hint == "XYZ9"


def test_fio_link_of_another_location_is_404(client, world, db):
    _setup(db, world)
    with location_scope(world.loc_b.id):
        other = BankAccount(label="Brno", account_number="2400222222/2010", iban="CZ6520100000002400222222")
        db.add(other)
        db.flush()
        from mango_billing.payments.models import FioLink

        link = FioLink(bank_account_id=other.id, token_encrypted="x", token_hint="x", rate_state={})
        db.add(link)
        db.commit()
    _login_prg(client, world)
    assert post(client, f"/billing/payments/fio/{link.id}/off", {},
                token_from="/billing/payments/import").status_code == 404
    bad = post(client, "/billing/payments/fio", {"fio-account": str(other.id), "fio-token": "abc123XYZ9"},
               token_from="/billing/payments/import")
    assert bad.status_code == 400
