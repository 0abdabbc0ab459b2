"""Opcare pages of partners, locations, bank accounts and module switches; location switching."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mango_core.tenancy import location_scope, operator_scope, service
from mango_core.tenancy.models import BankAccount, Licence, LocationModule, Partner
from mango_core.testing.fixtures import login, post


def _text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def test_operator_manages_partners_in_czech(client, world, db):
    login(client, world.operator.email)
    page = _text(client.get("/partners"))
    assert "Partneři" in page and "ALFA" in page and "BETA" in page
    resp = post(client, "/partners/new", {"code": "gama", "name": "Gama", "company_name": "Gama s.r.o.",
                                          "ico": "27082441", "is_active": "y"}, token_from="/partners/new")
    assert resp.status_code == 200 and "chybnou kontrolní číslici" in _text(resp)
    assert db.scalar(select(Partner).where(Partner.code == "GAMA")) is None
    resp = post(client, "/partners/new", {"code": "gama", "name": "Gama", "company_name": "Gama s.r.o.",
                                          "ico": "27082440", "dic": "CZ27082440", "is_active": "y"},
                token_from="/partners/new")
    assert resp.status_code == 302
    gama = db.scalar(select(Partner).where(Partner.code == "GAMA"))
    assert gama.dic == "CZ27082440"
    page_url = f"/partners/{gama.id}"
    resp = post(client, f"{page_url}/licences", {"module": "example", "valid_from": "2025-01-01"}, token_from=page_url)
    assert resp.status_code == 302
    resp = post(client, f"{page_url}/licences", {"module": "example", "valid_from": "2025-06-01"}, token_from=page_url)
    assert resp.status_code == 400 and "Překrývá se" in _text(resp)
    licence = db.scalar(select(Licence).where(Licence.partner_id == gama.id))
    resp = post(client, f"{page_url}/licences/{licence.id}/end", {"valid_until": "2025-12-31"}, token_from=page_url)
    assert resp.status_code == 302
    db.refresh(licence)
    assert licence.valid_until == date(2025, 12, 31)
    resp = post(client, f"{page_url}/edit", {"name": "Gama Net", "company_name": "Gama s.r.o.", "ico": "27082440",
                                             "is_active": "y", "code": "HACK"}, token_from=f"{page_url}/edit")
    assert resp.status_code == 302
    db.refresh(gama)
    assert (gama.code, gama.name) == ("GAMA", "Gama Net")
    assert client.get("/partners/999999").status_code == 404


def test_partner_pages_are_operators_only(client, world):
    login(client, world.admin_a.email)
    assert client.get("/partners").status_code == 403
    assert client.get(f"/partners/{world.partner_a.id}").status_code == 403
    assert client.get("/locations/new").status_code == 403
    menu = _text(client.get("/"))
    assert 'data-menu="core_tenancy.locations"' in menu and 'data-menu="core_tenancy.partners"' not in menu


def test_partner_user_sees_only_own_locations(client, world, db):
    with location_scope(world.loc_b.id):
        acc_b = service.add_bank_account(db, world.loc_b.id, label="Beta účet", account="1234567899/0100")
    with location_scope(world.loc_a.id):
        acc_a = service.add_bank_account(db, world.loc_a.id, label="Alfa účet", account="2400000009/2010")
    db.commit()
    login(client, world.admin_a.email)
    page = _text(client.get("/locations"))
    assert "PRG" in page and "KLA" in page and "BRN" not in page
    detail = _text(client.get(f"/locations/{world.loc_a.id}"))
    assert "Alfa účet" in detail and "CZ15 2010 0000 0024 0000 0009" in detail and "Beta účet" not in detail
    assert client.get(f"/locations/{world.loc_a2.id}").status_code == 200  # holds the role there too
    for url in (f"/locations/{world.loc_b.id}", f"/locations/{world.loc_b.id}/edit",
                f"/locations/{world.loc_b.id}/bank-accounts/new",
                f"/locations/{world.loc_a.id}/bank-accounts/{acc_b.id}/edit",
                f"/locations/{world.loc_b.id}/bank-accounts/{acc_b.id}/edit"):
        assert client.get(url).status_code == 404, url
    resp = post(client, f"/locations/{world.loc_a.id}/bank-accounts/{acc_b.id}/delete", token_from="/locations")
    assert resp.status_code == 404
    resp = post(client, f"/locations/{world.loc_b.id}/modules/example", {"action": "disable"}, token_from="/locations")
    assert resp.status_code == 404
    with operator_scope():
        assert db.get(BankAccount, acc_b.id) is not None
    # the clerk may not see location pages at all
    post(client, "/logout")
    login(client, world.clerk_a.email)
    assert client.get("/locations").status_code == 403
    assert acc_a.id


def test_edit_location_and_bank_accounts(client, world, db):
    login(client, world.admin_a.email)
    url = f"/locations/{world.loc_a.id}"
    form = {"name": "Praha", "company_name": "Alfa Net s.r.o.", "ico": "27082440", "dic": "", "vat_payer": "y",
            "street": "Hlavní 1", "city": "Praha", "postal_code": "110 00", "country": "CZ", "currency": "CZK",
            "locale": "cs", "timezone": "Europe/Prague", "invoice_series": "{}", "is_active": "y",
            "partner_id": str(world.partner_a.id), "code": "PRG"}
    resp = post(client, f"{url}/edit", form, token_from=f"{url}/edit")
    assert resp.status_code == 200 and "Plátce DPH musí mít DIČ." in _text(resp)
    db.refresh(world.loc_a)
    assert world.loc_a.dic is None and world.loc_a.vat_payer
    resp = post(client, f"{url}/edit", {**form, "dic": "CZ27082440", "city": "Praha 1"}, token_from=f"{url}/edit")
    assert resp.status_code == 302
    db.refresh(world.loc_a)
    assert (world.loc_a.dic, world.loc_a.city, world.loc_a.postal_code) == ("CZ27082440", "Praha 1", "11000")

    resp = post(client, f"{url}/bank-accounts/new", {"label": "Fio", "account": "2400000009/2011", "currency": "CZK"},
                token_from=f"{url}/bank-accounts/new")
    assert resp.status_code == 200 and "nepatří žádné české bance" in _text(resp)
    resp = post(client, f"{url}/bank-accounts/new", {"label": "Fio", "account": "2400000009/2010", "currency": "CZK"},
                token_from=f"{url}/bank-accounts/new")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        acc = db.scalar(select(BankAccount))
    assert (acc.account_number, acc.bic, acc.is_default) == ("2400000009/2010", "FIOBCZPP", True)
    edit = f"{url}/bank-accounts/{acc.id}/edit"
    resp = post(client, edit, {"label": "Fio EUR", "account": "DE89 3704 0044 0532 0130 00", "currency": "EUR"},
                token_from=edit)
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        db.refresh(acc)
    assert (acc.label, acc.iban, acc.account_number, acc.currency) == ("Fio EUR", "DE89370400440532013000", None, "EUR")
    resp = post(client, f"{url}/bank-accounts/{acc.id}/delete", token_from=url)
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(BankAccount)) is None
    # no CSRF token, no change
    assert client.post(f"{url}/bank-accounts/new", data={"label": "x", "account": "2400000009/2010"}).status_code == 400


def test_module_switches(client, world, db, module_name, mango):
    login(client, world.operator.email)
    brn = f"/locations/{world.loc_b.id}"
    page = _text(client.get(brn))
    assert 'data-module="example"' in page and "Zapnout" in page
    resp = post(client, f"{brn}/modules/{module_name}", {"action": "enable"}, token_from=brn)
    assert resp.status_code == 302
    assert module_name in mango.enabled_modules(world.loc_b.id)
    # a partner without a valid licence cannot have the module switched on
    with operator_scope():
        for lic in db.scalars(select(Licence).where(Licence.partner_id == world.partner_b.id)):
            lic.valid_from, lic.valid_until = date(2020, 1, 1), date(2020, 12, 31)
        db.execute(LocationModule.__table__.delete().where(LocationModule.location_id == world.loc_b.id))
        db.commit()
    resp = post(client, f"{brn}/modules/{module_name}", {"action": "enable"}, token_from=brn, follow_redirects=True)
    assert "nemá pro modul example licenci platnou" in _text(resp)
    assert module_name not in mango.enabled_modules(world.loc_b.id)
    # a partner administrator switches the module off in his location
    post(client, "/logout")
    login(client, world.admin_a.email)
    prg = f"/locations/{world.loc_a.id}"
    resp = post(client, f"{prg}/modules/{module_name}", {"action": "disable"}, token_from=prg)
    assert resp.status_code == 302 and module_name not in mango.enabled_modules(world.loc_a.id)


def test_operator_switches_location_and_sees_its_data(client, world, db, module_name):
    from mango_example.models import ExampleNote

    with operator_scope():
        db.add(LocationModule(location_id=world.loc_b.id, module=module_name))
        db.add(ExampleNote(text="Poznámka z Brna", location_id=world.loc_b.id))
        db.add(ExampleNote(text="Poznámka z Prahy", location_id=world.loc_a.id))
        db.commit()
    login(client, world.operator.email)
    resp = post(client, "/location", {"location_id": str(world.loc_a.id)})
    assert resp.status_code == 302
    page = _text(client.get("/example/"))
    assert "Poznámka z Prahy" in page and "Poznámka z Brna" not in page
    resp = post(client, "/location", {"location_id": str(world.loc_b.id)})
    assert resp.status_code == 302
    page = _text(client.get("/example/"))
    assert "Poznámka z Brna" in page and "Poznámka z Prahy" not in page


def test_partner_user_cannot_switch_to_other_partner(client, world):
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": str(world.loc_b.id)}).status_code == 404
    assert post(client, "/location", {"location_id": str(world.loc_a2.id)}).status_code == 302


def test_english_switch(client, world):
    login(client, world.operator.email)
    post(client, "/language", {"locale": "en", "next": "/partners"})
    page = _text(client.get(f"/locations/{world.loc_a.id}"))
    assert "Bank accounts" in page and "Bankovní účty" not in page
