"""Opcare device pages: permissions, forms, card, sites, types, CSRF, 404 across locations."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mango_core.devices import service
from mango_core.devices.models import Device, DeviceType, Site
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post

SWITCH = "code:example.switch"


@pytest.fixture
def admin(client, world):
    """The partner A administrator, working in Praha (where the example module is enabled)."""
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": str(world.loc_a.id)}).status_code == 302
    return client


def one(db, stmt, location):
    with location_scope(location.id):
        return db.scalar(stmt)


def make_in(app, db, location, name="sw1", **data):
    db.expire_all()  # the pages changed rows in their own sessions
    with app.test_request_context(), location_scope(location.id):
        data.setdefault("type_key", SWITCH)
        device = service.create_device(db, name=name, **data)
        db.commit()
        return device.id


def test_list_and_card(app, db, admin, world):
    core = make_in(app, db, world.loc_a, "PRG-CORE-1", management_ip="10.0.0.1", params={"ports": "48"})
    make_in(app, db, world.loc_a, "PRG-SW-1", parent_id=core, mac="00:1a:2b:3c:4d:5e")
    html = admin.get("/devices/").get_data(as_text=True)
    assert "PRG-CORE-1" in html and "PRG-SW-1" in html and "Example switch" in html
    found = admin.get("/devices/?q=00:1A:2B:3C:4D:5E")
    assert found.status_code == 302 and found.location.endswith(f"/devices/{core + 1}")
    card = admin.get(f"/devices/{core}").get_data(as_text=True)
    assert "PRG-SW-1" in card  # its children
    assert re.search(r'data-value="uplink_speed">10\s000\xa0Mbit/s<', card), "a value with its unit, Czech format"
    assert 'id="example-device-slot"' in card and "Example: PRG-CORE-1" in card  # the plugin slot
    child = admin.get(f"/devices/{core + 1}").get_data(as_text=True)
    assert 'id="device-uplink"' in child


def test_create_edit_and_delete_through_forms(app, db, admin, world):
    assert admin.get("/devices/new").status_code == 200
    page = admin.get(f"/devices/new?type={SWITCH}")
    assert page.status_code == 200 and 'name="p-ports"' in page.get_data(as_text=True)
    bad = post(admin, f"/devices/new?type={SWITCH}", {"name": "sw", "state": "active", "mac": "nonsense",
                                                       "p-ports": "500"}, token_from="/devices/")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "is-invalid" in text and "00:1a:2b:3c:4d:5e" in text
    ok = post(admin, f"/devices/new?type={SWITCH}", {"name": "sw", "state": "active", "mac": "001a2b3c4d5e",
                                                      "management_ip": "10.0.0.9", "p-ports": "16", "p-poe": "y"},
              token_from="/devices/")
    assert ok.status_code == 302
    device = one(db, select(Device).where(Device.name == "sw"), world.loc_a)
    assert device.mac == "00:1a:2b:3c:4d:5e" and device.params == {"ports": 16, "uplink_speed": 10000, "poe": True}
    edit = post(admin, f"/devices/{device.id}/edit", {"name": "sw-renamed", "state": "broken", "p-ports": "16",
                                                       "uplink": str(device.id)}, token_from="/devices/")
    assert edit.status_code == 400  # its own uplink: a loop
    edit = post(admin, f"/devices/{device.id}/edit", {"name": "sw-renamed", "state": "broken", "p-ports": "8"},
                token_from="/devices/")
    assert edit.status_code == 302
    device = one(db, select(Device).where(Device.id == device.id).execution_options(populate_existing=True),
                 world.loc_a)
    assert device.name == "sw-renamed" and device.state == "broken" and device.params["ports"] == 8
    assert post(admin, f"/devices/{device.id}/delete", token_from="/devices/").status_code == 302
    assert one(db, select(Device.id).where(Device.id == device.id), world.loc_a) is None


def test_sites_pages(db, admin, world):
    assert admin.get("/devices/sites").status_code == 200
    bad = post(admin, "/devices/sites/new", {"name": "Věž", "latitude": "95", "longitude": "14"},
               token_from="/devices/sites")
    assert bad.status_code == 400
    ok = post(admin, "/devices/sites/new", {"name": "Věž", "latitude": "50,1391", "longitude": "14.0893"},
              token_from="/devices/sites")
    assert ok.status_code == 302
    site = one(db, select(Site).where(Site.name == "Věž"), world.loc_a)
    assert site.latitude == 50.1391
    assert 'data-gps="50.1391,14.0893"' in admin.get("/devices/sites").get_data(as_text=True)
    assert post(admin, f"/devices/sites/{site.id}/edit", {"name": "Věž 2", "latitude": "", "longitude": ""},
                token_from="/devices/sites").status_code == 302
    assert post(admin, f"/devices/sites/{site.id}/delete", token_from="/devices/sites").status_code == 302
    assert one(db, select(Site.id).where(Site.id == site.id), world.loc_a) is None


def test_device_type_pages_make_versions(app, db, admin, world):
    assert post(admin, "/devices/types", {"name": "Access point"}, token_from="/devices/types").status_code == 302
    kind = one(db, select(DeviceType).where(DeviceType.name == "Access point"), world.loc_a)
    url = f"/devices/types/{kind.id}"
    assert post(admin, f"{url}/params", {"key": "band", "label": "Band", "type": "choice",
                                         "choices": "5=5 GHz\n60=60 GHz"}, token_from=url).status_code == 302
    device = make_in(app, db, world.loc_a, "ap", type_key=f"ui:{kind.id}", params={"band": "60"})
    bad = post(admin, f"{url}/params", {"key": "Bad Key", "label": "x", "type": "text"}, token_from=url)
    assert bad.status_code == 400
    assert post(admin, f"{url}/params", {"key": "band", "label": "Band", "type": "choice", "choices": "5=5 GHz"},
                token_from=url).status_code == 302
    kind = one(db, select(DeviceType).where(DeviceType.id == kind.id).execution_options(populate_existing=True),
               world.loc_a)
    assert kind.version == 3
    page = admin.get(url).get_data(as_text=True)
    assert 'id="type-attention"' in page and f'data-device="{device}"' in page
    card = admin.get(f"/devices/{device}").get_data(as_text=True)
    assert 'id="params-attention"' in card and "60 GHz" in card  # shown as entered, reported
    assert admin.get("/devices/types/code/example.switch").status_code == 200
    assert admin.get("/devices/types/code/example.nothing").status_code == 404
    assert post(admin, f"{url}/delete", token_from=url).status_code == 302  # refused: in use
    assert one(db, select(DeviceType.id).where(DeviceType.id == kind.id), world.loc_a) is not None


def test_permissions(app, db, client, world):
    device = make_in(app, db, world.loc_a)
    login(client, world.clerk_a.email)  # core.jobs.view only
    for path in ("/devices/", f"/devices/{device}", "/devices/sites", "/devices/types", "/devices/new"):
        assert client.get(path).status_code == 403, path
    assert post(client, f"/devices/{device}/delete", token_from="/").status_code == 403


def test_view_only_role_cannot_change(app, db, client, world):
    from mango_core.auth.models import RolePermission

    device = make_in(app, db, world.loc_a)
    world.clerk_role_a.permissions.append(RolePermission(permission="core.devices.view"))
    db.commit()
    login(client, world.clerk_a.email)  # the clerk works in Praha only
    assert client.get(f"/devices/{device}").status_code == 200
    assert 'id="device-edit"' not in client.get(f"/devices/{device}").get_data(as_text=True)
    assert client.get(f"/devices/{device}/edit").status_code == 403
    assert post(client, "/devices/types", {"name": "X"}, token_from="/devices/").status_code == 403


def test_other_locations_answer_404(app, db, admin, world):
    theirs = make_in(app, db, world.loc_b, "beta", type_key=_ui_type(app, db, world.loc_b))
    with app.test_request_context(), location_scope(world.loc_b.id):
        site = service.create_site(db, name="Brno").id
        kind = db.scalar(select(DeviceType.id))
        db.commit()
    for path in (f"/devices/{theirs}", f"/devices/{theirs}/edit", f"/devices/sites/{site}/edit",
                 f"/devices/types/{kind}"):
        assert admin.get(path).status_code == 404, path
    for path in (f"/devices/{theirs}/delete", f"/devices/sites/{site}/delete", f"/devices/types/{kind}/delete"):
        assert post(admin, path, token_from="/devices/").status_code == 404, path


def _ui_type(app, db, location):
    with app.test_request_context(), location_scope(location.id):
        kind = service.create_device_type(db, name="CPE")
        db.commit()
        return f"ui:{kind.id}"


def test_csrf_is_required(app, db, admin, world):
    device = make_in(app, db, world.loc_a)
    assert admin.post(f"/devices/{device}/delete").status_code == 400
    assert admin.post("/devices/sites/new", data={"name": "X"}).status_code == 400
    assert admin.post(f"/devices/new?type={SWITCH}", data={"name": "x", "state": "planned"}).status_code == 400
    assert one(db, select(Device.id).where(Device.id == device), world.loc_a) is not None
    assert one(db, select(Site.id), world.loc_a) is None
