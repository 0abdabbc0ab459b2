# ruff: noqa: F811  (pytest fixtures imported by name)
"""Traffic accounting: bytes per service and hour from stored flows, hand-computed — direction,
sampling, CGNAT inside addresses, a flow between two subscribers, an assignment starting mid-hour,
flows crossing an hour — the job's watermark (catches up, re-runs count nothing twice), daily
totals, and the usage counters billing stores once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mango_isp.ipam import assignments as asg
from mango_netflow.accounting import service as accounting
from mango_netflow.accounting.models import TrafficHour
from mango_netflow.queries.testing import at, make_flows, network, stored_flows  # noqa: F401

PRAGUE = ZoneInfo("Europe/Prague")
H10 = at(3, 600)  # 2025-01-04 10:00 UTC
REMOTE = "203.0.113.9"


@pytest.fixture
def traffic(db, world, in_loc, make_service, network, stored_flows):  # noqa: ANN001, ANN201
    """Flows around 2025-01-04 10:00–11:00 UTC; service D gets 198.51.100.20 at 10:30."""
    d = make_service()
    with in_loc(world.loc_a):
        asg.assign(db, d, "198.51.100.20", valid_from=H10 + timedelta(minutes=30))
        db.commit()

    def t(minutes: float):  # noqa: ANN202
        return H10 + timedelta(minutes=minutes)

    tcp = {"proto": 6, "sport": 1000, "dport": 443}
    stored_flows(world.loc_a, make_flows(
        {**tcp, "src": REMOTE, "dst": "198.51.100.10", "first": t(1), "last": t(2), "octets": 1000},        # A in 1000
        {**tcp, "src": "198.51.100.10", "dst": REMOTE, "first": t(1), "last": t(2), "octets": 200,
         "sampling": 10},                                                                                  # A out 2000
        {**tcp, "src": "100.64.0.1", "nat_src": "198.51.100.193", "nat_sport": 5000, "dst": REMOTE,
         "first": t(5), "last": t(6), "octets": 700},                                                      # C out 700
        {**tcp, "src": REMOTE, "dst": "198.51.100.193", "nat_dst": "100.64.0.1", "nat_dport": 3333,
         "first": t(5), "last": t(6), "octets": 5000},                                                     # C in 5000
        {**tcp, "src": "198.51.100.10", "dst": "100.64.0.1", "first": t(7), "last": t(8), "octets": 50},  # A out, C in
        {**tcp, "src": REMOTE, "dst": "198.51.100.10", "first": t(-10), "last": t(10), "octets": 300},     # A in 300
        {**tcp, "src": REMOTE, "dst": "198.51.100.10", "first": t(50), "last": t(65), "octets": 4000},     # next hour
        {**tcp, "src": REMOTE, "dst": "198.51.100.20", "first": t(15), "last": t(20), "octets": 800},      # before D
        {**tcp, "src": REMOTE, "dst": "198.51.100.20", "first": t(35), "last": t(40), "octets": 900,
         "sampling": 2},                                                                                   # D in 1800
        {**tcp, "src": REMOTE, "dst": "192.0.2.77", "first": t(3), "octets": 12345},                       # nobody's
        # seen at the border only (no NAT fields): the public address and port lead to 100.64.0.1 = C
        {"proto": 17, "src": REMOTE, "sport": 53, "dst": "198.51.100.193", "dport": 5001, "first": t(9),
         "octets": 60},                                                                                    # C in 60
        {"proto": 17, "src": "198.51.100.193", "sport": 1100, "dst": REMOTE, "dport": 53, "first": t(9),
         "octets": 70},                                                                                    # C out 70
        {"proto": 17, "src": REMOTE, "sport": 53, "dst": "198.51.100.193", "dport": 20000, "first": t(9),
         "octets": 80},                                                                                    # 100.64.0.9: nobody
    ))
    return {**network, "d": d}


def hours(db, world) -> dict:  # noqa: ANN001
    from mango_core.tenancy import location_scope

    with location_scope(world.loc_a.id):
        rows = db.scalars(select(TrafficHour).order_by(TrafficHour.hour, TrafficHour.service_id))
        return {(r.hour, r.service_id): (r.bytes_in, r.bytes_out, r.flows) for r in rows}


def test_an_hour_is_summed_per_service_and_direction(db, world, in_loc, traffic):
    a, c, d = traffic["a"].id, traffic["c"].id, traffic["d"].id
    with in_loc(world.loc_a):
        assert accounting.account_hour(db, world.loc_a.id, H10) == 3
        db.commit()
    assert hours(db, world) == {
        (H10, a): (1000 + 300, 2000 + 50, 4),
        (H10, c): (5000 + 50 + 60, 700 + 70, 5),
        (H10, d): (1800, 0, 1),
    }


def test_the_job_catches_up_and_never_counts_twice(db, world, in_loc, traffic):
    a = traffic["a"].id
    settings = {"accounting_delay_minutes": 20, "accounting_backfill_hours": 24, "accounting_max_hours": 48}
    with in_loc(world.loc_a):
        first = accounting.run(db, world.loc_a.id, now=H10 + timedelta(minutes=85), settings=settings)
        db.commit()
        assert (first.hours, first.done_until) == (24, H10 + timedelta(hours=1))
        assert (H10 + timedelta(hours=1), a) not in hours(db, world)  # 11:00 is not complete before 11:20 + 1 h
        again = accounting.run(db, world.loc_a.id, now=H10 + timedelta(minutes=85), settings=settings)
        assert again.hours == 0
        later = accounting.run(db, world.loc_a.id, now=H10 + timedelta(minutes=150), settings=settings)
        db.commit()
        assert later.hours == 1
        assert hours(db, world)[(H10 + timedelta(hours=1), a)] == (4000, 0, 1)
        before = hours(db, world)
        assert accounting.rebuild(db, world.loc_a.id, H10 - timedelta(hours=3), H10 + timedelta(hours=2)) == 5
        db.commit()
        assert hours(db, world) == before
        # at most max_hours per run: a location that was down catches up over several runs
        slow = accounting.run(db, world.loc_a.id, now=H10 + timedelta(hours=10), settings={"accounting_max_hours": 3})
        assert slow.hours == 3 and slow.done_until == H10 + timedelta(hours=5)
        day = accounting.daily(db, a, date(2025, 1, 3), date(2025, 1, 5), PRAGUE)
        assert [(v.start, v.bytes_in, v.bytes_out) for v in day] == [
            (at(2) - timedelta(hours=1), 0, 0),
            (at(3) - timedelta(hours=1), 1300 + 4000, 2050),
            (at(4) - timedelta(hours=1), 0, 0)]


def test_usage_counters_reach_billing_once(app, db, world, in_loc, traffic, stored_flows):
    from mango_billing.models import UsageRecord
    from mango_billing.usage.store import collect_counters

    mango = app.extensions["mango"]
    stored_flows(world.loc_a, make_flows({"src": REMOTE, "dst": "198.51.100.10", "proto": 6, "first": H10 + timedelta(hours=2),
                                          "octets": 123_456_789, "sampling": 10}))
    day, next_day = date(2025, 1, 4), date(2025, 1, 5)
    with in_loc(world.loc_a):
        accounting.run(db, world.loc_a.id, now=H10 + timedelta(hours=4))
        # the day is not fully accounted yet: nothing is reported (billing would keep a partial figure)
        assert accounting.usage_counters(db, world.loc_a.id, day, next_day) == []
        accounting.run(db, world.loc_a.id, now=at(4, 60))  # up to 2025-01-05 00:00 UTC
        # A: 1300 + 4000 + 1 234 567 890 in, 2050 out = 1 234 575 240 B = 1.2346 GB (4 places, half up);
        # C (5880 B) and D (1800 B) round to 0.0000 GB and are not reported
        [a] = accounting.usage_counters(db, world.loc_a.id, day, next_day)
        assert (a["service_id"], a["quantity"], a["unit"]) == (traffic["a"].id, Decimal("1.2346"), "GB")
        assert a["started_at"] == at(3) - timedelta(hours=1) and a["key"] == f"data:{traffic['a'].id}:2025-01-04:2025-01-05"
        assert collect_counters(db, mango, world.loc_a.id, day, next_day) == 1
        assert collect_counters(db, mango, world.loc_a.id, day, next_day) == 0  # the same key is stored once
        db.commit()
        stored = list(db.execute(select(UsageRecord.service_id, UsageRecord.quantity).where(UsageRecord.source == "netflow")))
        assert stored == [(traffic["a"].id, Decimal("1.2346"))]


def test_the_column_wise_cgnat_reverse_agrees_with_the_plan():
    import ipaddress
    import random

    import numpy as np

    from mango_isp.ipam.cgnat import CgnatPlan
    from mango_netflow.accounting.attribute import nat_of, reverse
    from mango_netflow.flows import pack_address, unpack_address

    plan = CgnatPlan(ipaddress.ip_network("100.64.0.0/25"), ipaddress.ip_network("198.51.100.192/28"),
                     1024, 65535, 4000)
    rng = random.Random(7)
    pairs = [(ipaddress.IPv4Address(rng.randrange(int(plan.public.network_address) - 3,
                                                  int(plan.public.broadcast_address) + 4)), rng.randrange(0, 65536))
             for _ in range(3000)]
    addresses = np.array([pack_address(a) for a, _ in pairs], dtype="V16")
    ports = np.array([p for _, p in pairs], dtype=np.uint16)
    times = np.full(len(pairs), 1000, dtype=np.int64)
    found = reverse(addresses, ports, times, [nat_of(plan, 0, None)])
    expected = [plan.reverse(a, p) for a, p in pairs]
    assert [unpack_address(v) for v in found] == [b.inside if b else None for b in expected]
    assert 200 < sum(b is not None for b in expected) < 2000
    # outside the configuration's validity nothing maps
    assert all(unpack_address(v) is None for v in reverse(addresses, ports, times, [nat_of(plan, 2000, None)]))
