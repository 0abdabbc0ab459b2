"""Random flows — any bytes in any field, garbage times included — come back from the store unchanged."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mango_core.tenancy import location_scope
from mango_netflow.flows import FLOW_DTYPE, STORED_DTYPE, FlowBatch
from mango_netflow.store import read
from mango_netflow.store.block import bloom_holds, decode, encode, summary_hash
from mango_netflow.store.writer import FlowWriter

raw_flows = st.integers(1, 40).flatmap(
    lambda n: st.binary(min_size=n * FLOW_DTYPE.itemsize, max_size=n * FLOW_DTYPE.itemsize))


def canonical(flows: np.ndarray) -> np.ndarray:
    """Flows in an order that does not depend on how they were stored (by their bytes)."""
    plain = np.empty(len(flows), FLOW_DTYPE)
    for name in FLOW_DTYPE.names:
        plain[name] = flows[name]
    rows = plain.view(f"V{FLOW_DTYPE.itemsize}")
    return plain[np.argsort(np.array([bytes(r) for r in rows], dtype=object), kind="stable")]


@given(raw_flows)
def test_block_round_trip_of_any_flows(raw):
    flows = np.frombuffer(raw, FLOW_DTYPE).copy()
    block = encode(flows)
    back = decode(block.data, block.count, block.t_first)
    assert (canonical(back) == canonical(flows)).all()
    assert (back["first"][1:] >= back["first"][:-1]).all()
    for side, port_side in (("src", "sport"), ("nat_dst", "nat_dport")):
        address = bytes(flows[side][0])
        if address != bytes(16):
            from mango_netflow.flows import unpack_address

            ip = unpack_address(address)
            assert bloom_holds(block.bloom, block.bloom_words, summary_hash(ip, None))
            assert bloom_holds(block.bloom, block.bloom_words, summary_hash(ip, int(flows[port_side][0])))


_exporters = itertools.count(1000)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_flows)
def test_store_round_trip_of_any_flows(mango, db, world, raw):
    flows = np.frombuffer(raw, FLOW_DTYPE).copy()
    exporter = next(_exporters)
    with FlowWriter(mango, max_flows=16) as writer:
        writer.add(FlowBatch(world.loc_a.id, exporter, flows))
    with location_scope(world.loc_a.id):
        got = read.flows(db, world.loc_a.id, datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC),
                         exporter_id=exporter)
    # the reader keeps flows whose [first, last] meets the interval: in range and not reversed
    low, high = int(datetime(1, 1, 2, tzinfo=UTC).timestamp() * 1000), int(datetime(9999, 12, 30, tzinfo=UTC).timestamp() * 1000)
    expected = flows[(flows["first"] <= high) & (flows["last"] >= low)]
    assert got.dtype == STORED_DTYPE and (got["exporter_id"] == exporter).all()
    assert (canonical(got) == canonical(expected)).all()
