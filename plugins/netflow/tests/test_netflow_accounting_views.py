# ruff: noqa: F811  (pytest fixtures imported by name)
"""Traffic where people see it: the "Traffic" tab of the customer card (permission), the portal's
"Data usage" page and service panel (the customer's own services only), the SVG bars, the job
``netflow:accounting`` run by the scheduler and the ``mango netflow accounting`` command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mango_core.db import utcnow
from mango_core.scheduler.runner import run_job
from mango_core.selfcare.testing import build_portal, portal_login
from mango_core.testing.fixtures import login, post
from mango_isp.ipam import assignments as asg
from mango_isp.ipam import prefixes as px
from mango_netflow.accounting import service as accounting
from mango_netflow.accounting.chart import human, traffic_chart
from mango_netflow.accounting.models import AccountingState, TrafficHour
from mango_netflow.queries.testing import make_flows, stored_flows  # noqa: F401


@pytest.fixture
def recent(app, db, world, in_loc, stored_flows):  # noqa: ANN001, ANN201
    """The portal customer's service holds 198.51.100.50; 2 GB downloaded and 3 MB uploaded two hours ago."""
    portal = build_portal(db, world.loc_a)
    db.commit()
    two_hours_ago = accounting.floor_hour(utcnow()) - timedelta(hours=2)
    with in_loc(world.loc_a):
        from mango_core.services.models import Service

        service = db.get(Service, portal.service_id)
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        asg.assign(db, service, "198.51.100.50", valid_from=two_hours_ago - timedelta(days=1))
        db.commit()
    stored_flows(world.loc_a, make_flows(
        {"src": "203.0.113.1", "dst": "198.51.100.50", "proto": 6, "first": two_hours_ago + timedelta(minutes=5),
         "octets": 2_000_000_000},
        {"src": "198.51.100.50", "dst": "203.0.113.1", "proto": 6, "first": two_hours_ago + timedelta(minutes=5),
         "octets": 3_000_000}))
    with in_loc(world.loc_a):
        accounting.run(db, world.loc_a.id, settings={"accounting_delay_minutes": 0})
        db.commit()
    return portal


def test_the_customer_card_shows_traffic_with_permission(client, db, world, recent):
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    html = client.get(f"/customers/{recent.customer_id}?tab=netflow_traffic").get_data(as_text=True)
    assert 'id="netflow-traffic"' in html and f'id="traffic-daily-{recent.service_id}"' in html
    assert f'id="traffic-hourly-{recent.service_id}"' in html and "2 GB" in html and "3 MB" in html
    clerk = client.application.test_client()
    login(clerk, world.clerk_a.email)
    page = clerk.get(f"/customers/{recent.customer_id}?tab=netflow_traffic")
    assert 'id="netflow-traffic"' not in page.get_data(as_text=True)


def test_the_portal_shows_the_customers_own_traffic(client, db, world, recent):
    portal_login(client, "PRG", recent.email)
    html = client.get("/selfcare/netflow/traffic").get_data(as_text=True)
    assert f'id="traffic-daily-{recent.service_id}"' in html
    assert f'id="traffic-daily-{recent.other_service_id}"' not in html  # another customer's service
    service_page = client.get(f"/selfcare/services/{recent.service_id}").get_data(as_text=True)
    assert 'id="netflow-service-traffic"' in service_page and "2 GB" in service_page
    anonymous = client.application.test_client()
    assert anonymous.get("/selfcare/netflow/traffic").status_code in (302, 401)


def test_the_chart():
    from datetime import UTC, datetime

    start = datetime(2025, 1, 1, tzinfo=UTC)
    svg = str(traffic_chart([accounting.Volume(start, 1500, 0), accounting.Volume(start + timedelta(days=1), 0, 0),
                             accounting.Volume(start + timedelta(days=2), 200, 3000)],
                            title="<x>", label_format="%d.%m.", labels=("down", "up")))
    assert svg.count('<rect class="in"') == 2 and svg.count('<rect class="out"') == 1
    assert "&lt;x&gt;" in svg and "style=" not in svg and "<script" not in svg
    assert (human(0), human(999), human(1500), human(2_000_000_000)) == ("0 B", "999 B", "1.5 kB", "2 GB")


def test_the_job_and_the_command(app, db, world, recent):
    from mango_core.cli import main
    from mango_core.tenancy import location_scope

    mango = app.extensions["mango"]
    run = run_job(mango, mango.jobs["netflow:accounting"], world.loc_a.id, trigger="cli")
    assert run.status == "ok", run.error
    with location_scope(world.loc_a.id):
        before = {(r.hour, r.service_id): (r.bytes_in, r.bytes_out) for r in db.scalars(select(TrafficHour))}
        assert sum(v[0] for v in before.values()) == 2_000_000_000
        assert db.scalar(select(AccountingState)).done_until <= accounting.floor_hour(utcnow())
    start = (accounting.floor_hour(utcnow()) - timedelta(hours=5)).isoformat()
    end = accounting.floor_hour(utcnow()).isoformat()
    result = app.test_cli_runner().invoke(main, ["netflow", "accounting", "--location", "PRG", "--from", start,
                                                 "--to", end])
    assert result.exit_code == 0 and "PRG: 5 hours accounted again" in result.output, result.output
    with location_scope(world.loc_a.id):
        after = {(r.hour, r.service_id): (r.bytes_in, r.bytes_out) for r in db.scalars(select(TrafficHour))}
    assert after == before
