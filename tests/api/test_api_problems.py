"""Every error of the API is an RFC 9457 problem (application/problem+json) with real HTTP semantics."""

from __future__ import annotations

import pytest

from tests.api.conftest import make_token


@pytest.fixture
def prg(db, world, api_client):  # noqa: ANN001, ANN201
    return api_client(make_token(db, world.admin_a, location=world.loc_a))


def _problem(response, status: int) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == status
    assert body["type"].startswith("/api/v1/docs#problem-")
    return body


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/customers/999999", "/api/v1/customers/abc",
                                  "/api/v1/customers/1/actions/fly", "/api/v1/customers/1/nothing",
                                  "/api/v1/customers/99999999999", "/api/v1/", "/api/v1/a/b/c/d/e",
                                  "/api/v1/customers/1%0A"])
def test_404(prg, path):
    assert _problem(prg.get(path), 404)["title"] == "Not Found"


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/api/v1/customers", "GET, POST, HEAD, OPTIONS"),
    ("PUT", "/api/v1/customers/1", "GET, PATCH, HEAD, OPTIONS"),
    ("POST", "/api/v1/customers/1", "GET, PATCH, HEAD, OPTIONS"),
    ("GET", "/api/v1/services/1/actions/block", "POST, OPTIONS"),
    ("POST", "/api/v1/invoices", "GET, HEAD, OPTIONS"),
    ("QUERY", "/api/v1/customers", "GET, POST, HEAD, OPTIONS"),
    ("TRACE", "/api/v1/devices/1", "GET, PATCH, DELETE, HEAD, OPTIONS"),
])
def test_405_lists_what_is_allowed(db, seeded, prg, method, path, allow):
    response = prg.request(method, path)
    _problem(response, 405)
    assert response.headers["Allow"] == allow


def test_options_answers_the_allowed_methods(seeded, prg):
    response = prg.request("OPTIONS", "/api/v1/contacts/1")
    assert response.status_code == 204 and response.headers["Allow"] == "GET, PATCH, DELETE, HEAD, OPTIONS"


def test_415_400_422_for_bodies(prg):
    response = prg.request("POST", "/api/v1/customers", headers={"Content-Type": "text/plain"}, data="last_name=X")
    _problem(response, 415)
    assert response.headers["Accept-Post"] == "application/json"
    _problem(prg.request("POST", "/api/v1/customers", headers={"Content-Type": "application/json"}, data="{nope"), 400)
    _problem(prg.request("POST", "/api/v1/customers", headers={"Content-Type": "application/json"},
                         data='{"last_name": NaN}'), 400)
    not_object = _problem(prg.post("/api/v1/customers", ["a"]), 422)
    assert "object" in not_object["detail"]
    problem = _problem(prg.post("/api/v1/customers", {"kind": "robot", "last_name": 7, "extra": 1,
                                                       "birth_date": "2020-02-30"}), 422)
    assert problem["type"].endswith("#problem-validation-error")
    assert {e["pointer"] for e in problem["errors"]} == {"/kind", "/last_name", "/extra", "/birth_date"}
    missing = _problem(prg.post("/api/v1/contacts", {}), 422)
    assert {e["field"] for e in missing["errors"]} == {"customer_id", "name"}
    nested = _problem(prg.post("/api/v1/contacts", {"customer_id": 1, "name": "x", "roles": ["boss"]}), 422)
    assert nested["errors"][0]["pointer"] == "/roles/0"


def test_413_for_a_huge_body(prg):
    _problem(prg.post("/api/v1/example-notes", {"text": "x" * (1024 * 1024)}), 413)


def test_money_is_a_string_never_a_number(db, seeded, prg):
    a, _b = seeded
    base = f"/api/v1/services/{a.service.id}/actions/change-price"
    for price in (399.5, "399.505", "-1.00", "1e3"):
        problem = _problem(prg.post(base, {"price": price}), 422)
        assert problem["errors"][0]["field"] == "price"
    assert prg.post(base, {"price": "399.50"}).get_json()["price"] == "399.50"


def test_problem_details_speak_czech_on_request(db, world, api_client):
    client = api_client(make_token(db, world.admin_a, location=world.loc_a), language="cs")
    problem = _problem(client.post("/api/v1/customers", {"kind": "person"}), 422)
    assert problem["title"] == "Unprocessable Content"  # a title is fixed per type
    assert problem["errors"][0]["detail"] == "Tato položka je povinná."
    assert _problem(api_client(language="cs,en;q=0.5").get("/api/v1/customers"), 401)["detail"].startswith("Pošlete")


def test_the_document_takes_only_get(client):
    response = client.open("/api/v1/openapi.json", method="PROPFIND")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    assert response.mimetype == "application/problem+json"


def test_a_deeply_nested_body_is_a_bad_request_not_a_crash(prg):
    deep = '{"params": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = prg.request("POST", "/api/v1/example-notes", headers={"Content-Type": "application/json"}, data=deep)
    _problem(response, 400)
