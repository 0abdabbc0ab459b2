"""The staff users pages: list, create, edit, password, disable, roles per location, isolation."""

import pytest
from sqlalchemy import select

from mango_core.auth.models import AuthEvent, Role, RoleAssignment, RolePermission, User, UserSession
from mango_core.auth.passwords import verify_password
from mango_core.testing.fixtures import login, post

NEW_PASSWORD = "another-long-secret"


def user_by_email(db, email):
    db.expire_all()
    return db.scalar(select(User).where(User.email == email))


def create(client, **data):
    return post(client, "/admin/users/new", {"locale": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                             **data}, token_from="/admin/users/new")


def test_list_shows_partner_and_roles_per_location(client, world):
    login(client, world.operator.email)
    page = client.get("/admin/users").get_data(as_text=True)
    for email in ("operator@mango.test", "admin@alfa.test", "clerk@alfa.test", "admin@beta.test"):
        assert f'data-user="{email}"' in page
    assert "ALFA – Alfa Net" in page and "BETA – Beta Wifi" in page
    row = page.split('data-user="admin@alfa.test"')[1].split("</tr>")[0]
    assert ">KLA<" in row and ">PRG<" in row and "Administrátor" in row

    page = client.get("/admin/users?q=klára").get_data(as_text=True)
    assert 'data-user="clerk@alfa.test"' in page and 'data-user="admin@alfa.test"' not in page
    page = client.get(f"/admin/users?partner_id={world.partner_b.id}").get_data(as_text=True)
    assert 'data-user="admin@beta.test"' in page and 'data-user="admin@alfa.test"' not in page


def test_operator_creates_operator_and_partner_users(client, world, db):
    login(client, world.operator.email)
    resp = create(client, email="Second.Operator@Mango.test", name="Druhý Operátor", kind="operator",
                  partner_id=world.partner_a.id)
    assert resp.status_code == 302
    new = user_by_email(db, "second.operator@mango.test")
    assert new.is_operator and new.partner_id is None and verify_password(new.password_hash, NEW_PASSWORD)
    assert new.password_hash.startswith("$argon2id$")

    resp = create(client, email="staff@beta.test", name="Beta Staff", kind="partner",
                  partner_id=world.partner_b.id, locale="en")
    assert resp.status_code == 302
    staff = user_by_email(db, "staff@beta.test")
    assert not staff.is_operator and staff.partner_id == world.partner_b.id and staff.locale == "en"
    assert db.scalar(select(AuthEvent).where(AuthEvent.event == "user_created", AuthEvent.user_id == staff.id))


def test_partner_admin_creates_only_users_of_own_partner(client, world, db):
    login(client, world.admin_a.email)
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'name="kind"' not in page
    # A forged form cannot make an operator user or a user of another partner.
    resp = create(client, email="new@alfa.test", name="Nový Alfa", kind="operator", partner_id=world.partner_b.id)
    assert resp.status_code == 302
    new = user_by_email(db, "new@alfa.test")
    assert not new.is_operator and new.partner_id == world.partner_a.id


@pytest.mark.parametrize(("data", "message"), [
    ({"email": "admin@alfa.test"}, "Uživatel s e-mailem admin@alfa.test už existuje."),
    ({"email": "not-an-address"}, "not-an-address není e-mailová adresa."),
    ({"password": "short", "confirm": "short"}, "Heslo musí mít alespoň 10 znaků."),
    ({"confirm": "something-else-1"}, "Hesla se neshodují."),
])
def test_bad_input_creates_nothing(client, world, db, data, message):
    login(client, world.admin_a.email)
    before = len(db.scalars(select(User)).all())
    resp = create(client, **{"email": "fresh@alfa.test", "name": "Fresh", **data})
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    db.expire_all()
    assert len(db.scalars(select(User)).all()) == before


def test_edit_name_and_locale(client, world, db):
    login(client, world.admin_a.email)
    path = f"/admin/users/{world.clerk_a.id}/edit"
    resp = post(client, path, {"name": "Klára Nová", "locale": "en"}, token_from=path)
    assert resp.status_code == 302
    clerk = user_by_email(db, world.clerk_a.email)
    assert clerk.name == "Klára Nová" and clerk.locale == "en"


def test_set_password_ends_the_users_sessions(app, client, world, db):
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    login(client, world.admin_a.email)
    path = f"/admin/users/{world.clerk_a.id}/password"
    resp = post(client, path, {"password": "short", "confirm": "short"}, token_from=path)
    assert resp.status_code == 200 and "Heslo musí mít alespoň 10 znaků." in resp.get_data(as_text=True)
    resp = post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from=path)
    assert resp.status_code == 302
    assert clerk.get("/").status_code == 302
    assert login(clerk, world.clerk_a.email, world.password).status_code == 200
    assert login(clerk, world.clerk_a.email, NEW_PASSWORD).status_code == 302
    # Changing one's own password keeps the own session.
    path = f"/admin/users/{world.admin_a.id}/password"
    post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from=path)
    assert client.get("/").status_code == 200


def test_disable_and_enable(client, world, db):
    login(client, world.admin_a.email)
    page_path = f"/admin/users/{world.clerk_a.id}"
    post(client, f"{page_path}/disable", token_from=page_path)
    clerk = user_by_email(db, world.clerk_a.email)
    assert not clerk.is_active and clerk.disabled_at is not None
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'data-user="clerk@alfa.test"' not in page
    assert 'data-user="clerk@alfa.test"' in client.get("/admin/users?state=disabled").get_data(as_text=True)

    post(client, f"{page_path}/enable", token_from=page_path)
    clerk = user_by_email(db, world.clerk_a.email)
    assert clerk.is_active and clerk.disabled_at is None
    assert login(client.application.test_client(), world.clerk_a.email).status_code == 302

    own = f"/admin/users/{world.admin_a.id}"
    resp = post(client, f"{own}/disable", token_from=own, follow_redirects=True)
    assert "Vlastní účet zablokovat nemůžete." in resp.get_data(as_text=True)
    assert user_by_email(db, world.admin_a.email).is_active


def test_partner_staff_never_see_users_of_another_partner(client, world, db):
    login(client, world.admin_b.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'data-user="admin@beta.test"' in page
    assert "alfa.test" not in page and "operator@mango.test" not in page
    target = world.admin_a.id
    for path in (f"/admin/users/{target}", f"/admin/users/{target}/edit", f"/admin/users/{target}/password",
                 f"/admin/users/{world.operator.id}"):
        assert client.get(path).status_code == 404, path
    for path, data in ((f"/admin/users/{target}/disable", {}),
                       (f"/admin/users/{target}/edit", {"name": "Hacked", "locale": ""}),
                       (f"/admin/users/{target}/password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
                       (f"/admin/users/{target}/roles", {"location_id": world.loc_b.id,
                                                         "role_id": world.admin_role_a.id})):
        assert post(client, path, data, token_from="/admin/users").status_code == 404, path
    admin_a = user_by_email(db, world.admin_a.email)
    assert admin_a.is_active and admin_a.name == "Adam Alfa"
    assert verify_password(admin_a.password_hash, world.password)


def test_assign_and_remove_role_per_location(client, world, db):
    login(client, world.admin_a.email)
    path = f"/admin/users/{world.clerk_a.id}"
    page = client.get(path).get_data(as_text=True)
    assert "BRN" not in page.split('id="assign-form"')[1]  # only the partner's locations
    resp = post(client, f"{path}/roles", {"location_id": world.loc_a2.id, "role_id": world.clerk_role_a.id},
                token_from=path)
    assert resp.status_code == 302
    db.expire_all()
    assignment = db.scalar(select(RoleAssignment).where(RoleAssignment.user_id == world.clerk_a.id,
                                                        RoleAssignment.location_id == world.loc_a2.id))
    assert assignment.role_id == world.clerk_role_a.id
    assignment_id = assignment.id
    # Twice is refused; another partner's location is refused.
    resp = post(client, f"{path}/roles", {"location_id": world.loc_a2.id, "role_id": world.clerk_role_a.id},
                token_from=path, follow_redirects=True)
    assert "Uživatel už tuto roli v této lokaci má." in resp.get_data(as_text=True)
    resp = post(client, f"{path}/roles", {"location_id": world.loc_b.id, "role_id": world.clerk_role_a.id},
                token_from=path, follow_redirects=True)
    assert "V této lokaci nemůžete přidělovat role." in resp.get_data(as_text=True)

    resp = post(client, f"{path}/roles/{assignment_id}/remove", token_from=path)
    assert resp.status_code == 302
    db.expunge_all()
    assert db.get(RoleAssignment, assignment_id) is None
    events = [e.event for e in db.scalars(select(AuthEvent).where(AuthEvent.user_id == world.clerk_a.id))]
    assert "role_assigned" in events and "role_removed" in events


def test_nobody_grants_more_than_they_hold(client, world, db):
    hr = Role(partner_id=world.partner_a.id, name="Personalista",
              permissions=[RolePermission(permission=p) for p in ("core.users.view", "core.users.manage")])
    db.add(hr)
    db.flush()
    db.add(RoleAssignment(user_id=world.clerk_a.id, role_id=hr.id, location_id=world.loc_a.id))
    db.commit()
    login(client, world.clerk_a.email)
    path = f"/admin/users/{world.clerk_a.id}"
    resp = post(client, f"{path}/roles", {"location_id": world.loc_a.id, "role_id": world.admin_role_a.id},
                token_from=path, follow_redirects=True)
    assert "Nemůžete udělit oprávnění, která v této lokaci sami nemáte" in resp.get_data(as_text=True)
    db.expire_all()
    assert not db.scalar(select(RoleAssignment).where(RoleAssignment.user_id == world.clerk_a.id,
                                                      RoleAssignment.role_id == world.admin_role_a.id))
    # Neither can the clerk reach KLA, where the clerk manages nobody.
    resp = post(client, f"{path}/roles", {"location_id": world.loc_a2.id, "role_id": hr.id},
                token_from=path, follow_redirects=True)
    assert "V této lokaci nemůžete přidělovat role." in resp.get_data(as_text=True)


def test_disabled_users_session_row_count(client, world, db):
    login(client.application.test_client(), world.clerk_a.email)
    login(client, world.operator.email)
    path = f"/admin/users/{world.clerk_a.id}"
    resp = post(client, f"{path}/disable", token_from=path, follow_redirects=True)
    assert "Uživatel byl zablokován. Relace ukončeny: 1." in resp.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(UserSession).where(UserSession.user_id == world.clerk_a.id)).end_reason == "disabled"
