"""The roles pages: partner-owned roles, operator templates, permission checkboxes, isolation."""

from sqlalchemy import select

from mango_core.auth.models import Role, RoleAssignment, RolePermission
from mango_core.testing.fixtures import login, post


def role_named(db, name, partner_id):
    db.expire_all()
    query = select(Role).where(Role.name == name)
    query = query.where(Role.partner_id.is_(None) if partner_id is None else Role.partner_id == partner_id)
    return db.scalar(query)


def save(client, path, **data):
    return post(client, path, data, token_from=path)


def test_partner_admin_defines_own_roles(client, world, db):
    login(client, world.admin_a.email)
    page = client.get("/admin/roles/new").get_data(as_text=True)
    assert "Mango core" in page and 'value="core.users.view"' in page
    assert "core.partners.manage" not in page
    resp = save(client, "/admin/roles/new", name="Technik", description="Síť",
                permissions=["core.jobs.view", "core.jobs.run"])
    assert resp.status_code == 302
    role = role_named(db, "Technik", world.partner_a.id)
    assert role.permission_codes == {"core.jobs.view", "core.jobs.run"}

    edit = f"/admin/roles/{role.id}/edit"
    assert save(client, edit, name="Technik sítě", description="", permissions=["core.jobs.view"]).status_code == 302
    role = role_named(db, "Technik sítě", world.partner_a.id)
    assert role.permission_codes == {"core.jobs.view"}

    # Partner BETA does not see ALFA's roles at all.
    beta = client.application.test_client()
    login(beta, world.admin_b.email)
    assert 'data-role="Technik sítě"' not in beta.get("/admin/roles").get_data(as_text=True)
    assert beta.get(f"/admin/roles/{role.id}").status_code == 404
    assert beta.get(f"/admin/roles/{role.id}/edit").status_code == 404
    resp = save(beta, f"/admin/roles/{role.id}/edit", name="Hacked", permissions=["core.users.manage"])
    assert resp.status_code == 404
    assert role_named(db, "Technik sítě", world.partner_a.id).permission_codes == {"core.jobs.view"}


def test_partners_manage_is_never_granted_to_a_role(client, world, db):
    for email in (world.operator.email, world.admin_a.email):
        c = client.application.test_client()
        login(c, email)
        resp = save(c, "/admin/roles/new", name="Šéf", permissions=["core.partners.manage", "core.users.view"],
                    partner_id=world.partner_a.id)
        assert resp.status_code == 200
        assert "Tato oprávnění patří jen pracovníkům provozovatele: core.partners.manage" in resp.get_data(as_text=True)
        assert role_named(db, "Šéf", world.partner_a.id) is None
    # Even a role smuggled into the database grants nothing of it.
    db.add(RolePermission(role_id=world.clerk_role_a.id, permission="core.partners.manage"))
    db.commit()
    from mango_core.auth.access import permissions_in

    held = permissions_in(db, world.clerk_a, world.loc_a.id, {"core.partners.manage", "core.jobs.view"})
    assert held == {"core.jobs.view"}


def test_operator_templates_are_visible_to_partners_and_copied(client, world, db):
    login(client, world.operator.email)
    resp = save(client, "/admin/roles/new", name="Obchodník", description="Šablona",
                permissions=["core.users.view", "core.locations.view"], partner_id=0)
    assert resp.status_code == 302
    template = role_named(db, "Obchodník", None)
    assert template.partner_id is None

    beta = client.application.test_client()
    login(beta, world.admin_b.email)
    listing = beta.get("/admin/roles").get_data(as_text=True)
    assert 'data-role="Obchodník"' in listing and "Šablona provozovatele" in listing
    assert beta.get(f"/admin/roles/{template.id}").status_code == 200
    assert beta.get(f"/admin/roles/{template.id}/edit").status_code == 404
    copy_form = beta.get(f"/admin/roles/new?template={template.id}").get_data(as_text=True)
    assert "Obchodník (kopie)" in copy_form
    assert 'value="core.locations.view" id="perm-core.locations.view" checked' in copy_form
    resp = save(beta, f"/admin/roles/new?template={template.id}", name="Obchodník Brno",
                permissions=["core.users.view", "core.locations.view"], partner_id=world.partner_a.id)
    assert resp.status_code == 302
    copy = role_named(db, "Obchodník Brno", world.partner_b.id)  # partner_id in the form is ignored
    assert copy.permission_codes == {"core.users.view", "core.locations.view"}
    assert role_named(db, "Obchodník", None).permission_codes == {"core.users.view", "core.locations.view"}

    # A template is not assigned directly: only roles of the user's partner are.
    path = f"/admin/users/{world.admin_b.id}"
    resp = post(beta, f"{path}/roles", {"location_id": world.loc_b.id, "role_id": template.id},
                token_from=path, follow_redirects=True)
    assert "Vyberte roli partnera, ke kterému uživatel patří." in resp.get_data(as_text=True)


def test_role_names_are_unique_per_owner(client, world, db):
    login(client, world.admin_a.email)
    resp = save(client, "/admin/roles/new", name="referent", permissions=[])
    assert "Role s názvem referent už existuje." in resp.get_data(as_text=True)
    login(client.application.test_client(), world.admin_b.email)
    beta = client.application.test_client()
    login(beta, world.admin_b.email)
    assert save(beta, "/admin/roles/new", name="Referent", permissions=[]).status_code == 302


def test_editing_keeps_permissions_the_editor_cannot_grant(client, world, db):
    hr = Role(partner_id=world.partner_a.id, name="Správce rolí",
              permissions=[RolePermission(permission=p) for p in ("core.users.view", "core.roles.manage")])
    db.add(hr)
    db.flush()
    db.add(RoleAssignment(user_id=world.clerk_a.id, role_id=hr.id, location_id=world.loc_a.id))
    db.commit()
    login(client, world.clerk_a.email)  # holds core.jobs.view too (Referent in PRG)
    edit = f"/admin/roles/{world.admin_role_a.id}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert 'id="perm-core.audit.view" checked disabled' in page
    before = role_named(db, "Administrátor", world.partner_a.id).permission_codes
    resp = save(client, edit, name="Administrátor", permissions=["core.users.view"])
    assert resp.status_code == 302
    after = role_named(db, "Administrátor", world.partner_a.id).permission_codes
    assert after == before - {"core.jobs.view", "core.roles.manage"}
    # Adding a permission the editor lacks is refused.
    resp = save(client, f"/admin/roles/{world.clerk_role_a.id}/edit", name="Referent",
                permissions=["core.jobs.view", "core.audit.view"])
    assert "Nemůžete udělit oprávnění" in resp.get_data(as_text=True)
    assert role_named(db, "Referent", world.partner_a.id).permission_codes == {"core.jobs.view"}
