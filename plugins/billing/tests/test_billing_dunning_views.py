"""Opcare pages of dunning and uniCredit: permissions, 404 across locations, CSRF, plan → confirm."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from test_billing_dunning_flow import make_customer, make_invoice, make_shop

from mango_billing import dunning, prepaid
from mango_billing.models import DunningAction, DunningStep
from mango_core.customers import service as customers
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post

TODAY = date.today()


@pytest.fixture
def data(app, db, world):  # noqa: ANN001, ANN201
    with app.test_request_context(), location_scope(world.loc_a.id):
        shop = make_shop(db, world.loc_a.id)
        dunning.create_default_steps(db)
        customer, service = make_customer(db, shop, "Webový")
        invoice = make_invoice(db, customer, "500.00", TODAY - timedelta(days=8))
        ids = SimpleNamespace(customer=customer.id, service=service.id, invoice=invoice.id,
                              number=invoice.number, step=dunning.steps(db)[0].id)
    with app.test_request_context(), location_scope(world.loc_b.id):
        foreign = customers.create_customer(db, kind="person", first_name="Petr", last_name="Beta")
        foreign_step = dunning.save_step(db, position=1, days=5, action="reminder", name="B")
        ids.foreign_customer, ids.foreign_step = foreign.id, foreign_step.id
    db.commit()
    return ids


@pytest.fixture
def admin(client, world, data):  # noqa: ANN001, ANN201
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    return client


def _count(db, world, model) -> int:  # noqa: ANN001
    db.expire_all()
    with location_scope(world.loc_a.id):
        return db.scalar(select(func.count()).select_from(model))


def test_pages_need_the_permission(client, world, data):
    login(client, world.clerk_a.email)
    for path in ("/billing/dunning/", "/billing/dunning/steps", "/billing/dunning/terminations",
                 "/billing/dunning/disputes", f"/billing/dunning/customers/{data.customer}"):
        assert client.get(path).status_code == 403, path
    assert post(client, "/billing/dunning/execute", {"proposal": f"{data.customer}:{data.step}"}).status_code == 403


def test_plan_then_confirm(admin, db, world, data):
    html = admin.get("/billing/dunning/").get_data(as_text=True)
    assert data.number in html and f'value="{data.customer}:{data.step}"' in html
    assert _count(db, world, DunningAction) == 0
    response = post(admin, "/billing/dunning/execute", {"proposal": f"{data.customer}:{data.step}"},
                    token_from="/billing/dunning/")
    assert response.status_code == 302
    assert _count(db, world, DunningAction) == 1
    html = admin.get("/billing/dunning/").get_data(as_text=True)
    assert 'id="plan-empty"' in html and 'id="dunning-actions"' in html


def test_state_changes_need_csrf(admin, db, world, data):
    assert admin.post("/billing/dunning/execute", data={"proposal": f"{data.customer}:{data.step}"}).status_code == 400
    assert admin.post(f"/billing/dunning/customers/{data.customer}/topup",
                      data={"amount": "100", "method": "cash"}).status_code == 400
    assert _count(db, world, DunningAction) == 0


def test_other_locations_objects_are_404(admin, data):
    assert admin.get(f"/billing/dunning/customers/{data.foreign_customer}").status_code == 404
    form = {"position": "7", "days": "9", "action": "reminder", "name": "X", "fee": "0", "minimum_debt": "1"}
    assert post(admin, f"/billing/dunning/steps/{data.foreign_step}", form,
                token_from="/billing/dunning/steps").status_code == 404
    assert post(admin, f"/billing/dunning/steps/{data.foreign_step}/delete", {},
                token_from="/billing/dunning/steps").status_code == 404
    assert post(admin, f"/billing/dunning/customers/{data.foreign_customer}/topup", {"amount": "1", "method": "cash"},
                token_from="/billing/dunning/steps").status_code == 404


def test_steps_screen_creates_and_refuses_bad_input(admin, db, world, data):
    form = {"position": "9", "days": "90", "action": "termination_proposal", "name": "Konec", "fee": "0",
            "minimum_debt": "1"}
    assert post(admin, "/billing/dunning/steps", form, token_from="/billing/dunning/steps").status_code == 302
    bad = post(admin, "/billing/dunning/steps", {**form, "position": "10", "days": "abc"},
               token_from="/billing/dunning/steps")
    assert bad.status_code == 303
    assert _count(db, world, DunningStep) == 5
    html = admin.get("/billing/dunning/steps").get_data(as_text=True)
    assert "Konec" in html


def test_customer_topup_and_never_block(admin, db, world, data):
    page = f"/billing/dunning/customers/{data.customer}"
    assert admin.get(page).status_code == 200
    assert post(admin, f"{page}/topup", {"amount": "250,50", "method": "cash"}, token_from=page).status_code == 302
    assert post(admin, f"{page}/topup", {"amount": "-1", "method": "cash"}, token_from=page).status_code == 303
    assert post(admin, f"{page}/never-block", {"never_block": "1"}, token_from=page).status_code == 302
    db.expire_all()
    with location_scope(world.loc_a.id):
        assert prepaid.balance(db, data.customer) == Decimal("250.50")
        assert dunning.profile(db, data.customer).never_block is True
    assert "250,50" in admin.get(page).get_data(as_text=True)


def test_dispute_screen(admin, db, world, data):
    response = post(admin, "/billing/dunning/disputes", {"number": data.number, "reason": "wrong"},
                    token_from="/billing/dunning/disputes")
    assert response.status_code == 302
    assert data.number in admin.get("/billing/dunning/disputes").get_data(as_text=True)
    db.expire_all()
    with location_scope(world.loc_a.id):
        assert dunning.plan(db, TODAY) == []
