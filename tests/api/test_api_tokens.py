"""Personal API tokens: stored hashed, checked at every call (revoked, expired, disabled user,
removed permission), last use recorded without a write per request, 401 with WWW-Authenticate."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from mango_core.api import tokens
from mango_core.api.models import ApiToken
from mango_core.auth import service as auth_service
from mango_core.auth.models import AuthEvent, RolePermission
from mango_core.db import utcnow
from mango_core.tenancy import operator_scope
from tests.api.conftest import make_token


def _token(db, secret: str) -> ApiToken:  # noqa: ANN001
    db.expire_all()
    return db.scalar(select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest()))


def test_a_token_is_random_recognisable_and_stored_only_as_its_sha256(db, world):
    first, second = make_token(db, world.admin_a), make_token(db, world.admin_a)
    assert first != second
    assert tokens.TOKEN_RE.fullmatch(first) and first.startswith("mango_") and len(first) == 49
    row = _token(db, first)
    assert row.token_hash == hashlib.sha256(first.encode()).hexdigest()
    assert row.prefix == first[:14] and first not in (row.prefix, row.token_hash, row.name)
    assert db.scalar(select(ApiToken.id).where(ApiToken.token_hash == first)) is None
    events = db.scalars(select(AuthEvent).where(AuthEvent.event == tokens.TOKEN_CREATED,
                                                AuthEvent.user_id == world.admin_a.id)).all()
    assert len(events) == 2 and all(first not in e.detail for e in events)


def test_bad_input_creates_nothing(db, world):
    with operator_scope():
        for kwargs, field in (({"name": "  "}, "name"), ({"name": "x" * 101}, "name"),
                              ({"name": "ok", "expires_in_days": 0}, "expires"),
                              ({"name": "ok", "expires_in_days": 5000}, "expires")):
            with pytest.raises(tokens.TokenError) as caught:
                tokens.create_token(db, world.admin_a, **kwargs)
            assert caught.value.field == field
        auth_service.disable_user(db, world.clerk_a)
        with pytest.raises(tokens.TokenError):
            tokens.create_token(db, world.clerk_a, name="x")
    assert db.scalar(select(ApiToken.id)) is None


@pytest.mark.parametrize(("header", "error"), [
    (None, None),
    ("Basic dXNlcjpwYXNz", "invalid_request"),
    ("Bearer", "invalid_request"),
    ("Bearer not-a-mango-token", "invalid_token"),
    ("Bearer mango_" + "A" * 43, "invalid_token"),
])
def test_401_with_a_bearer_challenge_without_a_live_token(world, api_client, header, error):
    client = api_client()
    response = client.get("/api/v1/customers", headers={"Authorization": header} if header else None)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 401 and body["title"] == "Unauthorized" and body["detail"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="Mango API"')
    assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)


def test_a_browser_session_does_not_authenticate_the_api(client, world, api_client):
    from mango_core.testing.fixtures import login

    assert login(client, world.admin_a.email).status_code == 302
    assert client.get("/").status_code == 200  # logged in to Opcare
    assert client.get("/api/v1/customers").status_code == 401  # the cookie is no credential here


def test_revoked_expired_and_disabled_tokens_stop_working(db, world, api_client):
    revoked, expired, disabled = (make_token(db, world.admin_a), make_token(db, world.admin_a, days=1),
                                  make_token(db, world.admin_b))
    for secret in (revoked, expired, disabled):
        assert api_client(secret).get("/api/v1/customers").status_code == 200
    with operator_scope():
        assert tokens.revoke(db, _token(db, revoked), by=world.admin_a)
        assert not tokens.revoke(db, _token(db, revoked), by=world.admin_a)  # once
        _token(db, expired).expires_at = utcnow() - timedelta(seconds=1)
        auth_service.disable_user(db, world.admin_b)
    db.commit()
    for secret, why in ((revoked, "revoked"), (expired, "expired"), (disabled, "disabled")):
        response = api_client(secret).get("/api/v1/customers")
        assert response.status_code == 401, why
        assert response.get_json()["detail"] == tokens_message(why)
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert _token(db, revoked).state() == "revoked" and _token(db, expired).state() == "expired"


def tokens_message(why: str) -> str:
    from mango_core.api.access import INVALID

    return INVALID[why]


def test_last_use_is_recorded_at_most_once_a_minute(db, world, api_client):
    secret = make_token(db, world.admin_a)
    assert _token(db, secret).last_used_at is None
    client = api_client(secret)
    assert client.get("/api/v1/customers", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    first = _token(db, secret)
    assert first.last_used_at is not None and first.last_used_ip == "192.0.2.7"
    stamp = first.last_used_at
    assert client.get("/api/v1/customers", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 200
    assert _token(db, secret).last_used_at == stamp  # within a minute: no write
    with operator_scope():
        _token(db, secret).last_used_at = stamp - timedelta(minutes=2)
    db.commit()
    assert client.get("/api/v1/customers", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 200
    later = _token(db, secret)
    assert later.last_used_at > stamp - timedelta(minutes=2) and later.last_used_ip == "192.0.2.8"


def test_a_failed_call_still_records_the_use(db, world, api_client):
    secret = make_token(db, world.admin_a)
    assert api_client(secret).get("/api/v1/customers/999999").status_code == 404
    assert _token(db, secret).last_used_at is not None


def test_a_token_works_only_where_its_user_holds_core_api_use(db, world, api_client):
    clerk = make_token(db, world.clerk_a)  # the clerk's role has only core.jobs.view
    response = api_client(clerk).get("/api/v1/customers")
    assert response.status_code == 403 and "core.api.use" in response.get_json()["detail"]
    admin = make_token(db, world.admin_a)
    assert api_client(admin).get("/api/v1/customers").status_code == 200
    with operator_scope():  # the admin role loses core.api.use: the token stops at the next call
        db.execute(delete(RolePermission).where(RolePermission.role_id == world.admin_role_a.id,
                                                RolePermission.permission == "core.api.use"))
    db.commit()
    assert api_client(admin).get("/api/v1/customers").status_code == 403


def test_a_narrowed_token_follows_its_location(db, world, seeded, api_client):
    narrowed = make_token(db, world.admin_a, location=world.loc_a2)  # KLA
    listing = api_client(narrowed).get("/api/v1/customers").get_json()
    assert listing["total"] == 0  # the seeded customers are in PRG
    foreign = make_token(db, world.admin_b, location=world.loc_a)  # admin_b has no role in PRG
    assert api_client(foreign).get("/api/v1/customers").status_code == 403


def test_the_answers_are_never_cached_and_say_their_language(db, world, api_client):
    secret = make_token(db, world.admin_a)
    response = api_client(secret).get("/api/v1/customers")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Language"] == "en"
    assert "Authorization" in response.headers["Vary"]
    czech = api_client(secret, language="cs").get("/api/v1/customers/999999")
    assert czech.headers["Content-Language"] == "cs"
    assert czech.get_json()["detail"] == "Na této adrese nic není, nebo to nesmíte vidět."
