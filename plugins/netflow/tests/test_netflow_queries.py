# ruff: noqa: F811  (pytest fixtures imported by name)
"""Flow searches: of an address with filters (port, protocol, peer), of a customer over the addresses
its services held (host and prefix assignments, only while they held them), and the CSV for the
authority, byte for byte."""

from __future__ import annotations

import pytest

from mango_isp.ipam import assignments as asg
from mango_isp.ipam import prefixes as px
from mango_netflow.queries import export
from mango_netflow.queries import service as queries
from mango_netflow.queries.testing import at, make_flows, network, stored_flows  # noqa: F401


def search(db, **kw):  # noqa: ANN001, ANN003, ANN201
    return queries.search_flows(db, queries.flow_query(**kw))


def test_flows_of_an_address_with_filters(db, world, in_loc, network):
    with in_loc(world.loc_a):
        every = search(db, start=at(0), end=at(10), ip="198.51.100.10")
        assert len(every) == 3 and list(every.flows["first"]) == sorted(every.flows["first"])
        assert len(search(db, start=at(0), end=at(10), ip="198.51.100.10", port=50000)) == 2
        assert len(search(db, start=at(0), end=at(10), ip="198.51.100.10", port=40000)) == 1
        assert len(search(db, start=at(0), end=at(10), ip="198.51.100.10", protocol="udp")) == 0
        assert len(search(db, start=at(0), end=at(10), ip="198.51.100.10", protocol="6")) == 3
        assert len(search(db, start=at(0), end=at(10), ip="198.51.100.10", peer="203.0.113.5")) == 3
        assert len(search(db, start=at(0), end=at(10), ip="198.51.100.10", peer="203.0.113.6")) == 0
        assert len(search(db, start=at(6), end=at(10), ip="198.51.100.10")) == 1  # the interval
        cut = search(db, start=at(0), end=at(10), ip="198.51.100.10", limit=2)
        assert len(cut) == 2 and cut.truncated
        # the public side of a CGNAT flow finds it too (the store matches nat_src)
        assert len(search(db, start=at(0), end=at(10), ip="198.51.100.193", port=5000)) == 1


def test_flows_of_a_customer_follow_its_assignments(db, world, in_loc, network):
    with in_loc(world.loc_a):
        a = search(db, start=at(0), end=at(10), customer_number=network["a"].customer.number)
        # the address was A's on days 0–5 only: B's flow of day 7 is not A's
        assert len(a) == 2 and a.customer.id == network["a"].customer_id
        b = search(db, start=at(0), end=at(10), customer_number=network["b"].customer.number)
        assert len(b) == 1 and int(b.flows[0]["dport"]) == 40000
        c = search(db, start=at(0), end=at(10), customer_number=network["c"].customer.number)
        assert len(c) == 1 and queries.flow_rows(c.flows)[0]["nat_src"] == "198.51.100.193"
        with pytest.raises(queries.QueryError, match="No customer"):
            search(db, start=at(0), end=at(10), customer_number=999999)


def test_a_prefix_assignment_is_searched_by_its_range(db, world, in_loc, make_service, stored_flows):
    business = make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="2001:db8::/32", kind="public")
        px.create_prefix(db, prefix="192.0.2.0/24", kind="public")
        asg.assign(db, business, "2001:db8:10::/56", valid_from=at(0))
        asg.assign(db, business, "192.0.2.4/30", valid_from=at(0))
        db.commit()
    stored_flows(world.loc_a, make_flows(
        {"src": "2001:db8:10:ff::1", "dst": "2001:db8:ffff::1", "sport": 1000, "dport": 443, "proto": 6,
         "first": at(1), "octets": 10},
        {"src": "2001:db8:11::1", "dst": "2001:db8:ffff::1", "sport": 1000, "dport": 443, "proto": 6,
         "first": at(1), "octets": 20},  # outside the /56
        {"src": "203.0.113.1", "dst": "192.0.2.7", "proto": 17, "first": at(1, 1), "octets": 30},
        {"src": "203.0.113.1", "dst": "192.0.2.8", "proto": 17, "first": at(1, 2), "octets": 40},  # outside the /30
        {"src": "203.0.113.1", "dst": "192.0.2.3", "proto": 17, "first": at(1, 3), "octets": 50},  # outside the /30
    ))
    with in_loc(world.loc_a):
        found = search(db, start=at(0), end=at(2), customer_number=business.customer.number)
        assert [r["octets"] for r in queries.flow_rows(found.flows)] == [10, 30]


def test_bad_searches_are_refused(db, world, in_loc):
    with in_loc(world.loc_a):
        for kw in ({"start": at(1), "end": at(0), "ip": "192.0.2.1"},
                   {"start": at(0), "end": at(1)},
                   {"start": at(0), "end": at(1), "ip": "192.0.2.1", "customer_number": 1},
                   {"start": at(0), "end": at(400), "ip": "192.0.2.1"},
                   {"start": at(0), "end": at(1), "ip": "192.0.2.1", "protocol": "bogus"},
                   {"start": at(0), "end": at(1), "ip": "192.0.2.1", "limit": "0"},
                   {"start": at(0), "end": at(1), "ip": "192.0.2.1", "peer": "x"},
                   {"start": at(0).replace(year=1), "end": at(1).replace(year=1), "ip": "192.0.2.1"},
                   {"start": at(0), "end": at(1).replace(tzinfo=None), "ip": "192.0.2.1"}):
            with pytest.raises(queries.QueryError):
                queries.flow_query(**kw)


def test_the_csv_for_the_authority(db, world, in_loc, network):
    with in_loc(world.loc_a):
        found = search(db, start=at(0), end=at(10), customer_number=network["c"].customer.number)
    text = export.flows_csv(found.flows, {1: "border-1"}).decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == ",".join(export.COLUMNS)
    assert lines[1] == ("2025-01-03T10:00:00.000Z,2025-01-03T10:01:00.000Z,6,TCP,100.64.0.1,3333,203.0.113.9,80,"
                        "198.51.100.193,5000,,,700,5,1,1,border-1")
    assert lines[2:] == [""]
    sampled = make_flows({"src": "192.0.2.1", "dst": "192.0.2.2", "proto": 17, "first": at(0), "octets": 100,
                          "packets": 2, "sampling": 10})
    import numpy as np

    from mango_netflow.flows import STORED_DTYPE

    stored = np.zeros(1, dtype=STORED_DTYPE)
    for name in sampled.dtype.names:
        stored[name] = sampled[name]
    row = export.flows_csv(stored).decode().split("\r\n")[1].split(",")
    assert row[3] == "UDP" and row[8:12] == ["", "", "", ""] and row[12:15] == ["1000", "20", "10"]
    assert export.filename("KRPA-1/2025 č.j.", 7) == "flows-KRPA-1_2025__.j.-7.csv"
