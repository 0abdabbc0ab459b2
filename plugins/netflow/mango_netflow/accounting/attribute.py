"""Which service a flow's bytes belong to, column-wise.

A flow counts for the service whose assignment held its subscriber-side address at the flow's
``last`` time: ``bytes_out`` for the source side (``src``, else ``nat_src``), ``bytes_in`` for the
destination side (``dst``, else ``nat_dst``). Behind CGNAT the inside address is the subscriber's
(the public one is shared and never assigned), so a NAT flow counts for the inside address's
service whichever of the two columns carries it. A flow seen only with the public address and port
(an exporter at the border, after the NAT) is mapped back to the inside address by the CGNAT
configuration valid then — the reverse of :class:`mango_isp.ipam.cgnat.CgnatPlan`, column-wise
(a test holds it equal to ``CgnatPlan.reverse``). A flow between two subscribers counts for both.
Volume = ``octets × sampling``.

Assignments are matched by prefix: the flows' addresses are masked to each assignment length in
use and looked up in the sorted networks of that length (``searchsorted`` on 16-byte values), so
the work is a few array passes per prefix length, not a Python loop per flow.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from mango_netflow.flows import pack_address

SIDES = {"out": (("src", "sport"), ("nat_src", "nat_sport")), "in": (("dst", "dport"), ("nat_dst", "nat_dport"))}
_V4_MAPPED = 0xFFFF << 32


@dataclass(frozen=True)
class Held:
    """An assignment as the accounting needs it: network, length (of the 128-bit form) and validity."""

    network: bytes  # 16 bytes, IPv4 mapped
    length: int  # 0–128 (an IPv4 /24 is 120)
    valid_from_ms: int
    valid_to_ms: int | None
    service_id: int


def held(network: object, prefixlen: int, family: int, valid_from_ms: int, valid_to_ms: int | None,
         service_id: int) -> Held:
    return Held(pack_address(network), prefixlen + (96 if family == 4 else 0), valid_from_ms, valid_to_ms, service_id)


@dataclass(frozen=True)
class Nat:
    """A CGNAT configuration (:class:`~mango_isp.ipam.cgnat.CgnatPlan`) and when it was valid."""

    public_first: int  # the public prefix's first IPv4 address as an integer
    public_count: int
    inside_first: int
    inside_count: int
    port_first: int
    block_size: int
    blocks_per_address: int
    valid_from_ms: int
    valid_to_ms: int | None


def nat_of(plan, valid_from_ms: int, valid_to_ms: int | None) -> Nat:  # noqa: ANN001
    return Nat(int(plan.public.network_address), plan.public.num_addresses, int(plan.inside.network_address),
               plan.inside.num_addresses, plan.port_first, plan.block_size, plan.blocks_per_address,
               valid_from_ms, valid_to_ms)


def reverse(addresses: np.ndarray, ports: np.ndarray, times: np.ndarray, nats: list[Nat]) -> np.ndarray:
    """The inside address (16 bytes, V16) behind each public address and port at each time; zeros where none.

    ``CgnatPlan.reverse`` for arrays: block = (port − port_first) // block_size, index = block ×
    public addresses + the public address's offset, inside = inside prefix + index.
    """
    inside = np.zeros((len(addresses), 2), dtype=">u8")
    if not len(addresses) or not nats:
        return inside.view("V16").ravel()
    halves = np.ascontiguousarray(addresses).view(">u8").reshape(-1, 2)
    v4 = (halves[:, 0] == 0) & ((halves[:, 1] >> np.uint64(32)) == np.uint64(0xFFFF))
    value = (halves[:, 1] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    port = ports.astype(np.int64)
    for nat in nats:
        offset = value - nat.public_first
        block = (port - nat.port_first) // nat.block_size
        index = block * nat.public_count + offset
        ok = (v4 & (offset >= 0) & (offset < nat.public_count) & (port >= nat.port_first)
              & (block < nat.blocks_per_address) & (index < nat.inside_count) & (times >= nat.valid_from_ms))
        if nat.valid_to_ms is not None:
            ok &= times < nat.valid_to_ms
        ok &= inside[:, 1] == 0
        inside[ok, 1] = np.uint64(_V4_MAPPED) | (nat.inside_first + index[ok]).astype(np.uint64)
    return np.ascontiguousarray(inside).view("V16").ravel()


def _mask(length: int) -> np.ndarray:
    mask = np.zeros(16, dtype=np.uint8)
    mask[:length // 8] = 0xFF
    if length % 8:
        mask[length // 8] = (0xFF << (8 - length % 8)) & 0xFF
    return mask


@dataclass
class Totals:
    bytes_in: int = 0
    bytes_out: int = 0
    flows: int = 0


def _owners(addresses: np.ndarray, times: np.ndarray, holds: list[Held]) -> np.ndarray:
    """The service id owning each address at each time (0: none)."""
    owner = np.zeros(len(addresses), dtype=np.int64)
    if not len(addresses) or not holds:
        return owner
    raw = np.ascontiguousarray(addresses).view(np.uint8).reshape(-1, 16)
    by_length: dict[int, list[Held]] = defaultdict(list)
    for h in holds:
        by_length[h.length].append(h)
    forever = np.iinfo(np.int64).max
    for length, group in by_length.items():
        # the group's assignments sorted by network then start: a network's holders are one run
        group.sort(key=lambda h: (h.network, h.valid_from_ms))
        networks = np.array([h.network for h in group], dtype="V16")
        starts = np.array([h.valid_from_ms for h in group], dtype=np.int64)
        ends = np.array([forever if h.valid_to_ms is None else h.valid_to_ms for h in group], dtype=np.int64)
        services = np.array([h.service_id for h in group], dtype=np.int64)
        keys, first, counts = np.unique(networks, return_index=True, return_counts=True)
        masked = np.ascontiguousarray(raw & _mask(length)).view("V16").ravel()
        index = np.searchsorted(keys, masked)
        index[index >= len(keys)] = 0
        rows = np.nonzero((keys[index] == masked) & (owner == 0))[0]
        if not len(rows):
            continue
        key, at = index[rows], times[rows]
        # try each network's 1st holder, then its 2nd… (a network changes hands rarely within the span)
        for step in range(int(counts.max())):
            left = (counts[key] > step) & (owner[rows] == 0)
            if not left.any():
                break
            entry = first[key[left]] + step
            valid = (at[left] >= starts[entry]) & (at[left] < ends[entry])
            owner[rows[left][valid]] = services[entry[valid]]
    return owner


def _sums(owner: np.ndarray, values: np.ndarray) -> dict[int, int]:
    """Exact sums of ``values`` (uint64) per owner > 0: sorted once, added with ``reduceat``."""
    mine = owner > 0
    if not mine.any():
        return {}
    order = np.argsort(owner[mine], kind="stable")
    owners, values = owner[mine][order], values[mine][order]
    starts = np.concatenate(([0], np.nonzero(np.diff(owners))[0] + 1))
    return dict(zip(owners[starts].tolist(), np.add.reduceat(values, starts).tolist(), strict=True))


def attribute(flows: np.ndarray, holds: list[Held], nats: list[Nat] = ()) -> dict[int, Totals]:
    """Bytes in and out and flows per service id for ``flows`` (FLOW_DTYPE or STORED_DTYPE)."""
    if not len(flows):
        return {}
    volume = flows["octets"].astype(np.uint64) * np.maximum(flows["sampling"], 1).astype(np.uint64)
    times = flows["last"]
    owners: dict[str, np.ndarray] = {}
    for direction, columns in SIDES.items():
        owner = np.zeros(len(flows), dtype=np.int64)
        for column, _port in columns:
            missing = owner == 0
            if not missing.any():
                break
            owner[np.nonzero(missing)[0]] = _owners(flows[column][missing], times[missing], holds)
        for column, port in columns if nats else ():  # seen only as a CGNAT public address and port
            missing = owner == 0
            if not missing.any():
                break
            rows = np.nonzero(missing)[0]
            inside = reverse(flows[column][rows], flows[port][rows], times[rows], list(nats))
            owner[rows] = _owners(inside, times[rows], holds)
        owners[direction] = owner
    ones = np.ones(len(flows), dtype=np.uint64)
    totals: dict[int, Totals] = defaultdict(Totals)
    for service_id, amount in _sums(owners["in"], volume).items():
        totals[service_id].bytes_in = amount
    for service_id, amount in _sums(owners["out"], volume).items():
        totals[service_id].bytes_out = amount
    # a flow counts once per service, also when both its sides are the same service's
    counted_in = np.where(owners["in"] == owners["out"], 0, owners["in"])
    for owner in (owners["out"], counted_in):
        for service_id, count in _sums(owner, ones).items():
            totals[service_id].flows += count
    return dict(totals)
