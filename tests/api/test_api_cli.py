"""``mango api token create|list|revoke`` through Flask's CLI runner (inside the test transaction)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mango_core.api.models import ApiToken
from mango_core.cli import main

SECRET_RE = re.compile(r"^mango_[A-Za-z0-9_-]{43}$", re.MULTILINE)


@pytest.fixture
def run(app, db):  # noqa: ANN001, ANN201
    runner = app.test_cli_runner()

    def invoke(*args):  # noqa: ANN002, ANN202
        return runner.invoke(main, ["api", "token", *args])

    return invoke


def _tokens(db) -> list[ApiToken]:  # noqa: ANN001
    db.expire_all()
    return list(db.scalars(select(ApiToken).order_by(ApiToken.id)))


def test_create_prints_the_token_once_and_it_works(run, db, world, api_client):
    result = run("create", "--user", "Admin@Alfa.test", "--location", "prg", "--name", "export", "--expires", "30")
    assert result.exit_code == 0, result.output
    [secret] = SECRET_RE.findall(result.output)
    assert "works in: PRG" in result.output and "expires" in result.output
    [token] = _tokens(db)
    assert token.user_id == world.admin_a.id and token.location_id == world.loc_a.id and token.name == "export"
    assert token.expires_at is not None and secret not in (token.token_hash, token.prefix)
    assert api_client(secret).get("/api/v1/customers").status_code == 200
    listed = run("list")
    assert listed.exit_code == 0 and token.prefix in listed.output and secret not in listed.output
    assert "admin@alfa.test" in listed.output and "PRG" in listed.output and "last used 20" in listed.output


def test_a_token_without_location_works_in_all_the_users_locations(run, db, world):
    result = run("create", "--user", "admin@alfa.test")
    assert result.exit_code == 0, result.output
    assert "works in: KLA, PRG" in result.output
    assert _tokens(db)[0].location_id is None


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "nobody@alfa.test"], "No user with e-mail nobody@alfa.test."),
    (["--user", "admin@alfa.test", "--location", "XXX"], "No location with code XXX."),
    (["--user", "admin@alfa.test", "--location", "BRN"], "does not work in location BRN"),
    (["--user", "clerk@alfa.test"], "does not hold core.api.use"),
    (["--user", "admin@alfa.test", "--expires", "0"], "1 to 3650 days"),
    (["--user", "admin@alfa.test", "--name", " "], "This field is required."),
])
def test_bad_input_creates_nothing(run, db, world, args, message):
    result = run("create", *args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert _tokens(db) == []


def test_revoke_and_list(run, db, world, api_client):
    secret = SECRET_RE.findall(run("create", "--user", "admin@alfa.test").output)[0]
    token_id = _tokens(db)[0].id
    result = run("revoke", str(token_id))
    assert result.exit_code == 0 and "revoked" in result.output
    assert api_client(secret).get("/api/v1/customers").status_code == 401
    assert "was revoked already" in run("revoke", str(token_id)).output
    assert run("revoke", "999999").exit_code != 0
    assert "No tokens." in run("list").output  # live ones only by default
    everything = run("list", "--all", "--user", "admin@alfa.test").output
    assert "revoked" in everything and f"#{token_id}" in everything
