"""Service rules: partners, locations, licences, module switches, bank accounts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mango_core.tenancy import operator_scope, service
from mango_core.tenancy.models import BankAccount, Licence, LocationModule, Partner
from mango_core.tenancy.validators import InvalidValue


def _snapshot(obj, fields):  # noqa: ANN001, ANN202
    return {f: getattr(obj, f) for f in fields}


def test_create_partner_normalises(db, world):
    p = service.create_partner(db, code="gama", name="Gama", company_name="Gama s.r.o.", ico="2708 2440",
                               dic="cz27082440", email="Info@Gama.example")
    assert (p.code, p.ico, p.dic, p.email) == ("GAMA", "27082440", "CZ27082440", "info@gama.example")


@pytest.mark.parametrize(("data", "field"), [
    ({"code": "ALFA"}, "code"),
    ({"code": "X"}, "code"),
    ({"ico": "27082441"}, "ico"),
    ({"dic": "CZ1"}, "dic"),
    ({"name": "  "}, "name"),
    ({"email": "nobody"}, "email"),
])
def test_create_partner_refuses(db, world, data, field):
    before = db.scalar(select(Partner.id).order_by(Partner.id.desc()))
    args = {"code": "GAMA", "name": "Gama", "company_name": "Gama s.r.o.", **data}
    with pytest.raises(InvalidValue) as info:
        service.create_partner(db, **args)
    assert info.value.field == field
    assert db.scalar(select(Partner.id).order_by(Partner.id.desc())) == before


def test_update_partner_bad_input_changes_nothing(db, world):
    partner = world.partner_a
    before = _snapshot(partner, service.PARTNER_FIELDS)
    with pytest.raises(InvalidValue):
        service.update_partner(db, partner, name="Alfa 2", ico="123")
    assert _snapshot(partner, service.PARTNER_FIELDS) == before
    service.update_partner(db, partner, name="Alfa 2")
    assert partner.name == "Alfa 2" and partner.ico == before["ico"]


def test_location_rules(db, world):
    loc = service.create_location(db, partner=world.partner_a, code="ost", name="Ostrava", company_name="Alfa s.r.o.",
                                  ico="27082440", dic="CZ27082440", vat_payer=True, postal_code="702 00",
                                  city="Ostrava", currency="eur", locale="en",
                                  invoice_series='{"FV": {"prefix": "FV"}}')
    assert (loc.code, loc.postal_code, loc.currency, loc.locale) == ("OST", "70200", "EUR", "en")
    assert loc.invoice_series == {"FV": {"prefix": "FV"}}
    before = _snapshot(loc, service.LOCATION_FIELDS)
    for bad, field in [({"dic": ""}, "dic"), ({"currency": "EURO"}, "currency"), ({"locale": "de"}, "locale"),
                       ({"postal_code": "7020"}, "postal_code"), ({"invoice_series": "[]"}, "invoice_series"),
                       ({"timezone": "Nowhere"}, "timezone"), ({"country": "XX"}, "country")]:
        with pytest.raises(InvalidValue) as info:
            service.update_location(db, loc, **bad)
        assert info.value.field == field, bad
        assert _snapshot(loc, service.LOCATION_FIELDS) == before
    with pytest.raises(InvalidValue, match="already exists"):
        service.create_location(db, partner=world.partner_b, code="PRG", name="x", company_name="x")
    service.update_location(db, loc, vat_payer=False, dic="")
    assert loc.dic is None and not loc.vat_payer


def test_licences_do_not_overlap(db, world):
    p = world.partner_b  # "archive": a module with no licence in the test world
    first = service.add_licence(db, p, "archive", valid_from=date(2024, 1, 1), valid_until=date(2024, 12, 31))
    with pytest.raises(InvalidValue, match="overlaps"):
        service.add_licence(db, p, "archive", valid_from=date(2024, 6, 1))
    with pytest.raises(InvalidValue, match="overlaps"):
        service.add_licence(db, p, "archive", valid_from=date(2023, 1, 1), valid_until=date(2024, 1, 1))
    with pytest.raises(InvalidValue, match="before it starts"):
        service.add_licence(db, p, "archive", valid_from=date(2026, 1, 1), valid_until=date(2025, 1, 1))
    with pytest.raises(InvalidValue, match="module name"):
        service.add_licence(db, p, "Not A Module")
    second = service.add_licence(db, p, "archive", valid_from=date(2025, 1, 1))
    with pytest.raises(InvalidValue, match="overlaps"):
        service.end_licence(db, first, date(2025, 6, 30))
    assert first.valid_until == date(2024, 12, 31)
    service.end_licence(db, second, date(2025, 3, 31))
    assert second.valid_until == date(2025, 3, 31)
    assert service.valid_licence(db, p.id, "archive", date(2025, 3, 31)) is second
    assert service.valid_licence(db, p.id, "archive", date(2025, 4, 1)) is None


def test_enable_module_needs_valid_licence(db, world, mango, module_name):
    from mango_example import plugin as example

    example.MODULE_CHANGES.clear()
    loc = world.loc_b
    with operator_scope():
        assert not service.enable_module(db, mango.plugins, world.loc_a, module_name)  # already on
        for licence in db.scalars(select(Licence).where(Licence.partner_id == loc.partner_id)):
            service.end_licence(db, licence, date.today() - timedelta(days=1))
        with pytest.raises(InvalidValue, match="no licence"):
            service.enable_module(db, mango.plugins, loc, module_name)
        assert db.scalar(select(LocationModule).where(LocationModule.location_id == loc.id)) is None
        service.add_licence(db, world.partner_b, module_name, valid_from=date.today())
        assert service.enable_module(db, mango.plugins, loc, module_name)
        assert module_name in mango.enabled_modules(loc.id)
        assert example.MODULE_CHANGES[-1] == {"location_id": loc.id, "module": module_name, "enabled": True}
        assert service.disable_module(db, mango.plugins, loc, module_name)
        assert module_name not in mango.enabled_modules(loc.id)
        assert example.MODULE_CHANGES[-1] == {"location_id": loc.id, "module": module_name, "enabled": False}
        assert not service.disable_module(db, mango.plugins, loc, module_name)
        with pytest.raises(InvalidValue, match="not installed"):
            service.enable_module(db, mango.plugins, loc, "nosuch")
        with pytest.raises(InvalidValue, match="part of the core"):
            service.enable_module(db, mango.plugins, loc, "core")
    states = service.module_states(db, mango.plugins, loc)
    assert [(s.name, s.enabled, s.licence is not None) for s in states if s.name == module_name] == [
        (module_name, False, True)]


def test_bank_accounts(db, world):
    loc_a, loc_b = world.loc_a.id, world.loc_b.id
    first = service.add_bank_account(db, loc_a, label="Fio", account="2400000009/2010")
    assert (first.iban, first.bic, first.is_default) == ("CZ1520100000002400000009", "FIOBCZPP", True)
    second = service.add_bank_account(db, loc_a, label="KB", account="CZ9501000000001234567899", is_default=True)
    assert second.account_number == "1234567899/0100"
    with pytest.raises(InvalidValue, match="already recorded"):
        service.add_bank_account(db, loc_a, label="again", account="1234567899/0100")
    with pytest.raises(InvalidValue) as info:
        service.add_bank_account(db, loc_a, label="bad", account="1234567898/0100")
    assert info.value.field == "account"
    # the same account may exist in another location (unique per location)
    service.add_bank_account(db, loc_b, label="KB", account="1234567899/0100")
    accounts = service.list_bank_accounts(db, loc_a)
    assert [a.label for a in accounts] == ["KB", "Fio"] and [a.is_default for a in accounts] == [True, False]
    with pytest.raises(service.NotFound):
        service.get_bank_account(db, loc_b, first.id)
    with pytest.raises(service.NotFound):
        service.update_bank_account(db, loc_b, first.id, label="x", account="2400000009/2010")
    with pytest.raises(service.NotFound):
        service.delete_bank_account(db, loc_b, first.id)
    service.update_bank_account(db, loc_a, first.id, label="Fio CZK", account="2400000009/2010", is_default=True)
    assert [(a.label, a.is_default) for a in service.list_bank_accounts(db, loc_a)] == [("Fio CZK", True), ("KB", False)]
    service.delete_bank_account(db, loc_a, first.id)
    assert [(a.label, a.is_default) for a in service.list_bank_accounts(db, loc_a)] == [("KB", True)]
    with operator_scope():
        assert db.scalar(select(BankAccount).where(BankAccount.location_id == loc_b)).label == "KB"
