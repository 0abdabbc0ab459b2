"""The Opcare page "API tokens": permission-checked, the token shown once, revoking own and (managers) others'."""

from __future__ import annotations

import re

from sqlalchemy import select

from mango_core.api.models import ApiToken
from mango_core.testing.fixtures import csrf_token, login, post
from tests.api.conftest import make_token

SECRET_RE = re.compile(r'id="new-token-secret">(mango_[A-Za-z0-9_-]{43})<')


def _tokens(db, user) -> list[ApiToken]:  # noqa: ANN001
    db.expire_all()
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def test_the_page_needs_core_api_use(client, world):
    assert client.get("/admin/api-tokens/").status_code == 302  # to the login page
    login(client, world.clerk_a.email)
    assert client.get("/admin/api-tokens/").status_code == 403
    assert client.post("/admin/api-tokens/", data={"name": "x", "location_id": 0,
                                                   "csrf_token": csrf_token(client, "/")}).status_code == 403


def test_create_shows_the_token_once(client, db, world, api_client):
    login(client, world.admin_a.email)
    page = client.get("/admin/api-tokens/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "API tokeny" in html and 'id="new-token"' in html
    assert ">PRG – Praha<" in html and ">KLA – Kladno<" in html and ">BRN" not in html
    created = post(client, "/admin/api-tokens/", {"name": "Účetnictví", "location_id": world.loc_a.id,
                                                  "expires": "90"}, token_from="/admin/api-tokens/")
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    [secret] = SECRET_RE.findall(html)
    assert "Zkopírujte si token hned teď." in html and created.headers["Cache-Control"] == "no-store"
    [token] = _tokens(db, world.admin_a)
    assert token.name == "Účetnictví" and token.location_id == world.loc_a.id and token.expires_at is not None
    assert api_client(secret).get("/api/v1/customers").status_code == 200
    listing = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert secret not in listing and token.prefix in listing and "Účetnictví" in listing
    assert secret not in str(client.get_cookie("mango_session").value if client.get_cookie("mango_session") else "")


def test_bad_input_shows_the_form_again(client, db, world):
    login(client, world.admin_a.email)
    for data in ({"name": "", "location_id": 0}, {"name": "x", "location_id": world.loc_b.id},
                 {"name": "x", "location_id": 0, "expires": "0"}):
        response = post(client, "/admin/api-tokens/", data, token_from="/admin/api-tokens/")
        assert response.status_code == 400 and "is-invalid" in response.get_data(as_text=True)
    assert client.post("/admin/api-tokens/", data={"name": "x", "location_id": 0}).status_code == 400  # no CSRF
    assert _tokens(db, world.admin_a) == []


def test_revoke_own_token(client, db, world, api_client):
    secret = make_token(db, world.admin_a, name="mine")
    [token] = _tokens(db, world.admin_a)
    login(client, world.admin_a.email)
    assert client.post(f"/admin/api-tokens/{token.id}/revoke").status_code == 400  # CSRF
    response = post(client, f"/admin/api-tokens/{token.id}/revoke", token_from="/admin/api-tokens/")
    assert response.status_code == 302
    assert _tokens(db, world.admin_a)[0].revoked_by_id == world.admin_a.id
    assert api_client(secret).get("/api/v1/customers").status_code == 401
    page = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert "Zneplatněný" in page and f'id="revoke-{token.id}"' not in page


def test_managers_see_and_revoke_their_partners_tokens_only(app, client, db, world):
    make_token(db, world.clerk_a, name="clerk's")  # the clerk of the same partner
    make_token(db, world.admin_b, name="beta's")  # another partner's user
    clerk_token, beta_token = _tokens(db, world.clerk_a)[0], _tokens(db, world.admin_b)[0]
    login(client, world.admin_a.email)  # admin_a holds core.api.manage
    page = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert 'id="other-tokens"' in page and "clerk&#39;s" in page and "beta&#39;s" not in page
    assert post(client, f"/admin/api-tokens/{beta_token.id}/revoke", token_from="/admin/api-tokens/").status_code == 404
    assert _tokens(db, world.admin_b)[0].revoked_at is None
    assert post(client, f"/admin/api-tokens/{clerk_token.id}/revoke", token_from="/admin/api-tokens/").status_code == 302
    assert _tokens(db, world.clerk_a)[0].revoked_by_id == world.admin_a.id
    operator = app.test_client()
    login(operator, world.operator.email)
    assert "beta&#39;s" in operator.get("/admin/api-tokens/").get_data(as_text=True)


def test_the_menu_links_the_page(client, world):
    login(client, world.admin_a.email)
    assert 'data-menu="core_api_tokens.index"' in client.get("/").get_data(as_text=True)
    login_clerk = client.application.test_client()
    login(login_clerk, world.clerk_a.email)
    assert 'data-menu="core_api_tokens.index"' not in login_clerk.get("/").get_data(as_text=True)
