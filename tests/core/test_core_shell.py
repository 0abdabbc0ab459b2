"""The web shell: health check, error pages, footer and what's new, languages, headers."""

import re

from sqlalchemy.exc import OperationalError

from mango_core import __version__
from mango_core.testing.fixtures import login, post


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok"}


def test_healthz_503_when_the_database_does_not_answer(client, mango, monkeypatch):
    def broken():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(mango.db.engine, "connect", broken)
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["status"] == "error"


def test_friendly_404_in_czech(client, world):
    login(client, world.admin_a.email)
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "Stránka nenalezena" in html
    assert 'href="/"' in html


def test_footer_shows_version_and_date_linking_to_whats_new(client, world):
    html = client.get("/login").get_data(as_text=True)
    version = re.escape(__version__)
    assert re.search(rf'href="/whats-new"[^>]*>Verze {version} \(\d\d\.\d\d\.\d{{4}}\)</a>', html)
    page = client.get("/whats-new").get_data(as_text=True)
    assert f"<h2>[{__version__}] - " in page and "<h2>[0.1.0] - " in page
    assert "Co je nového" in page


def test_language_switch_and_back(client, world):
    login(client, world.admin_a.email)
    assert "Odhlásit se" in client.get("/").get_data(as_text=True)
    resp = post(client, "/language", {"locale": "en", "next": "/"})
    assert resp.status_code == 302 and resp.location == "/"
    assert "Log out" in client.get("/").get_data(as_text=True)
    post(client, "/language", {"locale": "cs", "next": "/"})
    assert "Odhlásit se" in client.get("/").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client, world):
    resp = post(client, "/language", {"locale": "en", "next": "//evil.example/"}, token_from="/login")
    assert resp.location == "/"
    assert post(client, "/language", {"locale": "xx"}, token_from="/login").status_code == 400


def test_security_headers(client):
    resp = client.get("/login")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_static_assets_are_vendored(client):
    for path in ("/static/vendor/bootstrap/bootstrap.min.css", "/static/vendor/htmx/htmx.min.js",
                 "/static/vendor/bootstrap/bootstrap.bundle.min.js", "/static/mango.css"):
        assert client.get(path).status_code == 200, path
    html = client.get("/login").get_data(as_text=True)
    assert "cdn" not in html.lower()


def test_friendly_500_page(app, client, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.view_functions, "core.whats_new", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    resp = client.get("/whats-new")
    assert resp.status_code == 500
    html = resp.get_data(as_text=True)
    assert "Něco se pokazilo" in html
    assert "boom" not in html  # no internals shown to users
