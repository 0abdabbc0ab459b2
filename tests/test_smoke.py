from mango_core.testing.fixtures import login


def test_login_and_home(client, world):
    resp = login(client, world.admin_a.email)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    assert "Adam Alfa" in page
    assert client.get("/healthz").json == {"status": "ok"}
