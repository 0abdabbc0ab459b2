"""The flow store: block format, writer (buffering, flush, atomic blocks) and reader (filters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, text

from mango_core.tenancy import location_scope, operator_scope
from mango_netflow.flows import FLOW_DTYPE, FlowBatch, address_key
from mango_netflow.store import read
from mango_netflow.store.block import BlockError, bloom_holds, decode, encode, select_rows, summary_hash
from mango_netflow.store.models import FlowBlock, StoreSettings
from mango_netflow.store.testing import sample_flows
from mango_netflow.store.writer import FlowWriter

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
T0_MS = int(T0.timestamp() * 1000)


def make_flows(n: int, *, t0: int = T0_MS, seed: int = 1) -> np.ndarray:
    return sample_flows(n, t0=t0, seed=seed)


def sorted_flows(flows: np.ndarray) -> np.ndarray:
    """In a canonical order (sport is unique in make_flows): the store orders by first only."""
    return flows[np.lexsort((flows["sport"], flows["first"]))]


def as_flows(stored: np.ndarray) -> np.ndarray:
    assert (stored["first"][1:] >= stored["first"][:-1]).all(), "flows come ordered by first"
    out = np.empty(len(stored), FLOW_DTYPE)
    for name in FLOW_DTYPE.names:
        out[name] = stored[name]
    return sorted_flows(out)


def whole(loc_id: int, **kw) -> dict:
    return dict(location_id=loc_id, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1), **kw)


def stored(db, loc_id: int, **kw) -> np.ndarray:  # noqa: ANN001
    args = whole(loc_id, **kw)
    with location_scope(loc_id):
        return read.flows(db, args.pop("location_id"), args.pop("start"), args.pop("end"), **args)


# --- block format -------------------------------------------------------------------------------

def test_block_round_trip_keeps_every_field():
    flows = make_flows(500)
    block = encode(flows)
    assert block.count == 500 and block.t_first == flows["first"].min() and block.t_last == flows["last"].max()
    back = decode(block.data, block.count, block.t_first)
    assert back.dtype == FLOW_DTYPE
    assert (sorted_flows(back) == sorted_flows(flows)).all()
    assert len(block.data) < 500 * FLOW_DTYPE.itemsize / 2


def test_block_summary_holds_every_address_alone_and_with_port():
    block = encode(make_flows(50))

    def holds(address: str, port: int | None) -> bool:
        return bloom_holds(block.bloom, block.bloom_words, summary_hash(address, port))

    assert holds("10.0.0.1", None) and holds("10.0.0.1", 30000)
    assert holds("203.0.113.1", 1024) and holds("2001:db8::1", 443) and holds("192.0.2.9", 8080)
    assert holds("198.51.100.3", 53)  # a port below 1024 has no key of its own: the address's key answers
    absent = [f"192.0.2.{i}" for i in range(100, 200)]
    assert sum(holds(a, None) for a in absent) <= 5  # a Bloom filter: rarely a false "maybe"


def test_select_rows_matches_decode_and_filter():
    flows = make_flows(400)
    block = encode(flows)
    full = decode(block.data, block.count, block.t_first)
    for address, port in (("10.0.0.7", None), ("203.0.113.3", 1026), (None, 53), ("2001:db8::4", 443)):
        packed = address_key(address).tobytes() if address else None
        got = select_rows(block.data, block.count, block.t_first, T0_MS, T0_MS + 40_000, packed, port)
        mask = (full["first"] <= T0_MS + 40_000) & (full["last"] >= T0_MS)
        side = np.zeros(len(full), bool)
        for a, p in (("src", "sport"), ("dst", "dport"), ("nat_src", "nat_sport"), ("nat_dst", "nat_dport")):
            match = np.ones(len(full), bool)
            if address:
                match &= full[a] == address_key(address)
            if port is not None:
                match &= full[p] == port
            side |= match
        assert (sorted_flows(got) == sorted_flows(full[mask & side])).all(), (address, port)


def test_damaged_block_is_refused():
    block = encode(make_flows(10))
    with pytest.raises(BlockError):
        decode(block.data[:-5] + b"xxxxx", block.count, block.t_first)
    with pytest.raises(BlockError):
        decode(block.data, block.count + 1, block.t_first)


# --- writer and reader -------------------------------------------------------------------------

def test_round_trip_through_the_database(mango, db, world):
    flows = make_flows(1000)
    with FlowWriter(mango, max_flows=300) as writer:
        writer.add(FlowBatch(world.loc_a.id, 5, flows[:400]))
        writer.add(FlowBatch(world.loc_a.id, 5, flows[400:]))
        assert writer.buffered == 100  # three full blocks written, the rest waits
    got = stored(db, world.loc_a.id)
    assert got.dtype.names[-1] == "exporter_id" and (got["exporter_id"] == 5).all()
    assert (as_flows(got) == sorted_flows(flows)).all()
    with operator_scope():
        assert db.scalar(select(func.count()).select_from(FlowBlock).where(FlowBlock.location_id == world.loc_a.id)) == 4
        longest = db.scalar(select(StoreSettings.longest_block_ms).where(StoreSettings.location_id == world.loc_a.id))
    assert longest >= 30_000


def test_flush_and_close_lose_nothing_and_write_nothing_twice(mango, db, world):
    flows = make_flows(777)
    writer = FlowWriter(mango, max_flows=100, max_seconds=3600)
    for part in np.array_split(flows, 13):
        writer.add(FlowBatch(world.loc_a.id, 1, part))
    assert writer.flows_written == 700 and writer.buffered == 77
    assert writer.flush() == 77
    writer.close()
    writer.close()  # twice is harmless
    got = stored(db, world.loc_a.id)
    assert len(got) == 777
    assert (as_flows(got) == sorted_flows(flows)).all()
    with pytest.raises(RuntimeError):
        writer.add(FlowBatch(world.loc_a.id, 1, flows[:1]))


def test_flush_returns_what_it_wrote(mango, db, world):
    writer = FlowWriter(mango, max_flows=1000, max_seconds=3600)
    writer.add(FlowBatch(world.loc_a.id, 1, make_flows(10)))
    writer.add(FlowBatch(world.loc_a.id, 2, make_flows(5)))
    assert writer.flush() == 15
    assert writer.flush() == 0
    writer.close()


def test_buffers_older_than_max_seconds_are_written(mango, db, world):
    writer = FlowWriter(mango, max_flows=1000, max_seconds=0.05)
    writer.add(FlowBatch(world.loc_a.id, 1, make_flows(10)))
    assert writer.buffered == 10
    import time

    time.sleep(0.06)
    assert writer.flush_due() == 10
    writer.close()
    assert len(stored(db, world.loc_a.id)) == 10


def test_a_failed_block_is_not_written_and_stays_buffered(mango, db, world, monkeypatch):
    writer = FlowWriter(mango, max_flows=1000, max_seconds=3600)
    writer.add(FlowBatch(world.loc_a.id, 1, make_flows(20)))

    from mango_netflow.store import writer as writer_module

    def broken_encode(flows, dialect):  # noqa: ANN001, ANN202
        block = encode(flows, dialect)
        return type(block)(block.t_first, block.t_last, block.count, block.keys, None)  # data NULL: refused

    monkeypatch.setattr(writer_module, "encode", broken_encode)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the database's own error
        writer.flush()
    with operator_scope():
        assert db.scalar(select(func.count()).select_from(FlowBlock)) == 0
        assert db.scalar(select(func.count()).select_from(StoreSettings)) == 0  # same transaction, rolled back
    assert writer.buffered == 20
    monkeypatch.undo()
    assert writer.flush() == 20
    writer.close()
    assert len(stored(db, world.loc_a.id)) == 20


def test_the_background_thread_writes_everything_and_reports_failures(mango, db, world, monkeypatch):
    from mango_netflow.store import writer as writer_module

    flows = make_flows(777)
    writer = FlowWriter(mango, max_flows=100, max_seconds=3600, background=True)
    for part in np.array_split(flows, 7):
        writer.add(FlowBatch(world.loc_a.id, 1, part))
    assert writer.flush() == 77 and writer.buffered == 0 and writer.flows_written == 777

    monkeypatch.setattr(writer_module, "RETRY_SECONDS", 0.01)
    real_encode = writer_module.encode

    def broken_encode(flows):  # noqa: ANN001, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(writer_module, "encode", broken_encode)
    writer.add(FlowBatch(world.loc_a.id, 2, flows[:50]))
    with pytest.raises(writer_module.WriterError, match="disk full"):
        writer.flush()
    assert writer.buffered == 50  # kept, retried
    monkeypatch.setattr(writer_module, "encode", real_encode)
    writer.close()
    assert writer.buffered == 0
    got = stored(db, world.loc_a.id)
    assert len(got) == 827 and (got["exporter_id"] == 2).sum() == 50


def test_filters(mango, db, world):
    flows = make_flows(600)
    with FlowWriter(mango, max_flows=128) as writer:
        writer.add(FlowBatch(world.loc_a.id, 1, flows[:300]))
        writer.add(FlowBatch(world.loc_a.id, 2, flows[300:]))
    loc = world.loc_a.id

    def expect(mask: np.ndarray, **kw) -> None:
        got = stored(db, loc, **kw)
        assert (as_flows(got) == sorted_flows(flows[mask])).all(), kw

    src = flows["src"]
    expect(src == address_key("10.0.0.7"), address="10.0.0.7")
    expect((src == address_key("10.0.0.7")) & (flows["sport"] == 30006), address="10.0.0.7", port=30006)
    expect(np.zeros(600, bool), address="10.0.0.7", port=30007)
    v6 = flows["dst"] == address_key("2001:db8::4")
    assert v6.sum() == 1
    expect(v6, address="2001:db8::4")
    expect(v6, address="2001:db8::4", port=443)
    nat = (flows["nat_src"] == address_key("203.0.113.3")) & (flows["nat_sport"] == 1026)
    assert nat.sum() == 1
    expect(nat, address="203.0.113.3", port=1026)
    expect(flows["nat_src"] == address_key("203.0.113.3"), address="203.0.113.3")
    expect(flows["nat_dport"] == 8080, address="192.0.2.9", port=8080)
    any_port = (flows["sport"] == 53) | (flows["dport"] == 53) | (flows["nat_sport"] == 53) | (flows["nat_dport"] == 53)
    expect(any_port, port=53)
    expect(np.arange(600) >= 300, exporter_id=2)
    # time: flows whose [first, last] meets the interval
    mid = T0 + timedelta(seconds=30)
    with location_scope(loc):
        got = read.flows(db, loc, mid, mid)
    mid_ms = int(mid.timestamp() * 1000)
    assert (as_flows(got) == sorted_flows(flows[(flows["first"] <= mid_ms) & (flows["last"] >= mid_ms)])).all()
    # limit: the earliest flows
    got = stored(db, loc, limit=10)
    assert (as_flows(got) == sorted_flows(flows)[:10]).all()
    assert len(stored(db, loc, limit=10, address="10.0.0.7")) == min(10, int((src == address_key("10.0.0.7")).sum()))


def test_a_flow_longer_than_a_day_is_found_in_its_middle(mango, db, world):
    """The lower bound on t_first (start − longest_block_ms) keeps a long block in reach."""
    flows = make_flows(3)
    flows["first"][0], flows["last"][0] = T0_MS - 3 * 86_400_000, T0_MS
    with FlowWriter(mango) as writer:
        writer.add(FlowBatch(world.loc_a.id, 1, flows))
    middle = T0 - timedelta(days=1)
    with location_scope(world.loc_a.id):
        got = read.flows(db, world.loc_a.id, middle, middle)
        assert len(got) == 1 and got["first"][0] == flows["first"][0]
        assert len(read.flows(db, world.loc_a.id, middle, middle, address="10.0.0.1", port=30000)) == 1


def test_bad_arguments_are_refused(db, world):
    with location_scope(world.loc_a.id):
        with pytest.raises(ValueError):
            read.flows(db, world.loc_a.id, T0.replace(tzinfo=None), T0)
        with pytest.raises(ValueError):
            read.flows(db, world.loc_a.id, T0, T0, address="not-an-ip")
        with pytest.raises(ValueError):
            read.flows(db, world.loc_a.id, T0, T0, port=70000)
        assert len(read.flows(db, world.loc_a.id, T0, T0 - timedelta(seconds=1))) == 0


def test_locations_see_only_their_flows(mango, db, world):
    with FlowWriter(mango) as writer:
        writer.add(FlowBatch(world.loc_a.id, 1, make_flows(30, seed=1)))
        writer.add(FlowBatch(world.loc_b.id, 1, make_flows(40, seed=2)))
    assert len(stored(db, world.loc_a.id)) == 30
    assert len(stored(db, world.loc_b.id)) == 40
    with location_scope(world.loc_a.id):  # asking for B's flows in A's scope finds nothing
        assert len(read.flows(db, world.loc_b.id, T0 - timedelta(days=1), T0 + timedelta(days=1))) == 0


def test_postgresql_partitions_by_day(mango, db, world):
    if mango.db.dialect != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    from mango_netflow.store import partitions

    day_ms = partitions.day_ms(T0.date())
    with FlowWriter(mango) as writer:
        writer.add(FlowBatch(world.loc_a.id, 1, make_flows(10, t0=day_ms + 1000)))
        writer.add(FlowBatch(world.loc_a.id, 1, make_flows(10, t0=1_000_000)))  # 1970: default partition
        around_midnight = make_flows(40, t0=day_ms - 30_000, seed=3)
        writer.add(FlowBatch(world.loc_a.id, 2, around_midnight))  # a block per day
    names = {p.name for p in partitions.existing(db.connection())}
    assert partitions.partition_name(T0.date()) in names
    where = db.execute(text("SELECT tableoid::regclass::text, flows FROM netflow_block ORDER BY t_first")).all()
    today = f"netflow_part.{partitions.partition_name(T0.date())}"
    yesterday = f"netflow_part.{partitions.partition_name(T0.date() - timedelta(days=1))}"
    before = int((around_midnight["first"] < day_ms).sum())
    assert 0 < before < 40
    assert sorted(where) == sorted([("netflow_part.block_default", 10), (today, 10), (today, 40 - before),
                                    (yesterday, before)])
    for table in ("netflow_block", today):  # compressed already: no second try by TOAST
        storage = dict(db.execute(text(
            "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attname IN ('data', 'bloom')"), {"t": table}).all())
        assert storage == {"data": "e", "bloom": "e"}
