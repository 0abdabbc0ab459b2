"""Every staff administration page renders, in Czech and in English."""

from mango_core.testing.fixtures import login


def test_pages_render(client, world):
    assert login(client, world.operator.email).status_code == 302
    for path in ["/admin/users", "/admin/users/new", f"/admin/users/{world.admin_a.id}",
                 f"/admin/users/{world.admin_a.id}/edit", f"/admin/users/{world.admin_a.id}/password",
                 "/admin/roles", f"/admin/roles/{world.admin_role_a.id}", "/admin/roles/new",
                 f"/admin/roles/{world.admin_role_a.id}/edit", f"/admin/roles/new?template={world.clerk_role_a.id}",
                 "/admin/audit/"]:
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True)[-3000:])


def test_pages_are_czech_by_default_and_english_on_request(client, world):
    from mango_core.testing.fixtures import post

    login(client, world.admin_a.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Uživatelé" in page and "Jméno a příjmení" in page and "Role podle lokací" in page
    post(client, "/language", {"locale": "en", "next": "/admin/users"})
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Full name" in page and "Roles by location" in page
    assert "Audit log" in client.get("/admin/audit/").get_data(as_text=True)
