"""What a customer changes: editable parameters (lifecycle, history, event), tariff requests, contacts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mango_core.history.models import HistoryEntry
from mango_core.mail.models import MailMessage
from mango_core.selfcare import portal as portal_mod
from mango_core.selfcare import tariffs
from mango_core.selfcare.accounts import SelfcareError
from mango_core.selfcare.testing import portal_login, portal_post
from mango_core.services import lifecycle
from mango_core.services import service as services
from mango_core.services.models import ServiceChange
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import csrf_token, login, post
from mango_example import plugin as example_plugin


def _service(db, location_id: int, service_id: int):
    with location_scope(location_id):
        found = services.get_service(db, service_id)
        db.refresh(found)
        return found.params, found.product_id, found.state


def _history(db, location_id: int, **where) -> list[HistoryEntry]:
    with location_scope(location_id):
        stmt = select(HistoryEntry).order_by(HistoryEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(HistoryEntry, key) == value)
        return list(db.scalars(stmt))


def _params(client, service_id: int, **values):
    path = f"/selfcare/services/{service_id}"
    data = {f"p-{k}": v for k, v in values.items()}
    return client.post(f"{path}/params", data={**data, "p-csrf_token": csrf_token(client, path)})


def _told(service_id: int) -> list[dict]:
    """What plugins heard about the service since its creation (created and activated by the fixture)."""
    return [e for e in example_plugin.SERVICE_EVENTS
            if e["service_id"] == service_id and e["kind"] not in ("created", "activate")]


def test_the_customer_changes_an_editable_parameter_through_the_lifecycle(client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    page = client.get(f"/selfcare/services/{portal.service_id}").get_data(as_text=True)
    assert 'name="p-wifi_name"' in page and 'name="p-public_ip"' in page
    assert 'name="p-download"' not in page  # staff's parameter: shown, not editable
    resp = _params(client, portal.service_id, wifi_name="Chalupa", public_ip="y")
    assert resp.status_code == 302
    params, _product, _state = _service(db, world.loc_a.id, portal.service_id)
    assert params == {"download": 100, "wifi_name": "Chalupa", "public_ip": True}
    entries = _history(db, world.loc_a.id, entity="service", entity_id=portal.service_id, action="params_changed")
    assert {(e.field, e.before, e.after) for e in entries} == {
        ("params.wifi_name", f"net-{portal.customer_number}", "Chalupa"), ("params.public_ip", "false", "true")}
    assert all(e.reason == "Selfcare" and e.user_id is None for e in entries)
    with location_scope(world.loc_a.id):
        change = db.scalar(select(ServiceChange).where(ServiceChange.service_id == portal.service_id,
                                                       ServiceChange.kind == "params"))
        assert change.state == "applied"
    told = _told(portal.service_id)
    assert [e["kind"] for e in told] == ["params"] and told[0]["user_id"] is None
    assert told[0]["changes"]["params.wifi_name"] == (f"net-{portal.customer_number}", "Chalupa")
    # the same values again: nothing to do, said so
    resp = _params(client, portal.service_id, wifi_name="Chalupa", public_ip="y")
    assert resp.status_code == 400 and "Nic se nezměnilo" in resp.get_data(as_text=True)


def test_bad_values_and_staff_parameters_are_refused_and_nothing_changes(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    resp = _params(client, portal.service_id, wifi_name="x" * 33)
    assert resp.status_code == 400 and "is-invalid" in resp.get_data(as_text=True)
    # a staff-only parameter smuggled into the form is not even read
    resp = _params(client, portal.service_id, wifi_name="Nova", download="9999")
    assert resp.status_code == 302
    params, _product, _state = _service(db, world.loc_a.id, portal.service_id)
    assert params["download"] == 100 and params["wifi_name"] == "Nova"
    # and the service function refuses it outright
    with app.test_request_context(), location_scope(world.loc_a.id):
        service = services.get_service(db, portal.service_id)
        with pytest.raises(SelfcareError):
            portal_mod.change_params(db, service, {"download": 1000})
        with pytest.raises(SelfcareError):
            portal_mod.change_params(db, service, {})
    assert [e["kind"] for e in _told(portal.service_id)] == ["params"]


def test_a_terminated_service_offers_no_changes(app, client, db, world, portal):
    with app.test_request_context(), location_scope(world.loc_a.id):
        lifecycle.terminate(db, services.get_service(db, portal.service_id), effective=date.today(), reason="konec")
        db.commit()
    portal_login(client, "PRG", portal.email)
    page = client.get(f"/selfcare/services/{portal.service_id}").get_data(as_text=True)
    assert 'id="params-form"' not in page and 'id="tariff-form"' not in page
    assert _params(client, portal.service_id, wifi_name="Pozde").status_code == 404


def _ask(client, service_id: int, product_id: int, note: str = ""):
    path = f"/selfcare/services/{service_id}"
    return client.post(f"{path}/tariff", data={"t-product_id": str(product_id), "t-note": note,
                                               "t-csrf_token": csrf_token(client, path)})


def _staff(client, world):
    login(client, world.admin_a.email)
    post(client, "/location", {"location_id": world.loc_a.id})


def test_a_tariff_request_approved_by_staff_changes_the_product(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    assert _ask(client, portal.service_id, portal.product_id).status_code == 400  # its own product is not offered
    assert _ask(client, portal.service_id, 999999).status_code == 400
    resp = _ask(client, portal.service_id, portal.other_product_id, "Chci rychlejší internet")
    assert resp.status_code == 302
    page = client.get(f"/selfcare/services/{portal.service_id}").get_data(as_text=True)
    assert 'id="tariff-pending"' in page and 'id="tariff-form"' not in page
    again = _ask(client, portal.service_id, portal.other_product_id)
    assert again.status_code == 400 and "Žádost k této službě už čeká na vyřízení" in again.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        waiting = tariffs.pending_for(db, portal.service_id)
        assert waiting.note == "Chci rychlejší internet" and waiting.customer_id == portal.customer_id

    staff = app.test_client()
    _staff(staff, world)
    card = staff.get(f"/customers/{portal.customer_id}").get_data(as_text=True)
    assert 'id="selfcare-pending-requests"' in card and f'data-request="{waiting.id}"' in card
    listing = staff.get("/selfcare-requests/").get_data(as_text=True)
    assert f'data-request="{waiting.id}"' in listing
    assert staff.post(f"/selfcare-requests/{waiting.id}/approve", data={}).status_code == 400  # no CSRF
    resp = post(staff, f"/selfcare-requests/{waiting.id}/approve",
                {"effective": "", "note": "Vítejte", "next": "/selfcare-requests/"}, token_from="/selfcare-requests/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/selfcare-requests/")
    _params_now, product_id, _state = _service(db, world.loc_a.id, portal.service_id)
    assert product_id == portal.other_product_id
    with location_scope(world.loc_a.id):
        decided = tariffs.request_of(db, waiting.id)
        db.refresh(decided)
        assert decided.state == "approved" and decided.decided_by_id == world.admin_a.id
        assert decided.effective == date.today() and decided.change_id is not None
        mail = db.scalar(select(MailMessage).where(MailMessage.entity == "selfcare_account"))
        assert mail.recipients == [portal.email] and "schválena" in mail.subject
    entries = _history(db, world.loc_a.id, entity="service", entity_id=portal.service_id, action="product_changed")
    assert entries and entries[0].user_id == world.admin_a.id and entries[0].reason == f"Selfcare request #{waiting.id}"
    assert [e["kind"] for e in _told(portal.service_id)] == ["change_product"]
    # deciding twice is refused
    resp = post(staff, f"/selfcare-requests/{waiting.id}/reject", {"note": "ne"}, token_from="/selfcare-requests/")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        assert tariffs.request_of(db, waiting.id).state == "approved"
    page = client.get(f"/selfcare/services/{portal.service_id}").get_data(as_text=True)
    assert f'data-request="{waiting.id}" data-state="approved"' in page and "Portal 500" in page


def test_a_future_approval_is_scheduled_and_a_rejection_is_told(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    _ask(client, portal.service_id, portal.other_product_id)
    with location_scope(world.loc_a.id):
        first = tariffs.pending_for(db, portal.service_id).id
    staff = app.test_client()
    _staff(staff, world)
    later = date.today() + timedelta(days=10)
    post(staff, f"/selfcare-requests/{first}/approve", {"effective": later.isoformat()}, token_from="/selfcare-requests/")
    _p, product_id, _s = _service(db, world.loc_a.id, portal.service_id)
    assert product_id == portal.product_id  # not yet
    with location_scope(world.loc_a.id):
        change = db.scalar(select(ServiceChange).where(ServiceChange.kind == "change_product"))
        assert change.state == "scheduled" and change.effective == later
    # another request, rejected with a reason the customer sees
    with app.test_request_context(), location_scope(world.loc_a.id):
        second = tariffs.request_change(db, services.get_service(db, portal.service_id), portal.other_product_id)
        db.commit()
        second_id = second.id
    resp = post(staff, f"/selfcare-requests/{second_id}/reject", {"note": "Ve vaší lokalitě zatím nelze"},
                token_from="/selfcare-requests/")
    assert resp.status_code == 302
    page = client.get(f"/selfcare/services/{portal.service_id}").get_data(as_text=True)
    assert f'data-request="{second_id}" data-state="rejected"' in page and "Ve vaší lokalitě zatím nelze" in page
    assert _history(db, world.loc_a.id, action="tariff_request_rejected")[0].user_id == world.admin_a.id


def test_the_customer_cancels_a_waiting_request(client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    _ask(client, portal.service_id, portal.other_product_id)
    with location_scope(world.loc_a.id):
        waiting = tariffs.pending_for(db, portal.service_id).id
    assert client.post(f"/selfcare/requests/{waiting}/cancel").status_code == 400  # no CSRF
    assert portal_post(client, f"/selfcare/requests/{waiting}/cancel").status_code == 302
    with location_scope(world.loc_a.id):
        assert tariffs.request_of(db, waiting).state == "cancelled"
    assert 'id="tariff-form"' in client.get(f"/selfcare/services/{portal.service_id}").get_data(as_text=True)


def test_approval_that_the_lifecycle_refuses_leaves_the_request_waiting(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    _ask(client, portal.service_id, portal.other_product_id)
    with app.test_request_context(), location_scope(world.loc_a.id):
        waiting = tariffs.pending_for(db, portal.service_id).id
        from mango_core.catalog import service as catalog

        product = catalog.get_product(db, portal.other_product_id)
        catalog.set_availability(db, product, [])  # no longer sold here
        db.commit()
    staff = app.test_client()
    _staff(staff, world)
    resp = post(staff, f"/selfcare-requests/{waiting}/approve", {"effective": ""}, token_from="/selfcare-requests/")
    assert resp.status_code == 302
    assert "Produkt PORTAL500 se v této lokaci neprodává." in staff.get("/selfcare-requests/").get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert tariffs.request_of(db, waiting).state == "pending"
    assert _service(db, world.loc_a.id, portal.service_id)[1] == portal.product_id


def test_staff_without_the_permission_cannot_decide_or_invite(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    _ask(client, portal.service_id, portal.other_product_id)
    with location_scope(world.loc_a.id):
        waiting = tariffs.pending_for(db, portal.service_id).id
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    post(clerk, "/location", {"location_id": world.loc_a.id})
    assert clerk.get("/selfcare-requests/").status_code == 403
    for path in (f"/selfcare-requests/{waiting}/approve", f"/selfcare-requests/{waiting}/reject",
                 f"/customers/{portal.customer_id}/selfcare/invite", f"/customers/{portal.customer_id}/selfcare/disable"):
        assert post(clerk, path, {}).status_code == 403, path
    other = app.test_client()
    login(other, world.admin_b.email)  # another partner's staff
    assert post(other, f"/selfcare-requests/{waiting}/approve", {}).status_code == 404
    assert post(other, f"/customers/{portal.customer_id}/selfcare/invite", {}).status_code == 404
    with location_scope(world.loc_a.id):
        assert tariffs.request_of(db, waiting).state == "pending"


def test_contact_details_are_changed_through_the_customer_service(client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    page = client.get("/selfcare/contact").get_data(as_text=True)
    with location_scope(world.loc_a.id):
        from mango_core.customers import service as customers

        contact = customers.get_customer(db, portal.customer_id).contacts[0]
        contact_id = contact.id
    assert f'data-contact="{contact_id}"' in page and "jana.a@example.test" in page
    prefix = f"c{contact_id}"
    bad = client.post(f"/selfcare/contact/{contact_id}", data={
        f"{prefix}-name": "Jana Portálová", f"{prefix}-emails": "not-an-email", f"{prefix}-phones": "",
        f"{prefix}-csrf_token": csrf_token(client, "/selfcare/contact")})
    assert bad.status_code == 400
    resp = client.post(f"/selfcare/contact/{contact_id}", data={
        f"{prefix}-name": "Jana Portálová", f"{prefix}-emails": "jana.nova@example.test",
        f"{prefix}-phones": "+420 777 000 222", f"{prefix}-csrf_token": csrf_token(client, "/selfcare/contact")})
    assert resp.status_code == 302
    changed = _history(db, world.loc_a.id, entity="contact", entity_id=contact_id, action="contact_changed")
    assert {(e.field, e.after) for e in changed} == {("emails", '["jana.nova@example.test"]'),
                                                     ("phones", '["+420777000222"]')}
    assert any(e["event"] == "changed" and "contact.emails" in e["changes"] for e in example_plugin.CUSTOMER_EVENTS)
    with location_scope(world.loc_a.id):
        db.refresh(contact)
        assert contact.roles == ["owner"]  # roles stay as staff set them
    # another customer's contact is not reachable
    with location_scope(world.loc_a.id):
        foreign = customers.get_customer(db, portal.other_id).contacts[0].id
    resp = client.post(f"/selfcare/contact/{foreign}", data={
        f"c{foreign}-name": "X", f"c{foreign}-emails": "x@example.test",
        f"c{foreign}-csrf_token": csrf_token(client, "/selfcare/contact")})
    assert resp.status_code == 404
    added = client.post("/selfcare/contact/new", data={
        "new-name": "Petr Portál", "new-emails": "", "new-phones": "777123456",
        "new-csrf_token": csrf_token(client, "/selfcare/contact")})
    assert added.status_code == 302
    assert _history(db, world.loc_a.id, action="contact_added", customer_id=portal.customer_id)
