# ruff: noqa: F811  (pytest fixtures imported by name)
"""The API of the data-retention queries: POST /api/v1/netflow-queries runs a query and logs it with the
token's user; GET lists the log (audit permission); permissions answer 403; bad input 422, unlogged;
another location's log is not listed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from mango_core.api import tokens
from mango_core.tenancy import location_scope, operator_scope
from mango_netflow.queries.models import QueryLog
from mango_netflow.queries.testing import network, stored_flows  # noqa: F401


@pytest.fixture
def api(app, db, world):  # noqa: ANN001, ANN201
    with operator_scope():
        secret = tokens.create_token(db, world.admin_a, name="netflow", location_id=world.loc_a.id).secret
    db.commit()
    client = app.test_client()

    def call(method: str, path: str, body=None):  # noqa: ANN001, ANN202
        headers = {"Authorization": f"Bearer {secret}"}
        if body is None:
            return client.open(path, method=method, headers=headers)
        return client.open(path, method=method, headers=headers, data=json.dumps(body), content_type="application/json")

    return call


def test_who_and_flows_through_the_api_are_logged(api, db, world, network):
    resp = api("POST", "/api/v1/netflow-queries", {"kind": "who", "reference": "API-1", "ip": "198.51.100.193",
                                                   "port": 5000, "at": "2025-01-03T10:00:30Z"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    [holder] = body["result"]["holders"]
    assert (holder["service_id"], holder["flows_seen"], holder["nat"]["inside"]) == (network["c"].id, 1, "100.64.0.1")
    assert (body["channel"], body["reference"], body["result_count"], body["location"]) == ("api", "API-1", 1, "PRG")
    resp = api("POST", "/api/v1/netflow-queries", {"kind": "flows", "reference": "API-2", "ip": "198.51.100.10",
                                                   "start": "2025-01-01T00:00:00Z", "end": "2025-01-10T00:00:00Z",
                                                   "port": 50000})
    assert resp.status_code == 201
    flows = resp.get_json()["result"]["flows"]
    assert [(f["src"], f["bytes"]) for f in flows] == [("203.0.113.5", 1000), ("198.51.100.10", 200)]
    resp = api("POST", "/api/v1/netflow-queries", {"kind": "flows", "reference": "API-3",
                                                   "customer_number": network["b"].customer.number,
                                                   "start": "2025-01-01", "end": "2025-01-10", "format": "csv"})
    assert resp.status_code == 201 and resp.get_json()["result"]["csv"].count("\r\n") == 2
    # bad input: 422 and nothing logged
    for body in ({"kind": "who", "reference": "", "ip": "198.51.100.10", "at": "2025-01-02T12:00:00Z"},
                 {"kind": "who", "reference": "R", "ip": "198.51.100.10"},
                 {"kind": "flows", "reference": "R", "ip": "198.51.100.10", "start": "2025-01-02", "end": "2025-01-01"},
                 {"kind": "what", "reference": "R"}):
        assert api("POST", "/api/v1/netflow-queries", body).status_code == 422, body
    with location_scope(world.loc_a.id):
        rows = list(db.scalars(select(QueryLog).order_by(QueryLog.id)))
    assert [(r.channel, r.user_id, r.reference, r.result_count) for r in rows] == [
        ("api", world.admin_a.id, "API-1", 1), ("api", world.admin_a.id, "API-2", 2),
        ("api", world.admin_a.id, "API-3", 1)]
    listed = api("GET", "/api/v1/netflow-queries?kind=flows").get_json()
    assert [item["reference"] for item in listed["items"]] == ["API-3", "API-2"]
    assert listed["items"][0]["result"] is None  # answers are not stored
    assert api("DELETE", f"/api/v1/netflow-queries/{rows[0].id}").status_code == 405
    assert api("PATCH", f"/api/v1/netflow-queries/{rows[0].id}", {"reference": "x"}).status_code == 405


def test_api_permissions(app, db, world, network):
    from mango_core.auth.models import RolePermission

    with operator_scope():
        secret = tokens.create_token(db, world.admin_a, name="x", location_id=world.loc_a.id).secret
        db.execute(RolePermission.__table__.delete().where(
            RolePermission.role_id == world.admin_role_a.id,
            RolePermission.permission.in_(["netflow.retention.query", "netflow.retention.audit"])))
    db.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/netflow-queries", headers=headers).status_code == 403
    refused = client.post("/api/v1/netflow-queries", headers=headers, json={
        "kind": "who", "reference": "R", "ip": "198.51.100.10", "at": "2025-01-02T12:00:00Z"})
    assert refused.status_code == 403
    with location_scope(world.loc_a.id):
        assert db.scalar(select(QueryLog.id)) is None


def test_the_openapi_document_describes_the_resource(api):
    document = api("GET", "/api/v1/openapi.json").get_json()
    assert "/netflow-queries" in json.dumps(document["paths"])
