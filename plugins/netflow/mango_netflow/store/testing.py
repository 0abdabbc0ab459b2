"""Flows for tests of the store and of the parts that read it."""

from __future__ import annotations

import numpy as np

from mango_netflow.flows import address_key, empty


def sample_flows(n: int, *, t0: int, seed: int = 1) -> np.ndarray:
    """``n`` varied flows from ``t0`` (ms) over a minute: IPv4 and IPv6, NAT on every other one, large
    counters; ``sport`` is unique (for n ≤ 20,000), so tests can order flows canonically."""
    rng = np.random.default_rng(seed)
    flows = empty(n)
    flows["first"] = t0 + rng.integers(0, 60_000, n)
    flows["last"] = flows["first"] + rng.integers(0, 30_000, n)
    for i in range(n):
        flows["src"][i] = address_key(f"10.0.{i // 250}.{i % 250 + 1}")
        flows["dst"][i] = address_key(f"2001:db8::{i + 1:x}" if i % 3 == 0 else f"198.51.100.{i % 200 + 1}")
        if i % 2 == 0:
            flows["nat_src"][i] = address_key(f"203.0.113.{i % 4 + 1}")
            flows["nat_sport"][i] = 1024 + i
            flows["nat_event"][i] = 1
    flows["sport"] = 30000 + np.arange(n) % 20000
    flows["dport"] = np.where(np.arange(n) % 2 == 0, 443, 53)
    flows["proto"] = np.where(np.arange(n) % 2 == 0, 6, 17)
    flows["tcp_flags"] = 0x1B
    flows["octets"] = rng.integers(40, 2**40, n, dtype=np.uint64)
    flows["packets"] = rng.integers(1, 2**33, n, dtype=np.uint64)
    flows["nat_dst"][::5] = address_key("192.0.2.9")
    flows["nat_dport"][::5] = 8080
    flows["in_if"] = 7
    flows["out_if"] = 2**32 - 1
    flows["sampling"] = rng.integers(1, 1000, n)
    return flows
