"""Opcare pages of billing plans: list, create, edit, remove/deactivate, a product's plan; CSRF and permissions."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mango_billing.models import BillingPlan
from mango_billing.plans import PlanError, clean
from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post

GOOD = {"code": "mes", "name": "Měsíčně předem", "period": "monthly", "in_advance": "1", "billing_day": "1",
        "due_days": "14", "prorate": "y", "blocked_rule": "prorate", "payment_method": "bank_transfer"}


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def plans(db, world, location=None) -> list[BillingPlan]:  # noqa: ANN001
    with location_scope((location or world.loc_a).id):
        return list(db.scalars(select(BillingPlan).order_by(BillingPlan.code).execution_options(populate_existing=True)))


@pytest.fixture
def product(app, db, world) -> Product:
    with app.test_request_context(), location_scope(world.loc_a.id):
        cls = catalog.create_class(db, name="Internet")
        made = catalog.create_product(db, class_id=cls.id, name="Internet 100", code="NET100", price="499.00",
                                      valid_from=date(2020, 1, 1), location_ids=[world.loc_a.id])
        db.commit()
    return made


def test_create_list_and_edit_a_plan(client, db, world):
    enter(client, world, world.loc_a)
    assert "Zatím žádné fakturační plány" in text(client.get("/billing/plans/"))
    resp = post(client, "/billing/plans/new", GOOD, token_from="/billing/plans/new")
    assert resp.status_code == 302
    [plan] = plans(db, world)
    assert (plan.code, plan.period, plan.in_advance, plan.billing_day, plan.due_days, plan.prorate,
            plan.blocked_rule, plan.payment_method, plan.is_active) == (
        "MES", "monthly", True, 1, 14, True, "prorate", "bank_transfer", True)
    assert plan.partner_id == world.partner_a.id
    page = text(client.get("/billing/plans/"))
    assert f'data-plan="{plan.id}"' in page and "měsíčně" in page and "předem" in page
    edit = {**GOOD, "name": "Čtvrtletně zpětně", "period": "quarterly", "in_advance": "0", "billing_day": "28",
            "due_days": "0", "prorate": "", "blocked_rule": "skip", "payment_method": "sipo", "is_active": "y"}
    resp = post(client, f"/billing/plans/{plan.id}", edit, token_from=f"/billing/plans/{plan.id}")
    assert resp.status_code == 302
    [plan] = plans(db, world)
    assert (plan.name, plan.period, plan.in_advance, plan.billing_day, plan.due_days, plan.prorate,
            plan.blocked_rule, plan.payment_method) == ("Čtvrtletně zpětně", "quarterly", False, 28, 0, False,
                                                        "skip", "sipo")


def test_server_side_validation_in_czech_and_english(client, db, world):
    enter(client, world, world.loc_a)
    resp = post(client, "/billing/plans/new", {**GOOD, "billing_day": "31"}, token_from="/billing/plans/new")
    assert resp.status_code == 400 and "Zadejte celé číslo od 1 do 28." in text(resp)
    resp = post(client, "/billing/plans/new", {**GOOD, "due_days": "-1"}, token_from="/billing/plans/new")
    assert resp.status_code == 400 and "Zadejte celé číslo od 0 do 365." in text(resp)
    resp = post(client, "/billing/plans/new", {**GOOD, "period": "weekly"}, token_from="/billing/plans/new")
    assert resp.status_code == 400
    assert post(client, "/billing/plans/new", GOOD, token_from="/billing/plans/new").status_code == 302
    resp = post(client, "/billing/plans/new", {**GOOD, "code": "MES"}, token_from="/billing/plans/new")
    assert resp.status_code == 400 and "Kód MES už má jiný plán." in text(resp)
    post(client, "/language", {"locale": "en", "next": "/"})
    resp = post(client, "/billing/plans/new", {**GOOD, "code": "X", "billing_day": "abc"},
                token_from="/billing/plans/new")
    assert resp.status_code == 400 and "Enter a whole number from 1 to 28." in text(resp)
    assert [p.code for p in plans(db, world)] == ["MES"]


def test_plan_forms_need_a_csrf_token(client, db, world):
    enter(client, world, world.loc_a)
    assert client.post("/billing/plans/new", data=GOOD).status_code == 400
    assert plans(db, world) == []
    assert post(client, "/billing/plans/new", GOOD, token_from="/billing/plans/new").status_code == 302
    [plan] = plans(db, world)
    assert client.post(f"/billing/plans/{plan.id}/remove").status_code == 400
    assert client.post(f"/billing/plans/{plan.id}", data={**GOOD, "name": "X"}).status_code == 400
    assert plans(db, world)[0].name == GOOD["name"]


def test_remove_deletes_an_unused_plan_and_deactivates_a_used_one(client, db, world, product):
    enter(client, world, world.loc_a)
    post(client, "/billing/plans/new", GOOD, token_from="/billing/plans/new")
    post(client, "/billing/plans/new", {**GOOD, "code": "ROK", "period": "yearly"}, token_from="/billing/plans/new")
    mes, rok = plans(db, world)
    resp = post(client, f"/billing/plans/products/{product.id}", {"plan_id": str(mes.id)},
                token_from=f"/billing/plans/products/{product.id}")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        stored = db.scalar(select(Product.billing_plan).where(Product.id == product.id))
    assert stored == {"plan_id": mes.id}
    assert "MES – Měsíčně předem" in text(client.get("/billing/plans/products"))
    assert "Používá ho produktů: 1, služeb: 0." in text(client.get(f"/billing/plans/{mes.id}"))
    resp = post(client, f"/billing/plans/{mes.id}/remove", token_from="/billing/plans/")
    assert resp.status_code == 302
    resp = post(client, f"/billing/plans/{rok.id}/remove", token_from="/billing/plans/")
    assert resp.status_code == 302
    [left] = plans(db, world)
    assert left.code == "MES" and left.is_active is False
    # an inactive plan is offered no more, except to the product that has it
    page = text(client.get(f"/billing/plans/products/{product.id}"))
    offered = {re.search(r'value="(\d*)"', o).group(1): "selected" in o
               for o in re.findall(r"<option[^>]*>", page.split('id="product-plan-form"')[1])}
    assert offered == {"": False, str(mes.id): True}
    resp = post(client, f"/billing/plans/products/{product.id}", {"plan_id": ""},
                token_from=f"/billing/plans/products/{product.id}")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(Product.billing_plan).where(Product.id == product.id)) is None
    resp = post(client, f"/billing/plans/products/{product.id}", {"plan_id": str(mes.id)},
                token_from=f"/billing/plans/products/{product.id}")
    assert resp.status_code == 400  # not offered: inactive


def test_permissions_and_other_partners(app, client, db, world, product):
    enter(client, world, world.loc_a)
    post(client, "/billing/plans/new", GOOD, token_from="/billing/plans/new")
    [plan] = plans(db, world)
    clerk = app.test_client()
    enter(clerk, world, world.loc_a, world.clerk_a)
    for path in ("/billing/plans/", "/billing/plans/new", f"/billing/plans/{plan.id}", "/billing/plans/products"):
        assert clerk.get(path).status_code == 403, path
    assert post(clerk, "/billing/plans/new", GOOD).status_code == 403
    assert post(clerk, f"/billing/plans/{plan.id}/remove").status_code == 403
    assert 'data-menu="billing_plans.index"' not in text(clerk.get("/"))
    # BETA sees neither ALFA's plans nor its products
    from mango_core.tenancy import operator_scope
    from mango_core.tenancy.models import LocationModule

    with operator_scope():
        db.add(LocationModule(location_id=world.loc_b.id, module="billing"))
        db.commit()
    beta = app.test_client()
    enter(beta, world, world.loc_b, world.admin_b)
    assert "MES" not in text(beta.get("/billing/plans/"))
    assert beta.get(f"/billing/plans/{plan.id}").status_code == 404
    assert post(beta, f"/billing/plans/{plan.id}/remove").status_code == 404
    assert beta.get(f"/billing/plans/products/{product.id}").status_code == 404
    # the same code is free for another partner
    assert post(beta, "/billing/plans/new", GOOD, token_from="/billing/plans/new").status_code == 302
    assert [p.code for p in plans(db, world, world.loc_b)] == ["MES"]
    assert [p.is_active for p in plans(db, world)] == [True]


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(GOOD)), st.one_of(st.none(), st.text(max_size=40), st.integers(),
                                                               st.booleans()), max_size=9))
def test_plan_values_refuse_garbage_with_their_own_error(app, db, world, data):
    """Any input: valid values or a PlanError naming a field — never another exception."""
    with app.test_request_context(), location_scope(world.loc_a.id):
        try:
            values = clean(db, {**GOOD, **data})
        except PlanError as exc:
            assert exc.field in GOOD and str(exc)
        else:
            assert 1 <= values["billing_day"] <= 28 and 0 <= values["due_days"] <= 365
