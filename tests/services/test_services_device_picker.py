"""The device picker of the service page: ``/devices/lookup`` (JSON, location-scoped, behind the
devices view permission), the server-rendered matches with linked devices marked, and linking
a chosen device through the form (wrong and foreign ids answer with a clear error)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from mango_core.customers import service as customers
from mango_core.devices import search
from mango_core.devices import service as devices
from mango_core.devices import types as dtypes
from mango_core.params import ParamDef
from mango_core.services import service as svc
from mango_core.services.models import Service
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import csrf_token, login, post
from tests.services.conftest import make_shop


def _devices(db, prefix: str) -> SimpleNamespace:  # noqa: ANN001
    dtype = devices.create_device_type(db, name=f"Router {prefix}", params=[ParamDef("wan", "WAN IP", "ipv4")])
    key = dtypes.ui_key(dtype.id)
    router = devices.create_device(db, type_key=key, name="Přepínač Kladno", serial_number=f"{prefix}-SN-QX",
                                   mac="00:1a:2b:3c:4d:5e", management_ip="10.0.1.7", params={"wan": "192.0.2.77"})
    other = devices.create_device(db, type_key=key, name="AP Rozdělov", serial_number=f"{prefix}-SN-KV",
                                  mac="00:1a:2b:3c:4d:99", management_ip="10.0.2.8", params={"wan": "198.51.100.5"})
    return SimpleNamespace(router=router.id, other=other.id)


@pytest.fixture
def data(app, db, world):
    with app.test_request_context(), location_scope(world.loc_a.id):
        shop = make_shop(db, [world.loc_a.id])
        customer = customers.create_customer(db, kind="person", first_name="Jan", last_name="Novák")
        shop.service = svc.create_service(db, customer_id=customer.id, product_id=shop.net100.id, activate=True).id
        shop.a = _devices(db, "A")
    with app.test_request_context(), location_scope(world.loc_a2.id):  # the same partner, another location
        shop.a2 = _devices(db, "A2")
    with app.test_request_context(), location_scope(world.loc_b.id):  # another partner
        shop.b = _devices(db, "B")
    db.commit()
    return shop


@pytest.fixture
def admin(client, world, data):  # noqa: ANN001, ANN201
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    return client


def ids(client, query: str) -> list[int]:  # noqa: ANN001
    response = client.get("/devices/lookup", query_string={"q": query})
    assert response.status_code == 200 and response.is_json
    return [item["id"] for item in response.get_json()["items"]]


@pytest.mark.parametrize("query", ["prepinac", "Přepínač", "sn-qx", "4d:5e", "4D-5E", "00:1a:2b:3c:4d:5e",
                                   "10.0.1.", "10.0.1.7", "192.0.2.77", "192.0.2"])
def test_lookup_finds_by_name_serial_mac_ip_and_parameter(admin, data, query):
    assert ids(admin, query) == [data.a.router]


def test_lookup_never_returns_another_locations_device(admin, data):
    for query in ("Přepínač", "SN-", "00:1a:2b", "10.0.", "192.0.2.77", str(data.b.router), str(data.a2.router)):
        found = ids(admin, query)
        assert not {data.a2.router, data.a2.other, data.b.router, data.b.other} & set(found), query
    assert sorted(ids(admin, "sn-")) == sorted([data.a.router, data.a.other])
    assert ids(admin, str(data.a.other)) == [data.a.other]  # a bare number is also the id
    body = admin.get("/devices/lookup", query_string={"q": "přepínač"}).get_json()
    assert body["more"] is False and body["items"][0] == {
        "id": data.a.router, "name": "Přepínač Kladno", "serial_number": "A-SN-QX", "mac": "00:1a:2b:3c:4d:5e",
        "management_ip": "10.0.1.7", "site": None, "state": "planned"}
    assert ids(admin, "") == [] and ids(admin, "nic-takoveho") == []


def test_lookup_needs_the_devices_view_permission(client, world, data):
    assert client.get("/devices/lookup?q=AP").status_code == 302  # not logged in: to the login page
    login(client, world.clerk_a.email)
    assert client.get("/devices/lookup?q=AP").status_code == 403


def test_lookup_limit(db, data, world, app):
    with app.test_request_context(), location_scope(world.loc_a.id):
        rows, more = search.lookup(db, "SN-", limit=1)
        assert len(rows) == 1 and more is True


def _link(client, service_id: int, device_id: object):  # noqa: ANN001, ANN201
    token = csrf_token(client, f"/services/{service_id}")
    return client.post(f"/services/{service_id}/devices", data={"csrf_token": token, "device_id": device_id},
                       follow_redirects=True)


def test_link_a_device_through_the_picker(admin, data, db, world):
    url = f"/services/{data.service}"
    page = admin.get(url).get_data(as_text=True)
    assert 'id="device-q"' in page and "hx-get" in page and 'name="device_id"' not in page
    found = admin.get(url, query_string={"device_q": "kladno"}).get_data(as_text=True)
    assert f'data-match="{data.a.router}"' in found and "Rozdělov" not in found
    assert re.search(rf'name="device_id" value="{data.a.router}"', found)
    page = _link(admin, data.service, data.a.router).get_data(as_text=True)
    db.expire_all()
    with location_scope(world.loc_a.id):
        assert [link.device_id for link in db.get(Service, data.service).device_links] == [data.a.router]
    assert f'data-device="{data.a.router}"' in page
    # the linked device is marked among the matches, the other one can still be linked
    found = admin.get(url, query_string={"device_q": "SN-"}).get_data(as_text=True)
    assert f'data-linked="{data.a.router}"' in found
    assert f'name="device_id" value="{data.a.router}"' not in found
    assert f'name="device_id" value="{data.a.other}"' in found
    fragment = admin.get(f"{url}/devices/matches", query_string={"device_q": "SN-"})
    assert fragment.status_code == 200
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="device-matches">') and f'data-linked="{data.a.router}"' in html
    assert "<html" not in html


@pytest.mark.parametrize(("which", "message"), [
    ("foreign", "Zařízení v této lokaci nebylo nalezeno."),
    ("sister", "Zařízení v této lokaci nebylo nalezeno."),
    ("missing", "Zařízení v této lokaci nebylo nalezeno."),
    ("garbage", "Zařízení: "),
    ("empty", "Zařízení: Vyberte zařízení z výsledků hledání."),
    ("linked", "Zařízení už je připojeno."),
])
def test_wrong_ids_answer_with_a_clear_error(admin, data, db, world, which, message):
    if which == "linked":
        assert _link(admin, data.service, data.a.router).status_code == 200
    value = {"foreign": data.b.router, "sister": data.a2.router, "missing": 999999, "garbage": "abc",
             "empty": "", "linked": data.a.router}[which]
    page = _link(admin, data.service, value).get_data(as_text=True)
    assert message in page
    db.expire_all()
    with location_scope(world.loc_a.id):
        links = [link.device_id for link in db.get(Service, data.service).device_links]
    assert links == ([data.a.router] if which == "linked" else [])


def test_picker_needs_permissions(client, world, data):
    login(client, world.clerk_a.email)
    assert client.get(f"/services/{data.service}/devices/matches?device_q=AP").status_code == 403
