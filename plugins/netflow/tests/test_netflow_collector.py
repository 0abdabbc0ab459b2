"""The collector's pipeline and loop: attribution by source address, unknown sources, malformed
packets (counted, logged with a rate limit), counters written to the database, the real UDP loop
in a thread with a clean stop, replay of pcap and raw files, and the ``mango netflow`` commands.

Flows go to a small in-memory writer here (the store has its own tests); the softflowd test
stores through the real FlowWriter.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import numpy as np
import pytest
from sqlalchemy import select

from mango_core.tenancy import operator_scope
from mango_netflow.collector import exporters as service
from mango_netflow.collector.models import Exporter, UnknownSource
from mango_netflow.collector.pipeline import Pipeline
from mango_netflow.collector.replay import ReplayError, replay
from mango_netflow.collector.server import Collector, Timers, open_socket
from mango_netflow.decode import Decoder
from mango_netflow.decode import encode as enc
from mango_netflow.decode import fields as ie
from mango_netflow.flows import FlowBatch, pack_address, unpack_address

EXPORT = 1_700_000_000
V4 = [(ie.SRC_V4, 4), (ie.DST_V4, 4), (ie.SRC_PORT, 2), (ie.DST_PORT, 2), (ie.PROTOCOL, 1), (ie.OCTETS, 4)]


class MemoryWriter:
    """The FlowWriter interface, in memory."""

    def __init__(self) -> None:
        self.buffer: list[FlowBatch] = []
        self.written: list[FlowBatch] = []
        self.flushes = 0
        self.closed = False

    def add(self, batch: FlowBatch) -> None:
        assert not self.closed
        self.buffer.append(batch)

    def flush(self) -> int:
        self.flushes += 1
        count = sum(len(b) for b in self.buffer)
        self.written += self.buffer
        self.buffer = []
        return count

    def close(self) -> None:
        self.flush()
        self.closed = True

    def flows(self) -> int:
        return sum(len(b) for b in self.written)


def ipfix_packet(n: int = 3, port: int = 443) -> bytes:
    record = enc.record([(pack_address("10.0.0.1")[12:], 4), (pack_address("192.0.2.80")[12:], 4), (40000, 2),
                         (port, 2), (6, 1), (1500, 4)])
    return enc.ipfix_packet([enc.set_(2, enc.ipfix_template(256, V4)), enc.set_(256, record * n)], export_time=EXPORT)


@pytest.fixture
def exporters(db, world, in_loc):  # noqa: ANN001, ANN201
    with in_loc(world.loc_a):
        a = service.save(db, None, name="prg-edge", address="127.0.0.1")
    with in_loc(world.loc_b):
        b = service.save(db, None, name="brn-edge", address="192.0.2.1")
    db.commit()
    return {"a": (a.id, world.loc_a.id), "b": (b.id, world.loc_b.id)}


@pytest.fixture
def pipeline(mango, exporters):  # noqa: ANN001, ANN201
    made = Pipeline(mango.db.Session, MemoryWriter(), decoder=Decoder())
    made.refresh()
    return made


def stored(db, exporter_id: int) -> Exporter:  # noqa: ANN001
    with operator_scope():
        db.expire_all()
        return db.scalar(select(Exporter).where(Exporter.id == exporter_id))


def test_flows_go_to_the_exporter_and_location_of_the_source(pipeline, exporters):
    assert pipeline.feed(ipfix_packet(3), "127.0.0.1") == 3
    assert pipeline.feed(ipfix_packet(2), "::ffff:192.0.2.1") == 2  # a dual-stack socket's IPv4 source
    batches = pipeline.writer.buffer
    assert [(b.exporter_id, b.location_id, len(b)) for b in batches] == [(*exporters["a"], 3), (*exporters["b"], 2)]
    assert str(unpack_address(batches[0].flows["dst"][0])) == "192.0.2.80"


def test_unknown_sources_are_dropped_and_counted(db, pipeline):
    assert pipeline.feed(ipfix_packet(), "203.0.113.5") == 0
    assert pipeline.feed(ipfix_packet(), "203.0.113.5") == 0
    assert pipeline.writer.buffer == [] and pipeline.totals.unknown == 2
    assert "203.0.113.5" not in pipeline.decoder.stats  # never decoded
    pipeline.persist_counters()
    unknown = db.scalar(select(UnknownSource).where(UnknownSource.address == "203.0.113.5"))
    assert unknown.packets == 2


def test_malformed_packets_are_counted_and_logged_with_a_rate_limit(db, pipeline, exporters, caplog):
    caplog.set_level(logging.WARNING, logger="mango_netflow.collector")
    for _ in range(5):
        assert pipeline.feed(b"\x00\x09garbage", "127.0.0.1") == 0
    assert pipeline.feed(ipfix_packet(), "127.0.0.1") == 3  # and it goes on
    warnings = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0].getMessage()
    pipeline._quiet["127.0.0.1"].last -= 3600  # an hour later the next one is logged, with the count
    pipeline.feed(b"\x00\x0a", "127.0.0.1")
    assert "4 more" in caplog.records[-1].getMessage()
    pipeline.persist_counters()
    row = stored(db, exporters["a"][0])
    assert (row.packets, row.flows, row.malformed, row.templates) == (7, 3, 6, 1)
    assert row.last_packet_at is not None
    pipeline.persist_counters()  # nothing new: nothing added twice
    assert stored(db, exporters["a"][0]).packets == 7


def test_locations_without_netflow_are_not_served(mango, exporters, world):
    pipeline = Pipeline(mango.db.Session, MemoryWriter(), serves=lambda location_id: location_id == world.loc_a.id)
    pipeline.refresh()
    assert set(pipeline.targets) == {"127.0.0.1"}
    assert pipeline.feed(ipfix_packet(), "192.0.2.1") == 0 and pipeline.totals.unknown == 1


def test_held_data_expires_into_the_exporter_counter(db, mango, exporters):
    pipeline = Pipeline(mango.db.Session, MemoryWriter(), decoder=Decoder(hold_seconds=5))
    pipeline.refresh()
    data_only = enc.ipfix_packet([enc.set_(256, b"\x00" * 17)], export_time=EXPORT)
    pipeline.feed(data_only, "127.0.0.1", now=0.0)
    pipeline.tick(now=10.0)
    pipeline.persist_counters()
    assert stored(db, exporters["a"][0]).missing_template == 1


def test_the_udp_loop_stores_everything_on_a_clean_stop(db, pipeline, exporters):
    sock = open_socket("127.0.0.1", 0)
    collector = Collector(pipeline, sock, Timers(flush=0.05, counters=0.1, refresh=0.1))
    thread = threading.Thread(target=collector.run)
    thread.start()
    try:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.bind(("127.0.0.1", 0))
        for n in range(50):
            sender.sendto(ipfix_packet(10, port=n), ("127.0.0.1", collector.port))
        sender.sendto(b"\x00\x05broken", ("127.0.0.1", collector.port))
        deadline = time.monotonic() + 10
        while pipeline.totals.packets < 51 and time.monotonic() < deadline:
            time.sleep(0.02)
        sender.close()
    finally:
        collector.stop.set()
        thread.join(10)
    assert not thread.is_alive()
    writer = pipeline.writer
    assert writer.closed and writer.buffer == [] and writer.flows() == 500
    ports = np.concatenate([b.flows["dport"] for b in writer.written])
    assert sorted(set(ports.tolist())) == list(range(50))
    assert {b.exporter_id for b in writer.written} == {exporters["a"][0]}
    row = stored(db, exporters["a"][0])
    assert (row.packets, row.flows, row.malformed) == (51, 500, 1)


def test_open_socket_reports_a_busy_port():
    first = open_socket("127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            open_socket("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()


def test_replay_of_pcap_and_raw_files(netflow_fixtures, db, mango, world, in_loc, tmp_path):
    with in_loc(world.loc_a):
        akvorado = service.save(db, None, name="akvorado-nat", address="10.143.52.1")
        raw = service.save(db, None, name="raw", address="192.0.2.200")
    db.commit()
    writer = MemoryWriter()
    pipeline = Pipeline(mango.db.Session, writer)
    summary = replay(pipeline, [netflow_fixtures / "akvorado" / "nat.pcap", netflow_fixtures / "akvorado" / "nfv5.pcap"])
    # nat.pcap's exporter is registered, nfv5.pcap's (10.19.144.41) is not
    assert (summary.files, summary.packets, summary.flows, summary.unknown, summary.malformed) == (2, 2, 9, 1, 0)
    assert {b.exporter_id for b in writer.written} == {akvorado.id}
    logstash = netflow_fixtures / "logstash-codec-netflow"
    files = [logstash / "netflow9_test_cisco_asa_1_tpl.dat", logstash / "netflow9_test_cisco_asa_1_data.dat",
             logstash / "netflow5_test_invalid01.dat"]
    summary = replay(pipeline, files, exporter="192.0.2.200")
    assert (summary.packets, summary.flows, summary.malformed) == (3, 14, 1)
    assert writer.written[-1].exporter_id == raw.id
    with pytest.raises(ReplayError, match="needs --exporter"):
        replay(pipeline, [files[0]])
    (tmp_path / "cut.pcap").write_bytes((netflow_fixtures / "akvorado" / "nat.pcap").read_bytes()[:-10])
    with pytest.raises(ReplayError, match="truncated"):
        replay(pipeline, [tmp_path / "cut.pcap"])
    assert stored(db, raw.id).malformed == 1


def test_replay_command(app, netflow_fixtures, db, world, in_loc, monkeypatch):
    from mango_netflow.store import writer as store_writer

    made: list[MemoryWriter] = []

    def memory(_mango):  # noqa: ANN001, ANN202
        made.append(MemoryWriter())
        return made[-1]

    monkeypatch.setattr(store_writer, "FlowWriter", memory)
    with in_loc(world.loc_a):
        service.save(db, None, name="asa", address="192.0.2.210")
    db.commit()
    from mango_netflow.cli import netflow

    runner = app.test_cli_runner()
    logstash = netflow_fixtures / "logstash-codec-netflow"
    result = runner.invoke(netflow, ["replay", "--quiet", "--exporter", "192.0.2.210",
                                 str(logstash / "netflow9_test_cisco_asa_1_tpl.dat"),
                                 str(logstash / "netflow9_test_cisco_asa_1_data.dat")])
    assert result.exit_code == 0, result.output
    assert "2 packets, 14 flows stored" in result.output
    assert made[-1].closed and made[-1].flows() == 14
    result = runner.invoke(netflow, ["replay", "--exporter", "198.51.100.99", str(logstash / "netflow5.dat")])
    assert result.exit_code != 0 and "not an active exporter" in result.output
    result = runner.invoke(netflow, ["replay", str(logstash / "netflow5.dat")])
    assert result.exit_code != 0 and "needs --exporter" in result.output


def test_collect_command_stops_cleanly_on_sigterm(app, db, exporters, monkeypatch):
    """``mango netflow collect`` in this process: packets arrive, SIGTERM comes, nothing is lost."""
    import os
    import signal

    from mango_netflow.cli import netflow
    from mango_netflow.store import writer as store_writer

    made: list[MemoryWriter] = []
    monkeypatch.setattr(store_writer, "FlowWriter", lambda _mango: made.append(MemoryWriter()) or made[-1])
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    received = threading.Event()

    def send_then_stop() -> None:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        deadline = time.monotonic() + 10
        while not made and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the socket is bound right after the writer is made
        for n in range(20):
            sender.sendto(ipfix_packet(5, port=n), ("127.0.0.1", port))
        sender.close()
        time.sleep(0.5)
        received.set()
        os.kill(os.getpid(), signal.SIGTERM)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=send_then_stop)
    thread.start()
    try:
        result = app.test_cli_runner().invoke(netflow, ["collect", "--bind", "127.0.0.1", "--port", str(port),
                                                        "--log-level", "WARNING"])
    finally:
        thread.join(15)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert received.is_set()
    assert result.exit_code == 0, result.output
    writer = made[0]
    assert writer.closed and writer.flows() == 100
    assert stored(db, exporters["a"][0]).flows == 100


def test_a_store_that_fails_does_not_stop_the_pipeline(pipeline, exporters, caplog):
    from sqlalchemy.exc import OperationalError

    class Failing(MemoryWriter):
        broken = True

        def add(self, batch: FlowBatch) -> None:
            super().add(batch)  # taken, like the real writer, then the write fails
            if self.broken:
                raise OperationalError("INSERT", {}, Exception("database is away"))

    pipeline.writer = Failing()
    caplog.set_level(logging.ERROR, logger="mango_netflow.collector")
    assert pipeline.feed_many([(ipfix_packet(3), "127.0.0.1"), (ipfix_packet(2), "192.0.2.1")]) == 5
    assert len(pipeline.writer.buffer) == 2  # both exporters' flows reached the writer
    assert len([r for r in caplog.records if "could not write flows" in r.getMessage()]) == 1
    pipeline.writer.broken = False
    assert pipeline.feed(ipfix_packet(1), "127.0.0.1") == 1
    assert pipeline.writer.flush() == 6
