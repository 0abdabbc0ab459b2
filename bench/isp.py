"""ISP provisioning benchmark (issue 6); prints JSON. Needs root (it makes a network namespace).

Usage: .venv/bin/python bench/isp.py [--subscribers 10000] [--changes 300] [--monitor-targets 20000]
                                     [--monitor-only]

Provisions N subscribers into a fresh namespace with the Linux router driver, each with an IPv4 /32
and an IPv6 /56 (routes, a static neighbour, HTB shaping both ways with u32 hash filters), then
measures against those N: a no-op reconcile (full read + diff), and the latency of one subscriber's
speed change, of adding and removing a subscriber, and of blocking/unblocking one (nftables, when
``nft`` is installed). The namespace is removed at the end, also on failure.

Monitoring throughput (``monitor_targets_per_min``): N addresses on an interface of another
namespace, checked the way ``isp:monitor`` checks devices (3 echoes each, 0.2 s apart, 1 s wait for
the last answers, one raw socket) paced at ``RATE`` echoes/s; the figure is targets checked per
minute when checks run back to back, for the slower of two cases: all answering (a check ends when
the last reply is in) and ``with_tenth_down`` (a tenth silent: each check waits the full second).
The database side (states, samples) is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import replace

from mango_isp.provisioning import Block, Neighbour, RouterState, Shaping, Subscriber
from mango_isp.provisioning.linux import LinuxRouterDriver


def subscriber(i: int) -> Subscriber:
    n = i + 256
    return Subscriber(i, "sub0",
                      networks=(f"100.{64 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}/32",
                                f"2001:db8:{n >> 8:x}:{n & 0xFF:x}00::/56"),
                      gateways=("100.64.0.1/10",),
                      neighbours=(Neighbour(f"100.{64 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}",
                                            f"02:00:00:{(n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"),),
                      shaping=Shaping(50_000 + 1000 * (i % 50), 10_000 + 1000 * (i % 10)))


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50_ms": round(statistics.median(values) * 1000, 3),
            "p95_ms": round(values[int(len(values) * 0.95) - 1] * 1000, 3),
            "max_ms": round(values[-1] * 1000, 3), "samples": len(values)}


def run(count: int, changes: int) -> dict[str, object]:
    ns = f"mgbench{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (["link", "add", "sub0", "type", "veth", "peer", "name", "sub0p"],
                    ["link", "set", "sub0", "up"], ["link", "set", "sub0p", "up"]):
            subprocess.run(["ip", "-n", ns, *cmd], check=True)
        subs = [subscriber(i) for i in range(2, count + 2)]
        desired = RouterState(("sub0",), tuple(subs))
        results: dict[str, object] = {"subscribers": count, "kernel": os.uname().release}
        with LinuxRouterDriver(ns) as driver:
            results["leaf_qdisc"] = driver.leaf_kind()

            start = time.perf_counter()
            actual = driver.read(desired)
            plan = driver.diff(desired, actual)
            planned = time.perf_counter()
            applied = driver.apply(plan, actual)
            total = time.perf_counter() - start
            results["provision"] = {
                "kernel_objects": applied.changes, "seconds": round(total, 3),
                "plan_seconds": round(planned - start, 3), "apply_seconds": round(applied.seconds, 3),
                "changes_per_second": round(applied.changes / total)}

            start = time.perf_counter()
            actual = driver.read(desired)
            read = time.perf_counter() - start
            drift = driver.diff(desired, actual)
            results["noop_reconcile"] = {"read_seconds": round(read, 3),
                                         "total_seconds": round(time.perf_counter() - start, 3),
                                         "objects_read": len(actual.objects), "changes": len(drift)}
            classes = subprocess.run(["tc", "-n", ns, "class", "show", "dev", "sub0"], capture_output=True,
                                     text=True, check=True).stdout.count("class htb")
            if drift or classes != count + 1:
                raise SystemExit(f"provisioning is not complete: {len(drift)} changes left, {classes} classes")

            session = driver.session(desired, actual)
            rng = random.Random(6)
            latencies, counts = [], []
            for step in range(changes):
                sub = session.subscribers[rng.randrange(2, count + 2)]
                faster = replace(sub, shaping=Shaping(sub.shaping.download_kbit + 1000 * (1 + step % 3),
                                                      sub.shaping.upload_kbit + 1000))
                t0 = time.perf_counter()
                result = session.put(faster)
                latencies.append(time.perf_counter() - t0)
                counts.append(result.changes)
            results["speed_change"] = {**ms(latencies), "kernel_changes_each": statistics.median(counts)}

            adds, removes = [], []
            for step in range(changes // 3):
                new = subscriber(count + 2 + step)
                t0 = time.perf_counter()
                session.put(new)
                adds.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                session.remove(new.id)
                removes.append(time.perf_counter() - t0)
            results["add_subscriber"] = ms(adds)
            results["remove_subscriber"] = ms(removes)

            if shutil.which("nft"):
                blocks, unblocks = [], []
                session.put(replace(session.subscribers[2], block=Block("benchmark anchor")))
                for _ in range(changes // 6):
                    sub = session.subscribers[rng.randrange(3, count + 2)]
                    t0 = time.perf_counter()
                    session.put(replace(sub, block=Block("unpaid")))
                    blocks.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    session.put(replace(sub, block=None))
                    unblocks.append(time.perf_counter() - t0)
                results["block_subscriber"] = ms(blocks)
                results["unblock_subscriber"] = ms(unblocks)

            start = time.perf_counter()
            final = driver.diff(session.desired, driver.read(session.desired))
            results["final_check"] = {"seconds": round(time.perf_counter() - start, 3), "changes": len(final)}
        return results
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


RATE = 20_000  # echoes per second; unpaced bursts of tens of thousands overflow socket buffers (replies lost)


def monitor_throughput(count: int, rounds: int = 3) -> dict[str, object]:
    """Ping ``count`` local addresses of a namespace ``rounds`` times; targets checked per minute."""
    from mango_isp.monitoring.pinger import ping_many

    ns = f"mgbench{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        addresses = [f"10.{100 + (i >> 16)}.{(i >> 8) & 0xFF}.{i & 0xFF}" for i in range(1, count + 1)]
        # a veth end rather than a dummy interface: not every kernel here has the dummy module
        batch = ["link set lo up", "link add mon0 type veth peer name mon0p", "link set mon0 up", "link set mon0p up"]
        batch += [f"addr add {a}/32 dev mon0" for a in addresses]
        subprocess.run(["ip", "-n", ns, "-batch", "-"], input="\n".join(batch) + "\n", text=True, check=True)
        # a tenth more addresses routed out of mon0 to neighbours that never answer (ARP fails)
        silent = [f"10.{120 + (i >> 16)}.{(i >> 8) & 0xFF}.{i & 0xFF}" for i in range(1, count // 10 + 1)]
        subprocess.run(["ip", "-n", ns, "route", "add", "10.120.0.0/14", "dev", "mon0"], check=True)

        def measure(targets: list[str]) -> tuple[float, float, int]:
            walls, cpus, answered = [], [], []
            for _ in range(rounds):
                t0, c0 = time.perf_counter(), time.process_time()
                results = ping_many(targets, count=3, timeout=1.0, interval=0.2, rate=RATE, netns=ns)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                answered.append(sum(1 for r in results.values() if r.received == 3))
            return statistics.median(walls), statistics.median(cpus), min(answered)

        wall, cpu, answered = measure(addresses)
        wall_down, cpu_down, answered_down = measure(addresses[:count - len(silent)] + silent)
        return {"targets": count, "echoes_per_target": 3, "echoes_per_second": RATE, "check_seconds": round(wall, 3),
                "cpu_seconds": round(cpu, 3), "answered_all": answered,
                "all_answering_per_min": round(count / wall * 60),
                # the headline: the slower case, where every check waits out the timeout
                "monitor_targets_per_min": round(count / max(wall, wall_down) * 60),
                "with_tenth_down": {"check_seconds": round(wall_down, 3), "cpu_seconds": round(cpu_down, 3),
                                    "answered_all": answered_down,
                                    "targets_per_min": round(count / wall_down * 60)}}
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--monitor-targets", type=int, default=20_000)
    parser.add_argument("--monitor-only", action="store_true", help="Only the monitoring throughput.")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/isp.py needs root: it creates a network namespace")
    results = {} if args.monitor_only else run(args.subscribers, args.changes)
    monitor = monitor_throughput(args.monitor_targets)
    results["monitoring"] = monitor
    results["monitor_targets_per_min"] = monitor["monitor_targets_per_min"]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
