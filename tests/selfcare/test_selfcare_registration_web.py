"""Self-registration, the pages: Opcare's settings, the portal's form, the link's page, the card."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from mango_core.auth.models import LoginAttempt
from mango_core.customers.models import Customer
from mango_core.history.models import HistoryEntry
from mango_core.mail.models import MailMessage
from mango_core.selfcare import registration
from mango_core.selfcare.access import COOKIE
from mango_core.selfcare.models import Registration, RegistrationSettings, SelfcareAccount
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import csrf_token, login, post

LINK_RE = re.compile(r"http://localhost(?P<path>/selfcare/PRG/register/[A-Za-z0-9_-]{40,})")
PASSWORD = "moje-registracni-heslo"
FORM = "/selfcare/PRG/register"


def form(**changes) -> dict:
    data = {"kind": "person", "first_name": "Petra", "last_name": "Webová", "email": "petra.webova@example.test",
            "phone": "+420 777 555 444", "street": "Krátká 1", "city": "Praha", "postal_code": "11000",
            "password": PASSWORD, "confirm": PASSWORD, "terms": "y", "website": "", "next": ""}
    return {**data, **changes}


def _open(db, world, **settings):
    with location_scope(world.loc_a.id):
        registration.save_settings(db, **{"enabled": True, "allow_person": True, "allow_company": True,
                                          "terms_text": "Podmínky portálu.", **settings})
        db.commit()


def _post(client, data, path=FORM):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def _state(db, location_id) -> tuple:
    with location_scope(location_id):
        return tuple(db.scalar(select(func.count()).select_from(model))
                     for model in (Registration, MailMessage, Customer, SelfcareAccount, LoginAttempt))


def _link(db, location_id) -> str:
    with location_scope(location_id):
        message = db.scalar(select(MailMessage).where(MailMessage.entity == "selfcare_registration")
                            .order_by(MailMessage.id.desc()))
    match = LINK_RE.search(message.text)
    assert match, message.text
    return match.group("path")


def _staff(client, world):
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})


# --- Opcare -------------------------------------------------------------------------------------


def test_staff_open_registration_and_the_login_page_links_to_it(app, client, db, world):
    portal_client = app.test_client()
    assert 'id="register-link"' not in portal_client.get("/selfcare/PRG/login").get_data(as_text=True)
    assert portal_client.get(FORM).status_code == 404  # off by default
    _staff(client, world)
    page = client.get("/selfcare-settings/registration")
    assert page.status_code == 200 and "http://localhost/selfcare/PRG/register" in page.get_data(as_text=True)
    resp = post(client, "/selfcare-settings/registration", {"enabled": "y", "allow_person": "y", "terms_text": "",
                                                            "terms_url": "ftp://nope"},
                token_from="/selfcare-settings/registration")
    assert resp.status_code == 400 and "Zadejte webovou adresu začínající https://." in resp.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert registration.settings_of(db) is None
    resp = post(client, "/selfcare-settings/registration",
                {"enabled": "y", "allow_person": "y", "terms_url": "https://alfa.test/vop"},
                token_from="/selfcare-settings/registration")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        found = db.scalar(select(RegistrationSettings))
        assert (found.enabled, found.allow_person, found.allow_company, found.terms_version) == (True, True, False, 1)
        assert found.updated_by_id == world.admin_a.id
    login_page = portal_client.get("/selfcare/PRG/login").get_data(as_text=True)
    assert 'id="register-link"' in login_page and 'href="/selfcare/PRG/register"' in login_page
    page = portal_client.get(FORM).get_data(as_text=True)
    assert 'name="company_name"' not in page and 'href="https://alfa.test/vop"' in page  # people only, terms linked
    assert portal_client.get("/selfcare/KLA/register").status_code == 404  # another location: still off


def test_the_settings_page_needs_its_permission(app, db, world):
    from mango_core.auth.models import Role, RoleAssignment, RolePermission

    role = Role(partner_id=world.partner_a.id, name="Portál bez nastavení")
    role.permissions = [RolePermission(permission="core.selfcare.manage")]
    db.add(role)
    db.flush()
    db.add(RoleAssignment(user_id=world.clerk_a.id, role_id=role.id, location_id=world.loc_a.id))
    db.commit()
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    post(clerk, "/location", {"location_id": world.loc_a.id})
    assert clerk.get("/selfcare-settings/registration").status_code == 403
    resp = clerk.post("/selfcare-settings/registration", data={"enabled": "y", "allow_person": "y",
                                                               "csrf_token": csrf_token(clerk, "/")})
    assert resp.status_code == 403
    with location_scope(world.loc_a.id):
        assert registration.settings_of(db) is None


# --- the portal ---------------------------------------------------------------------------------


def test_register_confirm_and_return_to_where_the_customer_started(app, client, db, world):
    _open(db, world)
    page = client.get(FORM + "?next=/selfcare/print/")
    assert page.status_code == 200 and 'value="/selfcare/print/"' in page.get_data(as_text=True)
    resp = _post(client, form(next="/selfcare/print/"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare/PRG/register/sent")
    assert "Zkontrolujte svůj e-mail" in client.get(resp.headers["Location"]).get_data(as_text=True)
    path = _link(db, world.loc_a.id)
    confirm_page = client.get(path)  # a GET (a mail scanner too) creates nothing
    assert confirm_page.status_code == 200 and "petra.webova@example.test" in confirm_page.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Customer)) == 0
    assert client.post(path).status_code == 400  # no CSRF token: nothing
    done = _post(client, {}, path)
    assert done.status_code == 302 and done.headers["Location"] == "/selfcare/print/"
    assert COOKIE in (done.headers.get("Set-Cookie") or "")
    dashboard = client.get("/selfcare/")
    text = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200 and "Vítejte! Váš účet je připraven a jste přihlášeni." in text
    assert "Petra Webová" in text
    with location_scope(world.loc_a.id):
        customer = db.scalar(select(Customer))
        assert customer.display_name == "Petra Webová"
    # the second click: the same customer goes on; anybody else is sent to log in; nothing new is made
    state = _state(db, world.loc_a.id)
    again = client.get(path)
    assert again.status_code == 302 and again.headers["Location"] == "/selfcare/print/"
    other = app.test_client()
    again = other.post(path, data={"csrf_token": csrf_token(other, "/selfcare/PRG/login")})
    assert again.status_code == 302 and again.headers["Location"].endswith("/selfcare/PRG/login")
    assert "Vaše registrace už je potvrzena." in other.get(again.headers["Location"]).get_data(as_text=True)
    assert _state(db, world.loc_a.id) == state


def test_a_known_email_gets_the_same_answer(app, db, world, portal):
    _open(db, world)
    known = _post(app.test_client(), form(email=portal.email))
    unknown = _post(app.test_client(), form(email="nikdo@example.test"))
    assert (known.status_code, known.headers["Location"]) == (unknown.status_code, unknown.headers["Location"])
    with location_scope(world.loc_a.id):
        sent = db.scalars(select(MailMessage).where(MailMessage.entity == "selfcare_registration")
                          .order_by(MailMessage.id)).all()
        assert [m.recipients for m in sent] == [[portal.email], ["nikdo@example.test"]]
        assert sent[0].subject == "Váš účet v zákaznickém portálu Alfa Net s.r.o."
        assert "http://localhost/selfcare/PRG/reset" in sent[0].text
        assert db.scalar(select(func.count()).select_from(Registration)) == 1


def test_bad_input_the_honeypot_and_a_missing_csrf_token_store_nothing(client, db, world):
    _open(db, world)
    before = _state(db, world.loc_a.id)
    resp = _post(client, form(ico="12345678"))
    assert resp.status_code == 400 and "IČO 12345678 má chybnou kontrolní číslici." in resp.get_data(as_text=True)
    resp = _post(client, form(terms=""))
    assert resp.status_code == 400 and "Pro registraci prosím přijměte podmínky." in resp.get_data(as_text=True)
    resp = _post(client, form(confirm="jine-heslo-nez-prve"))
    assert resp.status_code == 400 and "Hesla se liší." in resp.get_data(as_text=True)
    resp = client.post(FORM, data=form())
    assert resp.status_code == 400
    bot = _post(client, form(website="http://spam.test"))
    assert bot.status_code == 302 and bot.headers["Location"].endswith("/selfcare/PRG/register/sent")  # as anybody
    assert _state(db, world.loc_a.id) == before


def test_a_foreign_next_is_ignored(client, db, world):
    _open(db, world)
    page = client.get(FORM + "?next=https://evil.test/").get_data(as_text=True)
    assert re.search(r'<input id="next" name="next" type="hidden" value="">', page)
    _post(client, form(next="//evil.test/selfcare/"))
    done = _post(client, {}, _link(db, world.loc_a.id))
    assert done.status_code == 302 and done.headers["Location"] == "/selfcare/"


def test_too_many_registrations_are_throttled(app, client, db, world):
    _open(db, world)
    limit = int(app.extensions["mango"].settings.section("login_throttle")["max_failures_per_account"])
    for _ in range(limit):
        assert _post(client, form()).status_code == 302
    resp = _post(client, form())
    assert resp.status_code == 429 and "Příliš mnoho" in resp.get_data(as_text=True)


def test_an_unknown_or_expired_link_answers_404(client, db, world):
    _open(db, world)
    resp = client.get("/selfcare/PRG/register/" + "x" * 43)
    assert resp.status_code == 404 and 'id="link-invalid"' in resp.get_data(as_text=True)


def test_staff_see_a_self_registered_customer_marked(app, client, db, world):
    _open(db, world)
    portal_client = app.test_client()
    _post(portal_client, form())
    _post(portal_client, {}, _link(db, world.loc_a.id))
    with location_scope(world.loc_a.id):
        customer = db.scalar(select(Customer))
        entry = db.scalar(select(HistoryEntry).where(HistoryEntry.action == "selfcare_registered",
                                                     HistoryEntry.customer_id == customer.id))
        assert entry.reason == "registrován v Selfcare" and entry.user_id is None
    _staff(client, world)
    card = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'id="selfcare-registered"' in card and "zákazníkem v portálu" in card
    assert "Přijal podmínky ve verzi 1" in card
    history = client.get(f"/customers/{customer.id}?tab=history").get_data(as_text=True)
    assert "selfcare_registered" in history and "registrován v Selfcare" in history


def test_the_login_page_returns_to_a_portal_page_and_hands_it_to_the_registration(app, db, world, portal):
    from mango_core.selfcare.testing import PASSWORD as ACCOUNT_PASSWORD

    _open(db, world)
    client = app.test_client()
    page = client.get("/selfcare/PRG/login?next=/selfcare/print/").get_data(as_text=True)
    assert 'href="/selfcare/PRG/register?next=/selfcare/print/"' in page
    token = csrf_token(client, "/selfcare/PRG/login?next=/selfcare/print/")
    resp = client.post("/selfcare/PRG/login?next=/selfcare/print/",
                       data={"login": portal.email, "password": ACCOUNT_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/selfcare/print/"
    other = app.test_client()
    page = other.get("/selfcare/PRG/login?next=//evil.test/").get_data(as_text=True)
    assert 'href="/selfcare/PRG/register"' in page
    token = csrf_token(other, "/selfcare/PRG/login?next=//evil.test/")
    resp = other.post("/selfcare/PRG/login?next=//evil.test/",
                      data={"login": portal.email, "password": ACCOUNT_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/selfcare/"
