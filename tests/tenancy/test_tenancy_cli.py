"""``mango partner|location|plugins …`` and ``mango demo``."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import func, select

from mango_core import demo
from mango_core.auth.models import RoleAssignment, User
from mango_core.demo import demo_command
from mango_core.tenancy import operator_scope
from mango_core.tenancy import validators as v
from mango_core.tenancy.cli import location, partner, plugins, write_plugins_setting
from mango_core.tenancy.models import BankAccount, Licence, Location, LocationModule, Partner
from mango_core.testing.fixtures import login


@pytest.fixture
def run(app, db):
    runner = app.test_cli_runner()

    def invoke(group, *args):  # noqa: ANN001, ANN202
        return runner.invoke(group, list(args))

    return invoke


def test_partner_and_location_commands(run, db, world):
    res = run(partner, "create", "gama", "--name", "Gama", "--company", "Gama s.r.o.", "--ico", "27082441")
    assert res.exit_code == 1 and "wrong check digit" in res.output
    res = run(partner, "create", "gama", "--name", "Gama", "--company", "Gama s.r.o.", "--ico", "27082440",
              "--dic", "CZ27082440")
    assert res.exit_code == 0, res.output
    res = run(partner, "licence", "GAMA", "example", "--from", "2025-01-01", "--until", "31.12.2025")
    assert res.exit_code == 0, res.output
    res = run(partner, "licence", "GAMA", "example", "--from", "2025-06-01")
    assert res.exit_code == 1 and "overlaps" in res.output
    res = run(partner, "licence", "GAMA", "example", "--from", "yesterday")
    assert res.exit_code == 2 and "not a date" in res.output
    assert run(partner, "licence", "NOPE", "example").exit_code == 1
    res = run(location, "create", "gprg", "--partner", "GAMA", "--name", "Gama Praha", "--company", "Gama s.r.o.",
              "--vat-payer")
    assert res.exit_code == 1 and "VAT payer must have a DIČ" in res.output
    res = run(location, "create", "gprg", "--partner", "GAMA", "--name", "Gama Praha", "--company", "Gama s.r.o.",
              "--ico", "27082440", "--dic", "CZ27082440", "--vat-payer", "--street", "Dlouhá 1", "--city", "Praha",
              "--postal-code", "110 00")
    assert res.exit_code == 0, res.output
    with operator_scope():
        loc = db.scalar(select(Location).where(Location.code == "GPRG"))
        assert (loc.partner.code, loc.vat_payer, loc.postal_code) == ("GAMA", True, "11000")
        assert db.scalar(select(Licence).where(Licence.partner_id == loc.partner_id)).valid_until.isoformat() == "2025-12-31"
    assert "GAMA" in run(partner, "list").output
    assert "GPRG" in run(location, "list").output


def test_plugins_per_location(run, db, world, module_name):
    out = run(plugins, "list").output
    assert "example" in out and "PRG" in out
    prg_line = next(line for line in out.splitlines() if line.startswith("PRG"))
    brn_line = next(line for line in out.splitlines() if line.startswith("BRN"))
    assert "on" in prg_line and "licence" in brn_line
    res = run(plugins, "enable", module_name, "--location", "BRN")
    assert res.exit_code == 0 and "enabled in location BRN" in res.output
    assert "nothing changed" in run(plugins, "enable", module_name, "--location", "brn").output
    with operator_scope():
        assert db.scalar(select(LocationModule).where(LocationModule.location_id == world.loc_b.id))
    assert run(plugins, "disable", module_name, "--location", "BRN").exit_code == 0
    res = run(plugins, "enable", "nosuch", "--location", "BRN")
    assert res.exit_code == 1 and "not installed" in res.output
    assert run(plugins, "enable", module_name, "--location", "XXX").exit_code == 1


def test_plugins_enable_edits_instance_file(run, mango, tmp_path, monkeypatch):
    monkeypatch.setattr(mango.settings, "instance_path", tmp_path)
    monkeypatch.delenv("MANGO_PLUGINS", raising=False)
    monkeypatch.setitem(mango.settings.data, "plugins", [])  # as if loaded from the defaults only
    path = tmp_path / "mango.toml"
    res = run(plugins, "enable", "example")
    assert res.exit_code == 0, res.output
    assert tomllib.loads(path.read_text())["plugins"] == ["example"]
    assert "nothing changed" in run(plugins, "enable", "example").output
    assert run(plugins, "enable", "nosuch").exit_code == 1
    assert run(plugins, "enable", "Bad Name").exit_code == 2
    assert run(plugins, "disable", "example").exit_code == 0
    assert tomllib.loads(path.read_text())["plugins"] == []


def test_write_plugins_setting_keeps_everything_else(tmp_path):
    path = tmp_path / "mango.toml"
    path.write_text('# my settings\nenv = "development"\nplugins = [\n  "a", # first\n  "b",\n]\n\n'
                    '[sessions]\nopcare_idle_hours = 8\nplugins = ["not", "this"]\n')
    write_plugins_setting(path, ["a", "b", "c"])
    text = path.read_text()
    data = tomllib.loads(text)
    assert data == {"env": "development", "plugins": ["a", "b", "c"],
                    "sessions": {"opcare_idle_hours": 8, "plugins": ["not", "this"]}}
    assert text.startswith("# my settings\n")
    other = tmp_path / "other.toml"
    other.write_text('secret_key = "x"\n[sessions]\ncookie_secure = true\n')
    write_plugins_setting(other, ["example"])
    assert tomllib.loads(other.read_text()) == {"secret_key": "x", "plugins": ["example"],
                                                "sessions": {"cookie_secure": True}}
    new = tmp_path / "new" / "mango.toml"
    write_plugins_setting(new, ["example"])
    assert tomllib.loads(new.read_text()) == {"plugins": ["example"]}


def _counts(db) -> dict:  # noqa: ANN001
    with operator_scope():
        return {model.__name__: db.scalar(select(func.count()).select_from(model))
                for model in (Partner, Location, Licence, LocationModule, BankAccount, User, RoleAssignment)}


def test_demo_is_idempotent_and_valid(run, db, mango, client):
    res = run(demo_command)
    assert res.exit_code == 0, res.output
    assert "Demo data loaded" in res.output and demo.DEMO_PASSWORD in res.output
    for email, *_ in demo.USERS:
        assert email in res.output
    before = _counts(db)
    res = run(demo_command)
    assert res.exit_code == 0 and "nothing changed" in res.output
    assert _counts(db) == before
    assert before["Location"] >= 3 and before["BankAccount"] >= 4
    with operator_scope():
        for p in db.scalars(select(Partner).where(Partner.code.in_(["ALFANET", "BETAWIFI"]))):
            assert v.normalize_ico(p.ico) == p.ico and v.normalize_dic(p.dic) == p.dic
        for acc in db.scalars(select(BankAccount)):
            assert v.parse_bank_account(acc.account_number).iban == acc.iban
        for loc in db.scalars(select(Location).where(Location.code.in_(["PRAHA", "KLADNO", "BRNO"]))):
            assert mango.enabled_modules(loc.id) == set(mango.licensed_plugins())
    login(client, "admin@alfanet.example", demo.DEMO_PASSWORD)
    page = client.get("/locations").get_data(as_text=True)
    assert "PRAHA" in page and "KLADNO" in page and "BRNO" not in page


def test_demo_refuses_production(run, mango, monkeypatch):
    monkeypatch.setitem(mango.settings.data, "env", "production")
    res = run(demo_command)
    assert res.exit_code == 1 and "production" in res.output
