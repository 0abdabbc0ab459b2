"""Opcare's side: the card panel, invitations from the card and the command line, real delivery by SMTP."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from mango_core.history.models import HistoryEntry
from mango_core.mail import service as outbox
from mango_core.mail.models import MailMessage
from mango_core.mail.testing import running_smtp_server
from mango_core.selfcare import accounts
from mango_core.selfcare.models import SelfcareAccount, SelfcareToken
from mango_core.selfcare.testing import PASSWORD, portal_login
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import csrf_token, login, post

NEW_PASSWORD = "heslo-z-pozvanky-42"


def _staff(client, world):
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})


def _invite(client, customer_id: int, email: str = ""):
    return client.post(f"/customers/{customer_id}/selfcare/invite",
                       data={"email": email, "csrf_token": csrf_token(client, f"/customers/{customer_id}")})


def _outbox(db, location_id: int) -> list[MailMessage]:
    with location_scope(location_id):
        return list(db.scalars(select(MailMessage).where(MailMessage.entity == "selfcare_account")
                               .order_by(MailMessage.id)))


def test_the_card_panel_shows_access_and_invites_with_the_contact_email(client, db, world, portal):
    _staff(client, world)
    card = client.get(f"/customers/{portal.other_id}").get_data(as_text=True)
    assert 'id="selfcare-panel"' in card and 'data-state="none"' in card and 'id="selfcare-invite-form"' in card
    assert "http://localhost/selfcare/PRG/login" in card
    resp = _invite(client, portal.other_id)
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Pozvánka do zákaznického portálu odeslána na otto.a@example.test." in page
    assert 'data-state="invited"' in page
    mail = _outbox(db, world.loc_a.id)[-1]
    assert mail.recipients == ["otto.a@example.test"] and mail.state == "queued"
    assert mail.subject == "Váš přístup do zákaznického portálu Alfa Net s.r.o."
    assert re.search(r"http://localhost/selfcare/PRG/password/[A-Za-z0-9_-]{40,}", mail.text)
    assert "http://localhost/selfcare/PRG/login" in mail.text and str(portal.other_number) in mail.text
    with location_scope(world.loc_a.id):
        entry = db.scalar(select(HistoryEntry).where(HistoryEntry.action == "selfcare_invited"))
        assert entry.customer_id == portal.other_id and entry.user_id == world.admin_a.id
        assert (entry.field, entry.before, entry.after) == ("selfcare_access", "false", "true")
        assert "otto" not in (entry.reason or "")  # no e-mail in the history (GDPR erasure keeps it)


def test_an_invitation_refuses_a_missing_or_taken_email_and_changes_nothing(client, db, world, portal):
    _staff(client, world)
    with location_scope(world.loc_a.id):
        from mango_core.customers import service as customers

        lonely = customers.create_customer(db, kind="person", first_name="Bez", last_name="Mailu")
        db.commit()
        lonely_id = lonely.id
    resp = _invite(client, lonely_id)
    assert "Zákazník nemá e-mailovou adresu" in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = _invite(client, portal.other_id, email=portal.email)  # Jana's login e-mail
    assert "se do portálu přihlašuje už jiný zákazník" in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = _invite(client, portal.other_id, email="no-at-sign")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(SelfcareAccount)) == 1
        assert db.scalar(select(func.count()).select_from(SelfcareToken)) == 0
    assert _outbox(db, world.loc_a.id) == []


def test_a_new_invitation_to_an_active_account_keeps_the_password_until_the_link_is_used(client, db, world, portal):
    _staff(client, world)
    _invite(client, portal.customer_id, email="jana.nova@example.test")
    with location_scope(world.loc_a.id):
        account = db.get(SelfcareAccount, portal.account_id)
        db.refresh(account)
        assert account.email == "jana.nova@example.test" and account.password_hash is not None
    customer = client.application.test_client()
    assert portal_login(customer, "PRG", "jana.nova@example.test", PASSWORD).status_code == 302
    assert portal_login(customer, "PRG", portal.email, PASSWORD).status_code == 200  # the old e-mail is gone


def test_ending_access_from_the_card(app, client, db, world, portal):
    customer = app.test_client()
    portal_login(customer, "PRG", portal.email)
    _staff(client, world)
    assert client.post(f"/customers/{portal.customer_id}/selfcare/disable").status_code == 400  # no CSRF
    resp = client.post(f"/customers/{portal.customer_id}/selfcare/disable",
                       data={"csrf_token": csrf_token(client, f"/customers/{portal.customer_id}")})
    assert resp.status_code == 302
    assert 'data-state="disabled"' in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert customer.get("/selfcare/").status_code == 302
    assert portal_login(customer, "PRG", portal.email).status_code == 200
    resp = client.post(f"/customers/{portal.other_id}/selfcare/disable",
                       data={"csrf_token": csrf_token(client, f"/customers/{portal.customer_id}")})
    assert resp.status_code == 404  # Otto has no account
    # an invitation gives access back (with a new link)
    _invite(client, portal.customer_id)
    with location_scope(world.loc_a.id):
        account = db.get(SelfcareAccount, portal.account_id)
        db.refresh(account)
        assert account.is_active and account.disabled_at is None


def test_the_panel_and_its_buttons_need_their_permissions(app, db, world, portal):
    from mango_core.auth.models import Role, RoleAssignment, RolePermission

    viewer = Role(partner_id=world.partner_a.id, name="Jen prohlížení")
    viewer.permissions = [RolePermission(permission="core.customers.view"),
                          RolePermission(permission="core.selfcare.view")]
    blind = Role(partner_id=world.partner_a.id, name="Bez portálu")
    blind.permissions = [RolePermission(permission="core.customers.view")]
    db.add_all([viewer, blind])
    db.flush()
    db.add(RoleAssignment(user_id=world.clerk_a.id, role_id=viewer.id, location_id=world.loc_a.id))
    db.commit()
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    post(clerk, "/location", {"location_id": world.loc_a.id})
    card = clerk.get(f"/customers/{portal.customer_id}").get_data(as_text=True)
    assert 'id="selfcare-panel"' in card and 'id="selfcare-invite-form"' not in card  # seen, not managed
    db.query(RoleAssignment).filter(RoleAssignment.user_id == world.clerk_a.id,
                                    RoleAssignment.role_id == viewer.id).update({"role_id": blind.id})
    db.commit()
    card = clerk.get(f"/customers/{portal.customer_id}").get_data(as_text=True)
    assert 'id="customer-details"' in card and 'id="selfcare-panel"' not in card


def test_the_command_line_invites_by_location_and_customer_number(app, db, world, portal):
    from mango_core.cli import main

    runner = app.test_cli_runner()

    def run(*args: str):  # noqa: ANN202 - as `mango selfcare invite …` runs
        return runner.invoke(main, ["selfcare", "invite", *args])

    result = run("--location", "prg", "--customer", str(portal.other_number), "--base-url", "https://moje.alfa.test/")
    assert result.exit_code == 0, result.output
    assert "otto.a@example.test" in result.output
    mail = _outbox(db, world.loc_a.id)[-1]
    assert re.search(r"https://moje\.alfa\.test/selfcare/PRG/password/[A-Za-z0-9_-]{40,}\n", mail.text)
    assert "https://moje.alfa.test/selfcare/PRG/login" in mail.text
    bad = run("--location", "NOPE", "--customer", "1")
    assert bad.exit_code != 0 and "no location with code" in bad.output
    bad = run("--location", "PRG", "--customer", "999999")
    assert bad.exit_code != 0 and "no customer number 999999" in bad.output
    # without [selfcare] base_url and --base-url there is no address for the link: nothing is queued
    before = len(_outbox(db, world.loc_a.id))
    bad = run("--location", "PRG", "--customer", str(portal.customer_number))
    assert bad.exit_code != 0 and "base_url" in bad.output
    assert len(_outbox(db, world.loc_a.id)) == before


def test_the_invitation_travels_through_a_real_smtp_server_and_its_link_works(app, client, db, world, portal):
    _staff(client, world)
    _invite(client, portal.other_id)
    with running_smtp_server() as server, location_scope(world.loc_a.id):
        result = outbox.send_due(db, settings=server.settings(from_address="portal@alfa.test"))
        assert result.sent == 1, result.errors
        (recipients, message), = server.messages
    assert recipients == ["otto.a@example.test"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    path = re.search(r"http://localhost(/selfcare/PRG/password/\S+)", body).group(1)
    customer = app.test_client()
    resp = customer.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                     "csrf_token": csrf_token(customer, path)})
    assert resp.status_code == 302
    assert portal_login(customer, "PRG", str(portal.other_number), NEW_PASSWORD).status_code == 302
    assert "Otto" in customer.get("/selfcare/").get_data(as_text=True)


def test_the_request_list_filters_by_state(app, client, db, world, portal):
    from mango_core.selfcare import tariffs
    from mango_core.services import service as services

    with app.test_request_context(), location_scope(world.loc_a.id):
        made = tariffs.request_change(db, services.get_service(db, portal.service_id), portal.other_product_id)
        db.commit()
        made_id = made.id
    _staff(client, world)
    assert f'data-request="{made_id}"' in client.get("/selfcare-requests/").get_data(as_text=True)
    assert f'data-request="{made_id}"' not in client.get("/selfcare-requests/?state=approved").get_data(as_text=True)
    assert f'data-request="{made_id}"' in client.get("/selfcare-requests/?state=all").get_data(as_text=True)
    assert f'data-request="{made_id}"' in client.get("/selfcare-requests/?state=bogus").get_data(as_text=True)
    menu = client.get("/").get_data(as_text=True)
    assert 'data-menu="core_selfcare_staff.requests_page"' in menu


def test_forget_removes_account_links_and_the_customers_messages(app, db, world, portal):
    from mango_core.selfcare import tariffs
    from mango_core.services import service as services

    with app.test_request_context(), location_scope(world.loc_a.id):
        accounts.issue_token(db, db.get(SelfcareAccount, portal.account_id), "reset", timedelta(hours=1))
        asked = tariffs.request_change(db, services.get_service(db, portal.service_id), portal.other_product_id,
                                       "Volejte mi na 777 123 456")
        accounts.forget(db, portal.customer_id)
        db.commit()
        assert db.scalar(select(func.count()).select_from(SelfcareToken)) == 0
        assert accounts.account_of(db, portal.customer_id) is None
        assert tariffs.request_of(db, asked.id).note is None and tariffs.request_of(db, asked.id).state == "pending"
        assert not db.scalars(select(HistoryEntry).where(HistoryEntry.reason.contains("777"))).all()
        accounts.forget(db, portal.customer_id)  # nothing left: nothing happens
