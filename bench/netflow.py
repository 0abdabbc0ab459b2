"""NetFlow benchmark (issue 7): collector and store against nfcapd; prints JSON.

    .venv/bin/python bench/netflow.py [--database-url URL] [--stored 50000000] [--quick]

* **Stream**: generated CGNAT traffic of ``--subscribers`` subscribers (100.64.0.0/10 inside, a public
  pool in 198.18.0.0/15 with a 512-port block per subscriber), Zipf-distributed destinations, a realistic
  port/protocol mix, both directions, durations up to a 60 s active timeout — exported by
  ``--exporters`` BRAS as IPFIX (flowStart/EndMilliseconds, addresses, ports, post-NAT source and
  destination address and port, natEvent, counters, interfaces; 19 records per 1,369-byte packet), each
  exporter from its own loopback source address (127.0.0.11, …).
* **Ingest** (``mango netflow collect`` in its own process, pinned to one core with ``taskset`` when
  available): the same packets replayed over loopback UDP at a ladder of rates, each step a fresh
  collector stopped with SIGTERM (a clean stop flushes); a step is lossless when every sent flow is
  stored. ``flows_per_s`` is the highest lossless rate; ``flows_per_cpu_s`` the flows stored per CPU
  second of the collector process (user + system, from /proc), which is what one core can do whatever
  else the shared machine runs. nfcapd (nfdump) gets the same ladder (``nfcapd_*``).
* **Store** (``--stored`` flows, 50 million by default): the same generator's flows, written straight
  through :class:`FlowWriter` as the collector would (a block per exporter and 5 s of traffic at
  ``--rate`` flows/s), then ``bytes_per_flow`` = every relation of ``netflow_block`` (partitions, TOAST,
  indexes; the SQLite file on SQLite) / stored flows.
* **Lookup**: ``--lookups`` random questions about flows that exist — 70 % "public address + port at
  time T" (the CGNAT question), 30 % "inside address + port at T" — through ``read.flows`` for the
  instant T and for T ± 5 minutes; p50/p95 in ms.

``--quick`` shrinks everything (a test runs it so that the script does not rot).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, select, text

from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.db.migrations import upgrade_all
from mango_core.tenancy.context import location_scope, operator_scope
from mango_core.testing.fixtures import build_world, reset_database
from mango_netflow.decode import fields as ie
from mango_netflow.decode.encode import ipfix_packet, ipfix_template, set_
from mango_netflow.flows import FLOW_DTYPE, FlowBatch, unpack_address
from mango_netflow.store import read
from mango_netflow.store.models import FlowBlock
from mango_netflow.store.writer import FlowWriter

ROOT = Path(__file__).resolve().parent.parent
MANGO = ROOT / ".venv" / "bin" / "mango"
DEFAULT_URL = os.environ.get("MANGO_BENCH_NETFLOW_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/nf_bench")

TEMPLATE_ID = 256
FIELDS = ((ie.FLOW_START_MS, 8), (ie.FLOW_END_MS, 8), (ie.SRC_V4, 4), (ie.DST_V4, 4), (ie.SRC_PORT, 2),
          (ie.DST_PORT, 2), (ie.PROTOCOL, 1), (ie.TCP_FLAGS, 1), (ie.OCTETS, 8), (ie.PACKETS, 8),
          (ie.NAT_SRC_V4, 4), (ie.NAT_DST_V4, 4), (ie.NAT_SRC_PORT, 2), (ie.NAT_DST_PORT, 2), (ie.NAT_EVENT, 1),
          (ie.IN_IF, 4), (ie.OUT_IF, 4))
RECORD = np.dtype([("first", ">u8"), ("last", ">u8"), ("src", ">u4"), ("dst", ">u4"), ("sport", ">u2"),
                   ("dport", ">u2"), ("proto", "u1"), ("tcp_flags", "u1"), ("octets", ">u8"), ("packets", ">u8"),
                   ("nat_src", ">u4"), ("nat_dst", ">u4"), ("nat_sport", ">u2"), ("nat_dport", ">u2"),
                   ("nat_event", "u1"), ("in_if", ">u4"), ("out_if", ">u4")])
assert RECORD.itemsize == sum(length for _e, length in FIELDS)
PER_PACKET = 19

INSIDE = 0x64400000   # 100.64.0.0
PUBLIC = 0xC6120000   # 198.18.0.0
REMOTE = 0x17000000   # 23.0.0.0: destinations (hashed over 16 M addresses)
PORT_BLOCK = 512
PER_PUBLIC = 64512 // PORT_BLOCK  # subscribers sharing one public address (ports 1024–65535)


# --- the stream -------------------------------------------------------------------------------------

def generate(rng: np.random.Generator, n: int, t_start: int, rate: float, subscribers: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` flows exported from ``t_start`` (ms) at ``rate`` flows/s, and each flow's subscriber."""
    export = t_start + (np.arange(n) * (1000.0 / rate)).astype(np.int64)
    kind = rng.random(n)
    duration = np.where(kind < 0.7, rng.integers(0, 2_000, n),
                        np.where(kind < 0.95, rng.integers(2_000, 30_000, n), 60_000))
    last = export - rng.integers(0, 1_000, n)
    sub = (subscribers * rng.random(n) ** 2).astype(np.int64)  # a few heavy users, many light ones
    inside = (INSIDE + 2 + sub).astype(np.uint32)
    public = (PUBLIC + sub // PER_PUBLIC).astype(np.uint32)
    port_base = 1024 + (sub % PER_PUBLIC) * PORT_BLOCK
    ephemeral = rng.integers(32768, 61000, n)
    nat_port = (port_base + ephemeral % PORT_BLOCK).astype(np.uint16)
    remote_id = rng.zipf(1.15, n) % 2_000_000
    remote = (REMOTE + (remote_id * 2654435761) % 16_777_216).astype(np.uint32)
    service = rng.random(n)
    rport = np.select([service < 0.62, service < 0.72, service < 0.88, service < 0.90],
                      [443, 80, 53, 123], rng.integers(1, 65535, n)).astype(np.uint16)
    proto = np.where((rport == 53) | (rport == 123) | (service > 0.97), 17, 6).astype(np.uint8)
    proto[(rport == 443) & (service < 0.1)] = 17  # QUIC
    octets = np.maximum(rng.lognormal(7.5, 2.0, n), 40).astype(np.uint64)
    up = rng.random(n) < 0.5  # half the flows leave the subscriber, half come back

    flows = np.zeros(n, FLOW_DTYPE)
    flows["first"] = last - duration
    flows["last"] = last
    for name, values in (("src", np.where(up, inside, remote)), ("dst", np.where(up, remote, inside)),
                         ("nat_src", np.where(up, public, 0)), ("nat_dst", np.where(up, 0, public))):
        flows[name] = mapped_v4(values.astype(np.uint32))
    flows["sport"] = np.where(up, ephemeral, rport)
    flows["dport"] = np.where(up, rport, ephemeral)
    flows["nat_sport"] = np.where(up, nat_port, 0)
    flows["nat_dport"] = np.where(up, 0, nat_port)
    flows["nat_event"] = 0
    flows["proto"] = proto
    flows["tcp_flags"] = np.where(proto == 6, rng.choice(np.array([0x1B, 0x1F, 0x02, 0x12, 0x18, 0x11], np.uint8), n), 0)
    flows["octets"] = octets
    flows["packets"] = octets // 700 + 1
    flows["in_if"] = np.where(up, 2, 1)
    flows["out_if"] = np.where(up, 1, 2)
    flows["sampling"] = 1
    return flows, sub


def mapped_v4(values: np.ndarray) -> np.ndarray:
    """IPv4 addresses (uint32) as 16-byte IPv4-mapped values; 0 stays absent (all zeros)."""
    raw = np.zeros((len(values), 16), np.uint8)
    present = values != 0
    raw[present, 10:12] = 0xFF
    raw[:, 12:] = values.astype(">u4").view(np.uint8).reshape(-1, 4)
    return raw.view("V16").reshape(-1)


def _v4(column: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(column).view(np.uint8).reshape(-1, 16)[:, 12:].copy().view(">u4").reshape(-1)


def packets(flows: np.ndarray, domain: int) -> list[bytes]:
    """IPFIX packets of ``flows`` (PER_PACKET records each), the template first and every 500 packets."""
    records = np.zeros(len(flows), RECORD)
    for name in RECORD.names:
        records[name] = _v4(flows[name]) if name in ("src", "dst", "nat_src", "nat_dst") else flows[name]
    raw = records.tobytes()
    size = PER_PACKET * RECORD.itemsize
    out = []
    template = ipfix_packet([set_(2, ipfix_template(TEMPLATE_ID, FIELDS))], domain=domain)
    export_time = int(time.time())
    for i, start in enumerate(range(0, len(raw), size)):
        if i % 500 == 0:
            out.append(template)
        body = raw[start:start + size]
        out.append(ipfix_packet([set_(TEMPLATE_ID, body, pad=False)], export_time=export_time,
                                sequence=(start // RECORD.itemsize) & 0xFFFFFFFF, domain=domain))
    return out


def stream(rng: np.random.Generator, n: int, exporters: int, subscribers: int, t_start: int,
           rate: float) -> list[tuple[int, bytes]]:
    """(exporter index, packet) in sending order: the exporters' packets interleaved."""
    flows, sub = generate(rng, n, t_start, rate, subscribers)
    per_exporter = [packets(flows[sub % exporters == e], e) for e in range(exporters)]
    return [(e, p) for group in itertools.zip_longest(*per_exporter) for e, p in enumerate(group) if p is not None]


def flow_count(pkts: list[tuple[int, bytes]]) -> int:
    return sum((len(p) - 20) // RECORD.itemsize for _e, p in pkts if p[16:18] == TEMPLATE_ID.to_bytes(2, "big"))


# --- sending ------------------------------------------------------------------------------------------

def source(e: int) -> str:
    return f"127.0.0.{11 + e}"


def send(pkts: list[tuple[int, bytes]], port: int, exporters: int, rate: float) -> float:
    """Send at ``rate`` flows/s (paced every 5 ms); the seconds it took."""
    socks = []
    for e in range(exporters):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source(e), 0))
        socks.append(s)
    per_flow = 1.0 / rate
    started = time.perf_counter()
    sent = 0
    try:
        for e, payload in pkts:
            socks[e].sendto(payload, ("127.0.0.1", port))
            sent += max((len(payload) - 20) // RECORD.itemsize, 0) if payload[16:18] != b"\x00\x02" else 0
            ahead = started + sent * per_flow - time.perf_counter()
            if ahead > 0.005:
                time.sleep(ahead)
    finally:
        for s in socks:
            s.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(cmd: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str((os.cpu_count() or 2) - 1), *cmd]
    return cmd


def wait_for_udp(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until something listens on ``port`` (the collector has started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the collector ended at start: {proc.stderr.read() if proc.stderr else ''}")
        listening = subprocess.run(["ss", "-Hulpn", f"sport = :{port}"], capture_output=True, text=True).stdout
        if str(proc.pid) in listening or (listening.strip() and "pid=" not in listening):
            return
        time.sleep(0.2)
    raise RuntimeError("the collector did not start listening")


def stop(proc: subprocess.Popen, *, timeout: float = 300.0) -> float:
    """SIGTERM (a clean stop: the collector flushes) and reap it; the CPU seconds it used in all."""
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("the process did not stop on SIGTERM")


def ladder(name: str, rates: list[float], step, results: dict) -> None:  # noqa: ANN001
    """Run ``step(rate)`` → (sent, stored, cpu_s, seconds) up the ladder until a step loses flows twice
    (a step that loses flows is run once more: the machine is shared, a neighbour's burst is not ours)."""
    steps = []
    for rate in rates:
        for _attempt in range(2):
            sent, stored, cpu, seconds = step(rate)
            steps.append({"rate": rate, "sent": sent, "stored": stored, "cpu_s": round(cpu, 3),
                          "send_s": round(seconds, 3), "lost": sent - stored})
            if stored >= sent:
                break
        if stored < sent:
            break
    ok = [s for s in steps if s["lost"] == 0]
    results[f"{name}_flows_per_s"] = max((s["rate"] for s in ok), default=0)
    # per CPU second over every step (start-up excluded): what one core does, whatever else runs
    cpu = sum(s["cpu_s"] for s in steps)
    results[f"{name}_flows_per_cpu_s"] = round(sum(s["stored"] for s in steps) / cpu) if cpu else None
    results[f"{name}_steps"] = steps


# --- mango ------------------------------------------------------------------------------------------

def prepare(url: str, instance: Path, exporters: int):  # noqa: ANN201
    if url.startswith("postgresql"):
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = url.rsplit("/", 1)[1]
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    reset_database(url)
    (instance / "mango.toml").write_text(f'database_url = "{url}"\nplugins = ["isp", "netflow"]\n'
                                         '[netflow]\ncollector_flush_seconds = 1.0\n')
    app = create_app(settings=load_settings(instance_path=instance))
    mango = app.extensions["mango"]
    upgrade_all(mango.db.engine, mango.plugins, progress=lambda _l: None)
    from mango_netflow.collector import exporters as exporter_service

    with mango.db.session() as session:
        world = build_world(session, mango)
        ids = []
        with location_scope(world.loc_a.id):
            for e in range(exporters):
                ids.append(exporter_service.save(session, None, name=f"bras-{e}", address=source(e)).id)
        session.commit()
    return app, mango, world.loc_a.id, ids


def stored_flows(mango, location_id: int) -> int:  # noqa: ANN001
    with operator_scope(), mango.db.session() as session:
        return int(session.scalar(select(func.coalesce(func.sum(FlowBlock.flows), 0))
                                  .where(FlowBlock.location_id == location_id)))


def collector_step(mango, location_id: int, instance: Path, pkts, exporters: int):  # noqa: ANN001, ANN201
    total = flow_count(pkts)

    def step(rate: float) -> tuple[int, int, float, float]:
        before = stored_flows(mango, location_id)
        port = free_port()
        env = {**os.environ, "MANGO_INSTANCE_PATH": str(instance)}
        proc = subprocess.Popen(pinned([str(MANGO), "netflow", "collect", "--bind", "127.0.0.1", "--port", str(port),
                                        "--log-level", "WARNING"]), env=env, stderr=subprocess.PIPE, text=True,
                                cwd=ROOT)
        try:
            wait_for_udp(port, proc)
            ready = cpu_seconds(proc.pid)  # the start (imports, the app) is not the collector's work
            seconds = send(pkts, port, exporters, rate)
            time.sleep(1.0)  # the socket buffer drains
            cpu = stop(proc) - ready
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return total, stored_flows(mango, location_id) - before, cpu, seconds

    return step


def nfcapd_step(pkts, exporters: int, work: Path, sizes: list[int]):  # noqa: ANN001, ANN201
    total = flow_count(pkts)

    def step(rate: float) -> tuple[int, int, float, float]:
        folder = work / f"nfcapd-{len(sizes)}"
        folder.mkdir()
        port = free_port()
        proc = subprocess.Popen(pinned(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", str(folder), "-t", "3600",
                                        "-B", str(32 * 1024 * 1024)]), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_for_udp(port, proc)
            ready = cpu_seconds(proc.pid)
            seconds = send(pkts, port, exporters, rate)
            time.sleep(1.0)
            cpu = stop(proc) - ready
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        files = [f for f in folder.rglob("nfcapd.*") if f.is_file()]
        flows = 0
        for f in files:
            info = subprocess.run(["nfdump", "-r", str(f), "-I"], capture_output=True, text=True).stdout
            flows += next((int(line.split(":")[1]) for line in info.splitlines() if line.startswith("Flows:")), 0)
        sizes.append(sum(f.stat().st_size for f in files))
        return total, flows, cpu, seconds

    return step


def load(mango, location_id: int, ids: list[int], count: int, rate: float, subscribers: int,  # noqa: ANN001
         t_start: int, rng: np.random.Generator, targets: int) -> tuple[dict, np.ndarray]:
    """Write ``count`` flows as the collector would (a block per exporter and 5 s); lookup targets."""
    chunk_seconds = 5.0
    per_chunk = max(int(rate * chunk_seconds), 1)
    chosen = []
    started = time.perf_counter()
    writer_cpu = 0.0
    written = 0
    with FlowWriter(mango, max_seconds=3600) as writer:  # blocks of the default size
        t = t_start
        while written < count:
            n = min(per_chunk, count - written)
            flows, sub = generate(rng, n, t, rate, subscribers)
            pick = rng.integers(0, n, max(1, targets * n // count))
            chosen.append(flows[pick])
            cpu = time.process_time()
            for e, exporter_id in enumerate(ids):
                writer.add(FlowBatch(location_id, exporter_id, flows[sub % len(ids) == e]))
            writer.flush()
            writer_cpu += time.process_time() - cpu
            written += n
            t += int(chunk_seconds * 1000)
        blocks = writer.blocks_written
    seconds = time.perf_counter() - started
    return ({"stored_flows": written, "blocks": blocks, "load_s": round(seconds, 1),
             "writer_flows_per_cpu_s": round(written / writer_cpu) if writer_cpu else None,
             "simulated_minutes": round((t - t_start) / 60000, 1)}, np.concatenate(chosen))


def disk_bytes(mango, url: str) -> dict:  # noqa: ANN001
    if not url.startswith("postgresql"):
        path = Path(url.removeprefix("sqlite:///"))
        return {"total": sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())}
    with mango.db.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0), coalesce(sum(pg_relation_size(i.inhrelid)), 0), "
            "coalesce(sum(pg_indexes_size(i.inhrelid)), 0), "
            "coalesce(sum(pg_total_relation_size(c.reltoastrelid)), 0) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'netflow_block'::regclass")).one()
        data = conn.execute(text("SELECT coalesce(sum(octet_length(data)), 0), coalesce(sum(octet_length(bloom)), 0) "
                                 "FROM netflow_block")).one()
    return {"total": int(row[0]), "heap": int(row[1]), "indexes": int(row[2]), "toast": int(row[3]),
            "block_data": int(data[0]), "bloom": int(data[1])}


def lookups(mango, location_id: int, targets: np.ndarray, count: int, rng: np.random.Generator,  # noqa: ANN001
            window_s: float) -> dict:
    times, found = [], []
    picks = rng.choice(len(targets), size=min(count, len(targets)), replace=False)
    with location_scope(location_id), mango.db.session() as session:
        for i in picks:
            flow = targets[i]
            at = int(flow["first"]) + int(rng.integers(0, max(int(flow["last"] - flow["first"]), 0) + 1))
            public = bytes(flow["nat_src"]) != bytes(16) or bytes(flow["nat_dst"]) != bytes(16)
            if public and rng.random() < 0.7:  # the CGNAT question: public address and port
                side = "nat_src" if bytes(flow["nat_src"]) != bytes(16) else "nat_dst"
                address, port = unpack_address(flow[side]), int(flow[side.replace("src", "sport").replace("dst", "dport")])
            else:  # the inside address and its port
                inside_src = bytes(flow["src"])[12] == 100
                address = unpack_address(flow["src"] if inside_src else flow["dst"])
                port = int(flow["sport"] if inside_src else flow["dport"])
            moment = datetime.fromtimestamp(at / 1000, UTC)
            start = time.perf_counter()
            got = read.flows(session, location_id, moment - timedelta(seconds=window_s),
                             moment + timedelta(seconds=window_s), address=address, port=port)
            times.append(time.perf_counter() - start)
            found.append(len(got))
            session.rollback()
    times.sort()
    return {"p50_ms": round(statistics.median(times) * 1000, 2), "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 2)
            if len(times) >= 20 else round(times[-1] * 1000, 2), "max_ms": round(times[-1] * 1000, 2),
            "samples": len(times), "all_found": all(f > 0 for f in found), "flows_per_answer_p50": statistics.median(found)}


def lookups_again(url: str, count: int, rng: np.random.Generator) -> dict:
    """The lookups on a kept database: targets are flows of random blocks older than an hour."""
    from mango_netflow.store.block import decode

    with tempfile.TemporaryDirectory(prefix="nfbench-") as tmp:
        (Path(tmp) / "mango.toml").write_text(f'database_url = "{url}"\nplugins = ["isp", "netflow"]\n')
        app = create_app(settings=load_settings(instance_path=Path(tmp)))
        mango = app.extensions["mango"]
        with app.app_context(), mango.db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT location_id, t_first, flows, data FROM netflow_block WHERE t_first < :old "
                "ORDER BY random() LIMIT 100"), {"old": int(time.time() * 1000) - 3_600_000}).all()
            targets = np.concatenate([decode(r.data, r.flows, r.t_first)[rng.integers(0, r.flows, count // 20 + 1)]
                                      for r in rows])
            location_id = rows[0].location_id
            sizes = disk_bytes(mango, url)
            stored = conn.execute(text("SELECT sum(flows) FROM netflow_block")).scalar()
            out = {"stored_flows_total": int(stored), "bytes_per_flow": round(sizes["total"] / int(stored), 2),
                   "lookup_at_instant": lookups(mango, location_id, targets, count, rng, 0),
                   "lookup_10_minutes": lookups(mango, location_id, targets, count, rng, 300)}
        mango.db.dispose()
    out["lookup_p50_ms"] = out["lookup_at_instant"]["p50_ms"]
    out["lookup_p95_ms"] = out["lookup_at_instant"]["p95_ms"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--quick", action="store_true", help="Small figures in seconds (the test's run).")
    parser.add_argument("--stored", type=int, default=None, help="Flows stored for size and lookups (50,000,000).")
    parser.add_argument("--rate", type=float, default=50_000, help="Simulated traffic of the stored flows, flows/s.")
    parser.add_argument("--subscribers", type=int, default=None)
    parser.add_argument("--exporters", type=int, default=4)
    parser.add_argument("--step-flows", type=int, default=None, help="Flows sent per ladder step.")
    parser.add_argument("--rates", default=None, help="Ladder of sending rates, flows/s, comma-separated.")
    parser.add_argument("--lookups", type=int, default=None)
    parser.add_argument("--skip-nfcapd", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Keep the database (PostgreSQL) afterwards.")
    parser.add_argument("--lookups-only", action="store_true",
                        help="Only the lookups, on a database an earlier run kept (--keep): targets from its blocks.")
    args = parser.parse_args()
    quick = args.quick
    stored = args.stored or (200_000 if quick else 50_000_000)
    subscribers = args.subscribers or (5_000 if quick else 100_000)
    step_flows = args.step_flows or (20_000 if quick else 2_000_000)
    rates = [float(r) for r in (args.rates or ("20000,40000" if quick else
                                               "25000,50000,100000,150000,200000,250000,300000,400000")).split(",")]
    lookup_count = args.lookups or (40 if quick else 1000)
    rng = np.random.default_rng(7)
    results: dict = {"benchmark": "netflow", "quick": quick, "database": args.database_url.split(":", 1)[0],
                     "cpus": os.cpu_count(), "load_average": os.getloadavg()[0], "subscribers": subscribers,
                     "exporters": args.exporters}
    if args.lookups_only:
        results.update(lookups_again(args.database_url, lookup_count, rng))
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    with tempfile.TemporaryDirectory(prefix="nfbench-") as tmp:
        work = Path(tmp)
        url = args.database_url
        if url == "sqlite":
            url = f"sqlite:///{work / 'bench.sqlite3'}"
        app, mango, location_id, ids = prepare(url, work, args.exporters)
        with app.app_context():
            now_ms = int(time.time() * 1000)
            pkts = stream(rng, step_flows, args.exporters, subscribers, now_ms - 120_000, 50_000)
            results["packets_per_step"] = len(pkts)
            results["flows_per_step"] = flow_count(pkts)
            ladder("collector", rates, collector_step(mango, location_id, work, pkts, args.exporters), results)
            if not args.skip_nfcapd and shutil.which("nfcapd"):
                sizes: list[int] = []
                ladder("nfcapd", rates, nfcapd_step(pkts, args.exporters, work, sizes), results)
                stored_nf = [s["stored"] for s in results["nfcapd_steps"]]
                results["nfcapd_bytes_per_flow"] = round(sizes[0] / stored_nf[0], 2) if stored_nf and stored_nf[0] else None
                results["nfcapd_version"] = subprocess.run(["nfcapd", "-V"], capture_output=True, text=True).stdout.strip()
            # the stored set: yesterday's traffic (its own partition)
            t_start = now_ms - 86_400_000
            info, targets = load(mango, location_id, ids, stored, args.rate, subscribers, t_start, rng, lookup_count * 5)
            results.update(info)
            results["stored_flows_total"] = stored_flows(mango, location_id)
            sizes = disk_bytes(mango, url)
            results["disk_bytes"] = sizes
            results["bytes_per_flow"] = round(sizes["total"] / results["stored_flows_total"], 2)
            results["lookup_at_instant"] = lookups(mango, location_id, targets, lookup_count, rng, 0)
            results["lookup_10_minutes"] = lookups(mango, location_id, targets, lookup_count, rng, 300)
            results["lookup_p50_ms"] = results["lookup_at_instant"]["p50_ms"]
            results["lookup_p95_ms"] = results["lookup_at_instant"]["p95_ms"]
        mango.db.dispose()
        if url.startswith("postgresql") and not args.keep:
            admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()
    results["goals"] = {"flows_per_s": 200_000, "bytes_per_flow": 60, "lookup_p95_ms": 50}
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
