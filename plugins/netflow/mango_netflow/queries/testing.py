"""pytest helpers of the queries and accounting tests: build flows, store them through the store's
:class:`~mango_netflow.store.writer.FlowWriter` (as the collector does) and read them back through
:func:`mango_netflow.store.read.flows`.

A test file imports the fixture ``stored_flows`` by name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mango_netflow.flows import FlowBatch, empty, pack_address

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(days: float, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, minutes=minutes)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def make_flows(*rows: dict) -> np.ndarray:
    """Flows from dicts: ``first``/``last`` aware datetimes, addresses as text, the rest as in FLOW_DTYPE."""
    flows = empty(len(rows))
    for i, row in enumerate(rows):
        for key, value in row.items():
            if key in ("first", "last"):
                flows[i][key] = ms(value)
            elif key in ("src", "dst", "nat_src", "nat_dst"):
                flows[i][key] = np.void(pack_address(value))
            else:
                flows[i][key] = value
        if "last" not in row:
            flows[i]["last"] = flows[i]["first"]
    return flows


@pytest.fixture
def stored_flows(app, db):  # noqa: ANN001, ANN201
    """``stored_flows(location, flows, exporter_id=1)``: write flows with the store's writer (in the
    test's transaction, as the application's sessions are there)."""
    from mango_netflow.store.writer import FlowWriter

    mango = app.extensions["mango"]

    def store(location, flows: np.ndarray, exporter_id: int = 1) -> None:  # noqa: ANN001
        writer = FlowWriter(mango)
        try:
            writer.add(FlowBatch(location_id=location.id, exporter_id=exporter_id, flows=flows))
            writer.flush()
        finally:
            writer.close()

    return store


@pytest.fixture
def network(db, world, in_loc, make_service, stored_flows):  # noqa: ANN001, ANN201
    """PRG: 198.51.100.10 held by service A for days 0–5, by service B from day 6;
    CGNAT: inside 100.64.0.0/28 behind 198.51.100.192/30 (8064 ports a block), .1 for service C."""
    from mango_isp.ipam import assignments as asg
    from mango_isp.ipam import nat
    from mango_isp.ipam import prefixes as px

    a, b, c = make_service(), make_service(), make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        held = asg.assign(db, a, "198.51.100.10", valid_from=at(0))
        asg.release(db, held, at=at(5))
        asg.assign(db, b, "198.51.100.10", valid_from=at(6))
        inside = px.create_prefix(db, prefix="100.64.0.0/28", kind="cgnat", is_pool=True, unit_prefixlen=32)
        nat.configure(db, inside, public="198.51.100.192/30", port_first=1024, port_last=65535, block_size=8064,
                      at=at(0))
        assert asg.allocate(db, c, inside, valid_from=at(0)).text == "100.64.0.1"
        db.commit()
    web = {"src": "203.0.113.5", "sport": 443, "proto": 6, "octets": 1000, "packets": 3}
    stored_flows(world.loc_a, make_flows(
        # day 1 around noon: A talks to a web server
        {**web, "dst": "198.51.100.10", "dport": 50000, "first": at(1, 720), "last": at(1, 721)},
        {"src": "198.51.100.10", "sport": 50000, "dst": "203.0.113.5", "dport": 443, "proto": 6,
         "first": at(1, 720), "last": at(1, 721), "octets": 200, "packets": 2},
        # day 7: B on the same address
        {**web, "dst": "198.51.100.10", "dport": 40000, "first": at(7, 60), "last": at(7, 62)},
        # day 2: C behind CGNAT: inside 100.64.0.1:3333 → public 198.51.100.193:5000
        {"src": "100.64.0.1", "sport": 3333, "dst": "203.0.113.9", "dport": 80, "proto": 6,
         "nat_src": "198.51.100.193", "nat_sport": 5000, "first": at(2, 600), "last": at(2, 601),
         "octets": 700, "packets": 5, "nat_event": 1},
    ))
    return {"a": a, "b": b, "c": c}


