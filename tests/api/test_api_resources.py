"""The core's resources through the API: real HTTP semantics, the domain's rules, the history's author."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select

from mango_core.auth.models import RolePermission
from mango_core.customers.models import Customer
from mango_core.history.models import HistoryEntry
from mango_core.services.models import Service
from mango_core.tenancy import location_scope, operator_scope
from tests.api.conftest import make_token


@pytest.fixture
def prg(db, world, api_client):  # noqa: ANN001, ANN201
    """A token of admin_a narrowed to PRG (so creating needs no location)."""
    return api_client(make_token(db, world.admin_a, location=world.loc_a))


def test_create_answers_201_with_location_and_the_object(db, world, prg):
    response = prg.post("/api/v1/customers", {"kind": "company", "company_name": "Mango s.r.o.", "ico": "27082440",
                                               "marketing_consent": True, "retain_until": "2030-12-31"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/customers/{body['id']}"
    assert body["location"] == "PRG" and body["display_name"] == "Mango s.r.o." and body["state"] == "lead"
    assert body["retain_until"] == "2030-12-31" and body["created_at"].endswith("+00:00")
    assert body["number"] >= 1 and body["variable_symbol"] == str(body["number"])
    assert prg.get(response.headers["Location"]).get_json() == body
    with location_scope(world.loc_a.id):  # written through the service: history with the token's user
        entry = db.scalar(select(HistoryEntry).where(HistoryEntry.entity == "customer",
                                                     HistoryEntry.entity_id == body["id"]))
        assert entry.action == "created" and entry.user_id == world.admin_a.id


def test_patch_changes_only_the_fields_sent(db, world, seeded, prg):
    a, _b = seeded
    response = prg.patch(f"/api/v1/customers/{a.customer.id}", {"note": "VIP", "first_name": "Honza"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["note"] == "VIP" and body["first_name"] == "Honza" and body["last_name"] == "Novák A"
    assert prg.patch(f"/api/v1/customers/{a.customer.id}", {}).get_json() == body  # nothing to change
    refused = prg.patch(f"/api/v1/customers/{a.customer.id}", {"ico": "12345678"})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "ico"
    assert prg.patch(f"/api/v1/customers/{a.customer.id}", {"number": 5}).status_code == 422  # read-only


def test_customer_actions(db, world, seeded, prg):
    a, _b = seeded
    base = f"/api/v1/customers/{a.customer.id}/actions"
    assert prg.post(f"{base}/add-tag", {"tag": "VIP"}).get_json()["tags"] == ["VIP"]
    assert prg.post(f"{base}/remove-tag", {"tag": "vip"}).get_json()["tags"] == []
    assert prg.post(f"{base}/remove-tag", {"tag": "vip"}).status_code == 422
    child = prg.post(f"/api/v1/customers/{a.other_customer.id}/actions/set-parent",
                     {"parent_id": a.customer.id, "bill_to_parent": True}).get_json()
    assert child["parent_id"] == a.customer.id and child["bill_to_parent"] is True
    loop = prg.post(f"{base}/set-parent", {"parent_id": a.other_customer.id})
    assert loop.status_code == 422 and loop.get_json()["errors"][0]["field"] == "parent_id"
    ended = prg.post(f"{base}/change-state", {"state": "former", "on": "2026-01-31", "reason": "moved"})
    assert ended.status_code == 200 and ended.get_json()["state"] == "former"
    assert ended.get_json()["terminated_on"] == "2026-01-31"
    assert prg.post(f"{base}/change-state", {"state": "lead"}).status_code == 422  # former -> lead is no transition


def test_contacts_crud(db, world, seeded, prg):
    a, _b = seeded
    created = prg.post("/api/v1/contacts", {"customer_id": a.customer.id, "name": "Eva", "roles": ["technical"],
                                            "phones": ["+420 777 123 456"]})
    assert created.status_code == 201, created.get_json()
    contact = created.get_json()
    assert contact["phones"] and contact["emails"] == [] and contact["roles"] == ["technical"]
    changed = prg.patch(f"/api/v1/contacts/{contact['id']}", {"emails": ["eva@example.test"]}).get_json()
    assert changed["emails"] == ["eva@example.test"] and changed["phones"] == contact["phones"]
    listing = prg.get(f"/api/v1/contacts?customer_id={a.customer.id}").get_json()
    assert {c["name"] for c in listing["items"]} == {"Jan", "Eva"}
    assert prg.delete(f"/api/v1/contacts/{contact['id']}").status_code == 204
    assert prg.get(f"/api/v1/contacts/{contact['id']}").status_code == 404
    bad = prg.post("/api/v1/contacts", {"customer_id": a.customer.id, "name": "Nobody"})
    assert bad.status_code == 422  # at least one e-mail or phone


def test_services_are_created_and_go_through_their_lifecycle(db, world, seeded, prg):
    a, _b = seeded
    created = prg.post("/api/v1/services", {"customer_id": a.customer.id, "product_id": a.product.id,
                                            "params": {"download": 250}, "price": "399.50", "activate": True})
    assert created.status_code == 201, created.get_json()
    service = created.get_json()
    assert service["state"] == "active" and service["price"] == "399.50" and service["effective_price"] == "399.50"
    assert service["params"] == {"download": 250}
    base = f"/api/v1/services/{service['id']}/actions"
    blocked = prg.post(f"{base}/block", {"kind": "debt", "reason": "unpaid"}).get_json()
    assert blocked["state"] == "blocked" and blocked["blocks"][0]["kind"] == "debt"
    assert prg.post(f"{base}/unblock", {"kind": "debt"}).get_json()["state"] == "active"
    assert prg.post(f"{base}/change-price", {"price": None}).get_json()["effective_price"] == "499.00"
    later = (date.today() + timedelta(days=30)).isoformat()
    scheduled = prg.post(f"{base}/terminate", {"effective": later, "reason": "moving"}).get_json()
    assert scheduled["state"] == "active"
    [change] = scheduled["scheduled_changes"]
    assert change["kind"] == "terminate" and change["effective"] == later
    cancelled = prg.post(f"{base}/cancel-change", {"change_id": change["id"]}).get_json()
    assert cancelled["scheduled_changes"] == []
    params = prg.post(f"{base}/change-params", {"params": {"download": 0}})
    assert params.status_code == 422 and params.get_json()["errors"][0]["field"] == "params"
    moved = prg.post(f"{base}/transfer", {"customer_id": a.other_customer.id}).get_json()
    assert moved["state"] == "terminated" and moved["transferred_to_id"]
    copy = prg.get(f"/api/v1/services/{moved['transferred_to_id']}").get_json()
    assert copy["customer_id"] == a.other_customer.id and copy["transferred_from_id"] == service["id"]
    assert prg.post(f"{base}/block", {"kind": "manual"}).status_code == 422  # terminated
    with location_scope(world.loc_a.id):
        authors = set(db.scalars(select(HistoryEntry.user_id).where(HistoryEntry.entity == "service",
                                                                     HistoryEntry.entity_id == service["id"])))
    assert authors == {world.admin_a.id}


def test_service_devices(db, world, seeded, prg):
    a, _b = seeded
    base = f"/api/v1/services/{a.service.id}/actions"
    assert prg.post(f"{base}/link-device", {"device_id": a.device.id}).get_json()["device_ids"] == [a.device.id]
    assert prg.post(f"{base}/link-device", {"device_id": a.device.id}).status_code == 422  # linked already
    assert prg.post(f"{base}/unlink-device", {"device_id": a.device.id}).get_json()["device_ids"] == []


def test_devices_crud(db, world, seeded, prg):
    a, _b = seeded
    created = prg.post("/api/v1/devices", {"name": "AP Střecha", "type_key": "code:example.switch",
                                           "params": {"ports": 8}, "mac": "00-1A-2B-3C-4D-5E", "state": "active",
                                           "parent_id": a.device.id})
    assert created.status_code == 201, created.get_json()
    device = created.get_json()
    assert device["mac"] == "00:1a:2b:3c:4d:5e" and device["params"]["ports"] == 8
    assert device["type_key"] == "code:example.switch" and device["parent_id"] == a.device.id
    changed = prg.patch(f"/api/v1/devices/{device['id']}", {"note": "on the roof", "params": {"ports": 16}})
    assert changed.status_code == 200 and changed.get_json()["name"] == "AP Střecha"
    assert changed.get_json()["params"]["ports"] == 16
    in_use = prg.delete(f"/api/v1/devices/{a.device.id}")  # the new one hangs below it
    assert in_use.status_code == 422
    assert prg.delete(f"/api/v1/devices/{device['id']}").status_code == 204
    assert prg.delete(f"/api/v1/devices/{a.device.id}").status_code == 204
    bad = prg.post("/api/v1/devices", {"name": "x", "type_key": "code:example.switch", "params": {"ports": 500}})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "params.ports"


def test_catalogue_is_read_only_and_the_partners_own(db, world, seeded, prg):
    a, b = seeded
    classes = prg.get("/api/v1/classes").get_json()
    assert [c["name"] for c in classes["items"]] == ["Internet A"]
    assert classes["items"][0]["parameters"][0]["key"] == "download"
    product = prg.get(f"/api/v1/products/{a.product.id}").get_json()
    assert product["price"] == "499.00" and product["vat_rate"] == "21" and product["locations"] == ["PRG"]
    assert prg.get(f"/api/v1/products/{b.product.id}").status_code == 404
    assert prg.post("/api/v1/products", {"name": "x"}).status_code == 405
    response = prg.patch(f"/api/v1/classes/{a.service_class.id}", {})
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_a_token_of_several_locations_names_where_to_create(db, world, seeded, api_client):
    wide = api_client(make_token(db, world.admin_a))  # PRG and KLA
    missing = wide.post("/api/v1/customers", {"last_name": "Nový"})
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "location"
    assert "KLA, PRG" in missing.get_json()["errors"][0]["detail"]
    created = wide.post("/api/v1/customers", {"last_name": "Nový", "location": "KLA"})
    assert created.status_code == 201 and created.get_json()["location"] == "KLA"
    elsewhere = wide.post("/api/v1/customers", {"last_name": "Nový", "location": "BRN"})
    assert elsewhere.status_code == 422 and elsewhere.get_json()["errors"][0]["field"] == "location"
    listing = wide.get("/api/v1/customers?limit=200").get_json()
    assert {c["location"] for c in listing["items"]} == {"PRG", "KLA"}


def test_permissions_are_checked_per_location(db, world, seeded, api_client):
    a, _b = seeded
    secret = make_token(db, world.admin_a, location=world.loc_a)
    with operator_scope():  # the admin role keeps reading customers but may not change them
        db.execute(delete(RolePermission).where(RolePermission.role_id == world.admin_role_a.id,
                                                RolePermission.permission == "core.customers.manage"))
    db.commit()
    client = api_client(secret)
    assert client.get(f"/api/v1/customers/{a.customer.id}").status_code == 200
    for response in (client.post("/api/v1/customers", {"last_name": "X"}),
                     client.patch(f"/api/v1/customers/{a.customer.id}", {"note": "x"}),
                     client.post(f"/api/v1/customers/{a.customer.id}/actions/add-tag", {"tag": "x"})):
        assert response.status_code == 403 and "core.customers.manage" in response.get_json()["detail"]
    with operator_scope():
        db.execute(delete(RolePermission).where(RolePermission.role_id == world.admin_role_a.id,
                                                RolePermission.permission == "core.customers.view"))
    db.commit()
    assert client.get("/api/v1/customers").status_code == 403
    assert client.get(f"/api/v1/customers/{a.customer.id}").status_code == 404  # never a hint it exists


def test_a_disabled_module_hides_its_resources(db, world, seeded, api_client):
    from mango_core.tenancy.models import LocationModule

    client = api_client(make_token(db, world.admin_a, location=world.loc_a))
    assert client.get("/api/v1/example-notes").status_code == 200
    with operator_scope():
        db.execute(delete(LocationModule).where(LocationModule.location_id == world.loc_a.id,
                                                LocationModule.module == "example"))
    db.commit()
    assert client.get("/api/v1/example-notes").status_code == 404
    assert client.get(f"/api/v1/example-notes/{seeded[0].note.id}").status_code == 404
    assert client.get("/api/v1/customers").status_code == 200  # the core stays


def test_example_plugin_notes(db, world, prg):
    created = prg.post("/api/v1/example-notes", {"text": "Ahoj"})
    assert created.status_code == 201
    note = created.get_json()
    assert note["text"] == "Ahoj" and note["author_id"] == world.admin_a.id and note["location"] == "PRG"
    assert prg.post("/api/v1/example-notes", {"text": "   "}).status_code == 422
    assert prg.post("/api/v1/example-notes", {"text": "x" * 501}).status_code == 422


def test_nothing_is_kept_when_a_resource_fails(db, world, seeded, prg, app, monkeypatch):
    """An unexpected error answers 500 problem+json and rolls the whole request back."""
    registry = app.extensions["mango_api"]
    original = registry.get("customers").create

    def broken(call, data):  # noqa: ANN001, ANN202
        original(call, data)  # the customer is written (flushed)…
        raise RuntimeError("boom")  # …and then something breaks

    monkeypatch.setattr(registry.get("customers"), "create", broken)
    with location_scope(world.loc_a.id):
        before = db.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1))
    response = prg.post("/api/v1/customers", {"last_name": "Ghost"})
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert "boom" not in response.get_data(as_text=True)
    db.expire_all()
    with location_scope(world.loc_a.id):
        assert db.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1)) == before
        assert db.scalar(select(Service.id).where(Service.customer_id == before + 1)) is None
