"""Portal login: invitation and reset links, passwords, throttling, sessions and their cookie."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from mango_core.auth.models import AuthEvent, LoginAttempt
from mango_core.auth.passwords import verify_password
from mango_core.db import utcnow
from mango_core.mail.models import MailMessage
from mango_core.selfcare import accounts
from mango_core.selfcare.access import COOKIE, LOCATION_COOKIE
from mango_core.selfcare.models import INVITE, RESET, SelfcareAccount, SelfcareSession, SelfcareToken
from mango_core.selfcare.testing import PASSWORD, portal_login, portal_post
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import csrf_token, login, post

LINK_RE = re.compile(r"http://localhost/selfcare/(?P<code>[A-Z0-9_-]+)/password/(?P<token>[A-Za-z0-9_-]+)")
NEW_PASSWORD = "nove-heslo-pro-portal"
WRONG = "Nesprávný e-mail, zákaznické číslo nebo heslo."


def _mails(db, location_id, **where):
    with location_scope(location_id):
        stmt = select(MailMessage).order_by(MailMessage.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(MailMessage, key) == value)
        return list(db.scalars(stmt))


def _link(message: MailMessage) -> str:
    match = LINK_RE.search(message.text)
    assert match, message.text
    return match.group(0).removeprefix("http://localhost")


def _invite(app, db, client, world, customer_id: int, email: str = "") -> str:
    """Staff sends an invitation from the customer card; returns the link's path from the outbox."""
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})
    resp = client.post(f"/customers/{customer_id}/selfcare/invite",
                       data={"email": email, "csrf_token": csrf_token(client, f"/customers/{customer_id}")})
    assert resp.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    mails = _mails(db, world.loc_a.id, entity="selfcare_account")
    return _link(mails[-1])


def _backdate_session(db, **values):
    db.execute(update(SelfcareSession).values(**values))
    db.commit()
    db.expire_all()


def test_invitation_link_sets_the_password_once_then_login_by_email_and_by_number(app, client, db, world, portal):
    number = portal.other_number
    path = _invite(app, db, client, world, portal.other_id)  # Otto has no account yet
    with location_scope(world.loc_a.id):
        account = accounts.account_of(db, portal.other_id)
        assert account.email == "otto.a@example.test" and account.password_hash is None
        token = db.scalar(select(SelfcareToken).where(SelfcareToken.account_id == account.id))
        assert token.purpose == INVITE and token.token_hash != path.rsplit("/", 1)[1]  # only the hash is stored
        assert token.expires_at - token.created_at == timedelta(hours=168)
    # an account without a password cannot log in, whatever is typed
    resp = portal_login(client, "PRG", "otto.a@example.test", "")
    assert resp.status_code == 400
    resp = portal_login(client, "PRG", "otto.a@example.test", "anything-at-all")
    assert WRONG in resp.get_data(as_text=True)

    page = client.get(path)
    assert page.status_code == 200 and "otto.a@example.test" in page.get_data(as_text=True)
    weak = client.post(path, data={"password": "short", "confirm": "short", "csrf_token": csrf_token(client, path)})
    assert weak.status_code == 400
    differ = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x",
                                     "csrf_token": csrf_token(client, path)})
    assert differ.status_code == 400
    db.expire_all()
    with location_scope(world.loc_a.id):
        assert db.get(SelfcareAccount, account.id).password_hash is None  # nothing changed
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                   "csrf_token": csrf_token(client, path)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/selfcare/PRG/login")
    db.expire_all()
    with location_scope(world.loc_a.id):
        stored = db.get(SelfcareAccount, account.id)
        assert stored.password_hash.startswith("$argon2id$") and verify_password(stored.password_hash, NEW_PASSWORD)
    # the link is dead now
    again = client.get(path)
    assert again.status_code == 404 and 'id="link-invalid"' in again.get_data(as_text=True)
    assert client.post(path, data={"password": "x" * 12, "confirm": "x" * 12,
                                   "csrf_token": csrf_token(client, "/selfcare/PRG/login")}).status_code == 404

    for identifier in ("otto.a@example.test", "OTTO.A@example.test", str(number), f"#{number}"):
        resp = portal_login(client, "PRG", identifier, NEW_PASSWORD)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/"), identifier
        assert "Otto" in client.get("/selfcare/").get_data(as_text=True)


def test_a_newer_link_ends_the_older_one_and_links_expire(app, db, world, portal):
    with app.test_request_context(), location_scope(world.loc_a.id):
        account = db.get(SelfcareAccount, portal.account_id)
        first = accounts.issue_token(db, account, RESET, timedelta(hours=1))
        second = accounts.issue_token(db, account, RESET, timedelta(hours=1))
        assert accounts.valid_token(db, first) is None
        assert accounts.valid_token(db, second) is not None
        assert accounts.valid_token(db, second, now=utcnow() + timedelta(hours=2)) is None
        assert accounts.valid_token(db, "x" * 500) is None
        accounts.disable(db, account)
        assert accounts.valid_token(db, second) is None  # disabling kills open links


def test_a_link_of_one_location_does_not_work_in_another(app, client, db, world, portal, portal_b):
    with app.test_request_context(), location_scope(world.loc_a.id):
        token = accounts.issue_token(db, db.get(SelfcareAccount, portal.account_id), RESET, timedelta(hours=1))
        db.commit()
    assert client.get(f"/selfcare/BRN/password/{token}").status_code == 404
    assert client.get(f"/selfcare/PRG/password/{token}").status_code == 200
    assert client.get(f"/selfcare/NOPE/password/{token}").status_code == 404


def test_wrong_passwords_unknown_accounts_and_disabled_ones_look_the_same(app, client, db, world, portal):
    with location_scope(world.loc_a.id):
        disabled = accounts.account_of(db, portal.customer_id)
    for identifier, password in ((portal.email, "wrong-password-1"), ("nobody@example.test", PASSWORD),
                                 ("99999", PASSWORD), ("not an identifier", PASSWORD)):
        resp = portal_login(client, "PRG", identifier, password)
        assert resp.status_code == 200 and WRONG in resp.get_data(as_text=True)
        assert not any(c.startswith(f"{COOKIE}=") for c in resp.headers.getlist("Set-Cookie"))
    with app.test_request_context(), location_scope(world.loc_a.id):
        accounts.disable(db, disabled)
        db.commit()
    resp = portal_login(client, "PRG", portal.email, PASSWORD)  # the right password of a disabled account
    assert resp.status_code == 200 and WRONG in resp.get_data(as_text=True)
    events = db.scalars(select(AuthEvent).where(AuthEvent.realm == "selfcare").order_by(AuthEvent.id)).all()
    assert [e.event for e in events] == ["login_failed"] * 5
    assert [e.detail for e in events] == ["bad password", "unknown account", "unknown account", "unknown account",
                                          "account disabled"]
    assert all(e.location_id == world.loc_a.id and e.user_id is None for e in events)


def test_the_account_of_another_location_cannot_log_in_here(client, portal, portal_b):
    resp = portal_login(client, "PRG", portal_b.email)
    assert resp.status_code == 200 and WRONG in resp.get_data(as_text=True)
    assert portal_login(client, "BRN", portal_b.email).status_code == 302
    assert client.get("/selfcare/NOPE/login").status_code == 404


def test_login_is_throttled_per_account_whatever_identifier_is_typed(client, db, world, portal, mango):
    limit = int(mango.settings.section("login_throttle")["max_failures_per_account"])
    for i in range(limit):
        identifier = portal.email if i % 2 else str(portal.customer_number)
        assert portal_login(client, "PRG", identifier, f"wrong-{i}").status_code == 200
    resp = portal_login(client, "PRG", portal.email, PASSWORD)  # even the right password now
    assert resp.status_code == 429
    assert "Příliš mnoho neúspěšných pokusů" in resp.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(AuthEvent).where(AuthEvent.event == "login_throttled",
                                                                      AuthEvent.realm == "selfcare")) == 1
    keys = set(db.scalars(select(LoginAttempt.email).where(LoginAttempt.realm == "selfcare")))
    assert keys == {f"PRG:account:{portal.account_id}"}
    # Opcare's throttling of staff is a realm of its own
    assert db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.realm == "opcare")) == 0


def test_unknown_identifiers_are_throttled_too(client, mango, portal):
    limit = int(mango.settings.section("login_throttle")["max_failures_per_account"])
    for _ in range(limit):
        portal_login(client, "PRG", "guess@example.test", "x" * 12)
    assert portal_login(client, "PRG", "guess@example.test", "x" * 12).status_code == 429


def test_session_cookie_is_the_portals_own_with_safe_flags(app, client, portal):
    resp = portal_login(client, "PRG", portal.email)
    cookies = resp.headers.getlist("Set-Cookie")
    mine = next(c for c in cookies if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in mine and "SameSite=Lax" in mine and "Path=/selfcare" in mine and "Max-Age=86400" in mine
    assert "Secure" not in mine
    assert any(c.startswith(f"{LOCATION_COOKIE}=PRG") for c in cookies)
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        other = app.test_client()
        secure = portal_login(other, "PRG", portal.email).headers.getlist("Set-Cookie")
        assert "Secure" in next(c for c in secure if c.startswith(f"{COOKIE}="))
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_portal_and_opcare_sessions_are_separate(app, client, db, world, portal):
    login(client, world.admin_a.email)  # staff logged in to Opcare in the same browser
    resp = client.get("/selfcare/")
    assert resp.status_code == 302 and "/selfcare/" in resp.headers["Location"]  # not the portal: nobody here
    assert client.get("/").status_code == 200
    customer = app.test_client()
    portal_login(customer, "PRG", portal.email)
    assert customer.get("/selfcare/").status_code == 200
    resp = customer.get("/")  # a customer is nobody in Opcare
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert customer.get(f"/customers/{portal.customer_id}").status_code == 302
    # both in one browser: each sees its own side; the staff member works in KLA, where billing is not
    # enabled, and the customer's billing pages (PRG) are there all the same
    assert portal_login(client, "PRG", portal.email).status_code == 302
    assert client.get("/selfcare/").status_code == 200 and client.get("/").status_code == 200
    assert client.get("/selfcare/billing/invoices/").status_code == 200
    assert client.get("/billing/invoices/").status_code == 404  # Opcare's billing in KLA: not enabled


def test_a_visitor_without_a_session_goes_to_the_login_of_the_location_last_seen(app, client, portal):
    resp = client.get("/selfcare/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/welcome")
    welcome = client.get("/selfcare/welcome")
    assert welcome.status_code == 200 and 'id="no-location"' in welcome.get_data(as_text=True)
    assert client.get("/selfcare/prg/").headers["Location"].endswith("/selfcare/PRG/login")
    client.get("/selfcare/PRG/login")
    resp = client.get(f"/selfcare/services/{portal.service_id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/PRG/login")


def test_one_active_session_per_account(app, db, world, portal):
    first, second = app.test_client(), app.test_client()
    portal_login(first, "PRG", portal.email)
    assert first.get("/selfcare/").status_code == 200
    portal_login(second, "PRG", str(portal.customer_number))
    assert second.get("/selfcare/").status_code == 200
    resp = first.get("/selfcare/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/PRG/login")
    assert "přihlásil jinde" in first.get(resp.headers["Location"]).get_data(as_text=True)
    records = db.scalars(select(SelfcareSession).order_by(SelfcareSession.id)).all()
    assert [(r.ended_at is not None, r.end_reason) for r in records] == [(True, "replaced"), (False, None)]


def test_sessions_end_after_24_hours_and_after_idling(client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    now = utcnow()
    _backdate_session(db, created_at=now - timedelta(hours=23, minutes=50), last_seen_at=now - timedelta(minutes=5))
    assert client.get("/selfcare/").status_code == 200
    _backdate_session(db, created_at=now - timedelta(hours=24, minutes=1))
    resp = client.get("/selfcare/")
    assert resp.status_code == 302
    assert "Platnost vašeho přihlášení vypršela" in client.get(resp.headers["Location"]).get_data(as_text=True)
    record = db.scalar(select(SelfcareSession))
    assert record.end_reason == "expired"
    assert db.scalar(select(AuthEvent).where(AuthEvent.event == "session_ended",
                                             AuthEvent.realm == "selfcare")).detail == "expired"

    portal_login(client, "PRG", portal.email)
    db.execute(update(SelfcareSession).where(SelfcareSession.ended_at.is_(None))
               .values(last_seen_at=now - timedelta(hours=24, minutes=1)))
    db.commit()
    assert client.get("/selfcare/").status_code == 302
    assert db.scalar(select(SelfcareSession).order_by(SelfcareSession.id.desc())).end_reason == "idle"


def test_logout_needs_a_post_with_csrf_and_ends_the_session_for_real(client, db, portal):
    resp = portal_login(client, "PRG", portal.email)
    token = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE}=")).split(";")[0].split("=", 1)[1]
    assert client.get("/selfcare/logout").status_code != 200  # GET changes nothing
    assert client.post("/selfcare/logout").status_code == 400  # no CSRF token
    assert client.get("/selfcare/").status_code == 200
    resp = portal_post(client, "/selfcare/logout")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/PRG/login")
    assert any(c.startswith(f"{COOKIE}=;") for c in resp.headers.getlist("Set-Cookie"))
    record = db.scalar(select(SelfcareSession))
    assert record.end_reason == "logout"
    client.set_cookie(COOKIE, token, path="/selfcare")  # the old token replayed
    assert client.get("/selfcare/").status_code == 302


def test_login_without_csrf_is_refused(client, db, portal):
    resp = client.post("/selfcare/PRG/login", data={"login": portal.email, "password": PASSWORD})
    assert resp.status_code == 400
    assert db.scalar(select(func.count()).select_from(SelfcareSession)) == 0


def test_reset_answers_alike_and_mails_only_a_known_active_account(client, db, world, portal, mango):
    answers = []
    for identifier in (portal.email, "nobody@example.test", str(portal.customer_number), "123456789"):
        resp = portal_post(client, "/selfcare/PRG/reset", {"login": identifier}, token_from="/selfcare/PRG/reset")
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/PRG/login")
        answers.append(client.get(resp.headers["Location"]).get_data(as_text=True))
    texts = {re.search(r'role="alert">([^<]+)<', a).group(1) for a in answers}
    assert texts == {"Pokud vás portál zná, posíláme vám e-mail s odkazem pro nastavení nového hesla. "
                     "Může to trvat několik minut."}
    mails = _mails(db, world.loc_a.id, entity="selfcare_account")
    assert [m.recipients for m in mails] == [[portal.email], [portal.email]]
    assert "Nové heslo do zákaznického portálu" in mails[0].subject
    # at most max_resets_per_hour links an hour: the third request sends nothing (and says the same)
    portal_post(client, "/selfcare/PRG/reset", {"login": portal.email}, token_from="/selfcare/PRG/reset")
    limit = int(mango.settings.section("selfcare")["max_resets_per_hour"])
    assert limit == 3
    assert len(_mails(db, world.loc_a.id, entity="selfcare_account")) == 3
    portal_post(client, "/selfcare/PRG/reset", {"login": portal.email}, token_from="/selfcare/PRG/reset")
    assert len(_mails(db, world.loc_a.id, entity="selfcare_account")) == 3
    # only the newest link works; it sets the password and ends the account's sessions
    other = client.application.test_client()
    portal_login(other, "PRG", portal.email)
    path = _link(_mails(db, world.loc_a.id, entity="selfcare_account")[-1])
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(SelfcareToken).where(
            SelfcareToken.expires_at > utcnow(), SelfcareToken.used_at.is_(None))) == 1
    resp = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                   "csrf_token": csrf_token(client, path)})
    assert resp.status_code == 302
    redirected = other.get("/selfcare/")
    assert redirected.status_code == 302
    assert "Vaše heslo bylo změněno" in other.get(redirected.headers["Location"]).get_data(as_text=True)
    assert portal_login(client, "PRG", portal.email, PASSWORD).status_code == 200
    assert portal_login(client, "PRG", portal.email, NEW_PASSWORD).status_code == 302
    event = db.scalar(select(AuthEvent).where(AuthEvent.event == "password_changed", AuthEvent.realm == "selfcare"))
    assert event.email == portal.email and "1 session(s) ended" in event.detail


def test_reset_of_a_disabled_account_sends_nothing(app, client, db, world, portal):
    with app.test_request_context(), location_scope(world.loc_a.id):
        accounts.disable(db, accounts.account_of(db, portal.customer_id))
        db.commit()
    resp = portal_post(client, "/selfcare/PRG/reset", {"login": portal.email}, token_from="/selfcare/PRG/reset")
    assert resp.status_code == 302
    assert _mails(db, world.loc_a.id, entity="selfcare_account") == []


def test_english_on_request_and_the_choice_is_kept_on_the_account(client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    assert "Přehled" in client.get("/selfcare/").get_data(as_text=True)
    resp = portal_post(client, "/selfcare/language", {"locale": "en", "next": "/selfcare/contact"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/contact")
    page = client.get("/selfcare/").get_data(as_text=True)
    assert "Overview" in page and 'lang="en"' in page
    db.expire_all()
    with location_scope(world.loc_a.id):
        assert db.get(SelfcareAccount, portal.account_id).locale == "en"
    assert portal_post(client, "/selfcare/language", {"locale": "de"}).status_code == 400
    resp = portal_post(client, "/selfcare/language", {"locale": "cs", "next": "https://evil.example/"})
    assert resp.headers["Location"].endswith("/selfcare/")


def test_mails_are_in_the_accounts_language(app, client, db, world, portal):
    with location_scope(world.loc_a.id):
        db.get(SelfcareAccount, portal.account_id).locale = "en"
        db.commit()
    portal_post(client, "/selfcare/PRG/reset", {"login": portal.email}, token_from="/selfcare/PRG/reset")
    (mail,) = _mails(db, world.loc_a.id, entity="selfcare_account")
    assert mail.subject == "A new password for the customer portal of Alfa Net s.r.o."
    assert "somebody (hopefully you)" in mail.text and _link(mail).startswith("/selfcare/PRG/password/")
