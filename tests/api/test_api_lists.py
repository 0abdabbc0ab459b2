"""Lists: limit/offset pagination with total and links, declared filters, declared sorting, search."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from mango_core.customers import service as customers
from mango_core.tenancy import location_scope
from tests.api.conftest import make_token

NAMES = ["Adámek", "Bártová", "Čermák", "Dvořák", "Erben", "Fiala", "Gregor"]


@pytest.fixture
def seven(db, app, world, api_client):  # noqa: ANN001, ANN201
    """Seven customers in PRG (Eva the company is active), and a client with a PRG token."""
    with app.test_request_context(), location_scope(world.loc_a.id):
        for name in NAMES:
            customers.create_customer(db, last_name=name, first_name="Jan", state="active" if name == "Erben" else "lead")
    db.commit()
    return api_client(make_token(db, world.admin_a, location=world.loc_a))


def test_pages_with_total_and_links(seven):
    first = seven.get("/api/v1/customers?limit=3&sort=number")
    assert first.status_code == 200
    page = first.get_json()
    assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == 0
    assert [c["last_name"] for c in page["items"]] == NAMES[:3]
    assert page["links"]["prev"] is None
    nxt = urlsplit(page["links"]["next"])
    assert nxt.path == "/api/v1/customers" and parse_qs(nxt.query) == {"sort": ["number"], "limit": ["3"],
                                                                          "offset": ["3"]}
    second = seven.get(page["links"]["next"]).get_json()
    assert [c["last_name"] for c in second["items"]] == NAMES[3:6]
    last = seven.get(second["links"]["next"]).get_json()
    assert [c["last_name"] for c in last["items"]] == NAMES[6:] and last["links"]["next"] is None
    assert seven.get(last["links"]["prev"]).get_json()["items"] == second["items"]
    beyond = seven.get("/api/v1/customers?offset=100").get_json()
    assert beyond["items"] == [] and beyond["total"] == 7


def test_default_limit_and_order(seven):
    page = seven.get("/api/v1/customers").get_json()
    assert page["limit"] == 50 and [c["number"] for c in page["items"]] == sorted(c["number"] for c in page["items"])


def test_sorting(seven):
    by_name = seven.get("/api/v1/customers?sort=-display_name").get_json()["items"]
    assert [c["last_name"] for c in by_name] == list(reversed(NAMES))  # by the folded name: Č after C
    newest = seven.get("/api/v1/customers?sort=-created_at,-number&limit=2").get_json()["items"]
    assert [c["last_name"] for c in newest] == ["Gregor", "Fiala"]
    repeated = seven.get("/api/v1/customers?sort=number,number").get_json()["items"]  # a repeat adds nothing
    assert [c["last_name"] for c in repeated] == NAMES


def test_filters(seven, world):
    active = seven.get("/api/v1/customers?state=active").get_json()
    assert [c["last_name"] for c in active["items"]] == ["Erben"] and active["total"] == 1
    number = active["items"][0]["number"]
    assert seven.get(f"/api/v1/customers?number={number}").get_json()["items"][0]["last_name"] == "Erben"
    combined = seven.get(f"/api/v1/customers?number={number}&state=lead").get_json()
    assert combined["total"] == 0
    today = active["items"][0]["created_at"][:10]
    assert seven.get(f"/api/v1/customers?created_at[gte]={today}").get_json()["total"] == 7
    assert seven.get(f"/api/v1/customers?created_at[lte]={today}").get_json()["total"] == 7
    assert seven.get(f"/api/v1/customers?created_at={today}").get_json()["total"] == 7
    assert seven.get("/api/v1/customers?created_at[lte]=2000-01-01").get_json()["total"] == 0
    assert seven.get("/api/v1/customers?created_at[gte]=9999-12-31").get_json()["total"] == 0
    assert seven.get("/api/v1/customers?unknown=1").status_code == 200  # unknown parameters are ignored


def test_search(seven):
    found = seven.get("/api/v1/customers?q=dvorak").get_json()  # without diacritics
    assert [c["last_name"] for c in found["items"]] == ["Dvořák"] and found["total"] == 1
    assert seven.get("/api/v1/customers?q=%20").get_json()["total"] == 7


@pytest.mark.parametrize(("query", "parameter"), [
    ("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"), ("offset=-1", "offset"),
    ("sort=name", "sort"), ("sort=-", "sort"), ("sort=number,,id", "sort"), ("state=gone", "state"),
    ("number=abc", "number"), ("number=99999999999", "number"), ("created_at[gte]=2026-02-30", "created_at[gte]"),
    ("variable_symbol=12a", "variable_symbol"), ("q=" + "x" * 201, "q"),
])
def test_bad_parameters_are_a_400_problem_naming_them(seven, query, parameter):
    response = seven.get(f"/api/v1/customers?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("#problem-bad-request")
    assert [e["pointer"] for e in problem["errors"]] == [parameter]
