# ruff: noqa: F811  (pytest fixtures imported by name)
"""The audit log of data-retention queries: written for every query in Opcare (who, flows, the CSV),
on the command line and (see test_netflow_api) in the API; append-only in the database; the pages
need their permissions; another location's queries never show."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import LocationModule
from mango_core.testing.fixtures import login, post
from mango_netflow.queries import service as queries
from mango_netflow.queries.models import QueryLog
from mango_netflow.queries.testing import at, network, stored_flows  # noqa: F401


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def logs(db, location) -> list[QueryLog]:  # noqa: ANN001
    with location_scope(location.id):
        return list(db.scalars(select(QueryLog).order_by(QueryLog.id)))


def test_opcare_queries_are_logged_with_the_user(client, db, world, network):
    enter(client, world, world.loc_a)
    page = client.get("/netflow/who")
    assert page.status_code == 200
    resp = post(client, "/netflow/who", {"reference": "KRPA-1/2025", "ip": "198.51.100.193", "port": "5000",
                                         "at": "2025-01-03 11:00:30"}, token_from="/netflow/who")
    html = resp.get_data(as_text=True)
    # 11:00:30 Prague = 10:00:30 UTC on day 2: subscriber C behind CGNAT, confirmed by its flow
    assert resp.status_code == 200 and f'data-service="{network["c"].id}" data-flows="1"' in html
    resp = post(client, "/netflow/flows", {"reference": "KRPA-2/2025", "customer": str(network["a"].customer.number),
                                           "start": "2025-01-01", "end": "2025-01-10", "format": "html"},
                token_from="/netflow/flows")
    assert resp.status_code == 200 and 'id="netflow-flows-count"' in resp.get_data(as_text=True)
    resp = post(client, "/netflow/flows", {"reference": "KRPA-2/2025", "ip": "198.51.100.10", "start": "2025-01-01",
                                           "end": "2025-01-10", "format": "csv"}, token_from="/netflow/flows")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.get_data(as_text=True).count("\r\n") == 4  # the header and three flows
    # a query with bad input runs nothing and logs nothing
    bad = post(client, "/netflow/who", {"reference": "", "ip": "198.51.100.10", "at": "2025-01-02 12:00"},
               token_from="/netflow/who")
    assert bad.status_code == 422 and 'id="netflow-who-error"' in bad.get_data(as_text=True)
    rows = logs(db, world.loc_a)
    assert [(r.channel, r.kind, r.reference, r.result_count, r.user_id) for r in rows] == [
        ("web", "who", "KRPA-1/2025", 1, world.admin_a.id),
        ("web", "flows", "KRPA-2/2025", 2, world.admin_a.id),
        ("web", "flows", "KRPA-2/2025", 3, world.admin_a.id)]
    assert rows[0].operator == world.admin_a.email and rows[0].params["port"] == 5000
    audit = client.get("/netflow/audit").get_data(as_text=True)
    assert all(f'data-log="{r.id}"' in audit for r in rows)
    filtered = client.get("/netflow/audit?reference=KRPA-1/2025").get_data(as_text=True)
    assert f'data-log="{rows[0].id}"' in filtered and f'data-log="{rows[1].id}"' not in filtered


def test_the_command_line_logs_the_operator(app, db, world, network, tmp_path):
    from mango_core.cli import main

    runner = app.test_cli_runner()
    result = runner.invoke(main, ["netflow", "who", "--ip", "198.51.100.10", "--at", "2025-01-02T12:00:30Z",
                                  "--reference", "NCOZ-7", "--location", "prg", "--operator", "Eva", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    [holder] = payload["holders"]
    assert (holder["service_id"], holder["flows_seen"], holder["confirmed"], holder["location"]) == (
        network["a"].id, 2, True, "PRG")
    out = tmp_path / "flows.csv"
    result = runner.invoke(main, ["netflow", "flows", "--customer", str(network["b"].customer.number), "--from",
                                  "2025-01-01", "--to", "2025-01-10", "--reference", "NCOZ-8", "--location", "PRG",
                                  "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().count(b"\r\n") == 2
    # the reference is required; a bad address changes nothing
    assert runner.invoke(main, ["netflow", "who", "--ip", "198.51.100.10", "--at", "2025-01-02"]).exit_code != 0
    bad = runner.invoke(main, ["netflow", "who", "--ip", "nonsense", "--at", "2025-01-02", "--reference", "X"])
    assert bad.exit_code != 0 and "address" in bad.output
    rows = logs(db, world.loc_a)
    assert [(r.channel, r.operator, r.kind, r.reference, r.user_id) for r in rows] == [
        ("cli", "Eva (cli)", "who", "NCOZ-7", None), ("cli", f"{rows[1].operator}", "flows", "NCOZ-8", None)]
    assert rows[1].operator.endswith("(cli)") and rows[1].result_count == 1


def test_the_log_is_append_only(db, world, in_loc):
    with in_loc(world.loc_a):
        row = queries.record(db, queries.Asker("cli", "x"), "R-1", "who", {"ip": "192.0.2.1"}, 0)
        db.commit()
    for statement in (update(QueryLog).where(QueryLog.id == row.id).values(reference="forged"),
                      delete(QueryLog).where(QueryLog.id == row.id)):
        with operator_scope(), pytest.raises(DBAPIError, match="append-only"):
            with db.begin_nested():
                db.execute(statement)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.begin_nested():
            db.execute(text("DELETE FROM netflow_query_log"))
    assert [r.reference for r in logs(db, world.loc_a)] == ["R-1"]


def test_permissions(client, db, world, network):
    from mango_core.auth.models import RolePermission

    login(client, world.clerk_a.email)  # only core.jobs.view
    for path in ("/netflow/who", "/netflow/flows", "/netflow/audit"):
        assert client.get(path).status_code == 403, path
    assert post(client, "/netflow/who", {"reference": "R", "ip": "198.51.100.10", "at": "2025-01-02 12:00"},
                token_from="/jobs/").status_code == 403
    # query without audit: the queries work, the log does not open
    with operator_scope():
        db.execute(RolePermission.__table__.delete().where(RolePermission.role_id == world.admin_role_a.id,
                                                           RolePermission.permission == "netflow.retention.audit"))
    db.commit()
    admin = client.application.test_client()
    enter(admin, world, world.loc_a)
    assert admin.get("/netflow/who").status_code == 200
    assert admin.get("/netflow/audit").status_code == 403
    assert logs(db, world.loc_a) == []


def test_another_locations_queries_stay_there(client, db, world, in_loc, network):
    with operator_scope():
        db.add_all([LocationModule(location_id=world.loc_b.id, module="isp"),
                    LocationModule(location_id=world.loc_b.id, module="netflow")])
        db.commit()
    with in_loc(world.loc_b):
        answer, log = queries.ask_who(db, queries.Asker("web", "b"), "BRN-1", "198.51.100.10", at(1, 720.5))
        assert answer.holders == []  # PRG's address is not BRN's
        db.commit()
    with in_loc(world.loc_a):
        assert queries.audit_log(db) == []
    enter(client, world, world.loc_a)
    assert f'data-log="{log.id}"' not in client.get("/netflow/audit").get_data(as_text=True)
    other = client.application.test_client()
    enter(other, world, world.loc_b, world.admin_b)
    assert f'data-log="{log.id}"' in other.get("/netflow/audit").get_data(as_text=True)
    # BRN's flow search sees none of PRG's flows
    resp = post(other, "/netflow/flows", {"reference": "BRN-2", "ip": "198.51.100.10", "start": "2025-01-01",
                                          "end": "2025-01-10", "format": "csv"}, token_from="/netflow/flows")
    assert resp.status_code == 200 and resp.get_data(as_text=True).count("\r\n") == 1
