"""Opcare pages of services: permissions, 404 across locations, CSRF, every action by POST."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mango_core.customers import service as customers
from mango_core.services import lifecycle
from mango_core.services import service as svc
from mango_core.services.models import Service, ServiceChange
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import csrf_token, login, post
from tests.services.conftest import make_shop

LATER = date.today() + timedelta(days=30)


def switch(client, location) -> None:  # noqa: ANN001
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def fetch(db, world, model, ident):  # noqa: ANN001, ANN201
    db.expire_all()
    with location_scope(world.loc_a.id):
        row = db.get(model, ident)
        row.state  # noqa: B018 - loaded inside the scope
        return row


def act(client, service_id: int, action: str, prefix: str, data: dict | None = None):  # noqa: ANN201
    token = csrf_token(client, f"/services/{service_id}")
    payload = {f"{prefix}-csrf_token": token, **{f"{prefix}-{k}": v for k, v in (data or {}).items()}}
    return client.post(f"/services/{service_id}/{action}", data=payload)


@pytest.fixture
def data(app, db, world):
    with app.test_request_context(), location_scope(world.loc_a.id):
        shop = make_shop(db, [world.loc_a.id])
        shop.customer = customers.create_customer(db, kind="person", first_name="Jan", last_name="Novák")
        shop.other = customers.create_customer(db, kind="person", first_name="Eva", last_name="Malá")
        shop.other_number, shop.other_id = shop.other.number, shop.other.id
        shop.service = svc.create_service(db, customer_id=shop.customer.id, product_id=shop.net100.id,
                                          params={"ipv4": "192.0.2.1"}, activate=True)
    with app.test_request_context(), location_scope(world.loc_b.id):
        beta = make_shop(db, [world.loc_b.id])
        customer_b = customers.create_customer(db, kind="person", first_name="Petr", last_name="Beta")
        shop.foreign = svc.create_service(db, customer_id=customer_b.id, product_id=beta.net100.id)
    db.commit()
    return shop


@pytest.fixture
def admin(client, world, data):  # noqa: ANN001, ANN201
    login(client, world.admin_a.email)
    switch(client, world.loc_a)
    return client


def test_pages_need_permissions(client, world, data):
    login(client, world.clerk_a.email)
    for path in ("/services/", f"/services/{data.service.id}", f"/services/new?customer_id={data.customer.id}"):
        assert client.get(path).status_code == 403, path
    assert post(client, f"/services/{data.service.id}/activate", {}, token_from="/").status_code == 403


def test_other_locations_service_is_404(admin, data):
    assert admin.get(f"/services/{data.foreign.id}").status_code == 404
    assert act(admin, data.service.id, "block", "block", {"kind": "manual"}).status_code == 302
    token = csrf_token(admin, f"/services/{data.service.id}")
    assert admin.post(f"/services/{data.foreign.id}/block",
                      data={"block-csrf_token": token, "block-kind": "manual"}).status_code == 404


def test_state_changes_need_csrf(admin, data, db, world):
    response = admin.post(f"/services/{data.service.id}/block", data={"block-kind": "debt"})
    assert response.status_code == 400
    assert fetch(db, world, Service, data.service.id).state == "active"


def test_detail_list_and_customer_tab(admin, data):
    html = admin.get(f"/services/{data.service.id}").get_data(as_text=True)
    assert "Internet 100" in html and 'id="block-form"' in html and 'id="terminate-form"' in html
    assert "data-confirm" in html
    assert f'data-service="{data.service.id}"' in admin.get("/services/").get_data(as_text=True)
    tab = admin.get(f"/customers/{data.customer.id}?tab=services").get_data(as_text=True)
    assert f'data-service="{data.service.id}"' in tab and "service-new" in tab


def test_new_service_from_the_customer_card(admin, data, db, world):
    choose = admin.get(f"/services/new?customer_id={data.customer.id}").get_data(as_text=True)
    assert f'data-product="{data.net300.id}"' in choose
    path = f"/services/new?customer_id={data.customer.id}&product_id={data.net300.id}"
    bad = post(admin, path, {"p-download": "0", "p-ipv4": "x", "payment_period": ""}, token_from=path)
    assert bad.status_code == 400
    good = post(admin, path, {"p-download": "300", "p-ipv4": "192.0.2.77", "start_date": date.today().isoformat(),
                              "activate": "y", "price": "650,00", "payment_period": "1"}, token_from=path)
    assert good.status_code == 302
    db.expire_all()
    with location_scope(world.loc_a.id):
        created = db.scalars(select(Service).where(Service.customer_id == data.customer.id)
                             .order_by(Service.id.desc())).first()
    assert created.product_id == data.net300.id and created.state == "active" and str(created.price) == "650.00"


def test_every_action_by_post(admin, data, db, world):
    sid = data.service.id
    steps = [
        ("block", "block", {"kind": "debt", "reason": "unpaid"}),
        ("unblock", "unblock", {"kind": "debt", "reason": "paid"}),
        ("price", "price", {"price": "450.00"}),
        ("commitment", "commitment", {"commitment_until": (date.today() + timedelta(days=700)).isoformat()}),
        ("payment-period", "period", {"payment_period": "6"}),
        ("billing-plan", "plan", {"billing_plan": "advance"}),
        ("product", "product", {"product_id": str(data.net300.id), "effective": LATER.isoformat()}),
    ]
    for action, prefix, payload in steps:
        assert act(admin, sid, action, prefix, payload).status_code == 302, action
    service = fetch(db, world, Service, sid)
    assert (str(service.price), service.payment_period, service.billing_plan) == ("450.00", 6, "advance")
    with location_scope(world.loc_a.id):
        [scheduled] = svc.scheduled_changes(db, service)
    assert scheduled.kind == "change_product" and scheduled.created_by_id == world.admin_a.id
    html = admin.get(f"/services/{sid}").get_data(as_text=True)
    assert f'data-change="{scheduled.id}"' in html
    cancel = post(admin, f"/services/{sid}/changes/{scheduled.id}/cancel", {}, token_from=f"/services/{sid}")
    assert cancel.status_code == 302
    assert fetch(db, world, ServiceChange, scheduled.id).state == "cancelled"
    params = post(admin, f"/services/{sid}/params", {"p-download": "100", "p-upload": "40", "p-ipv4": "192.0.2.9"},
                  token_from=f"/services/{sid}/params")
    assert params.status_code == 302
    assert act(admin, sid, "transfer", "transfer", {"customer_number": str(data.other_number)}).status_code == 302
    service = fetch(db, world, Service, sid)
    assert service.state == "terminated" and service.params["upload"] == 40
    with location_scope(world.loc_a.id):
        assert lifecycle.transferred_to(db, service).customer_id == data.other_id


def test_terminate_needs_a_reason_and_a_date(admin, data, db, world):
    assert act(admin, data.service.id, "terminate", "terminate", {"reason": ""}).status_code == 302
    assert fetch(db, world, Service, data.service.id).state == "active"
    assert act(admin, data.service.id, "terminate", "terminate",
               {"reason": "moving", "effective": date.today().isoformat()}).status_code == 302
    assert fetch(db, world, Service, data.service.id).state == "terminated"
