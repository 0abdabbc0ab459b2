"""Building NetFlow v5/v9 and IPFIX packets: for tests (hand-made templates, withdrawals, odd
lengths) and for generating benchmark streams from flow arrays."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import numpy as np

from mango_netflow.decode import fields as ie
from mango_netflow.decode.decoder import V5_RECORD

Field = tuple[int, int] | tuple[int, int, int]  # (element, length[, enterprise])


def _pad(body: bytes) -> bytes:
    return body + b"\x00" * (-len(body) % 4)


def _field(spec: Field) -> bytes:
    element, length, *enterprise = spec
    if enterprise and enterprise[0]:
        return struct.pack(">HHI", element | 0x8000, length, enterprise[0])
    return struct.pack(">HH", element, length)


def set_(set_id: int, body: bytes, *, pad: bool = True) -> bytes:
    body = _pad(body) if pad else body
    return struct.pack(">HH", set_id, len(body) + 4) + body


def ipfix_template(template_id: int, fields: Sequence[Field]) -> bytes:
    """One template record (for a set with id 2)."""
    return struct.pack(">HH", template_id, len(fields)) + b"".join(_field(f) for f in fields)


def ipfix_options_template(template_id: int, scope: Sequence[Field], options: Sequence[Field]) -> bytes:
    """One options template record (for a set with id 3)."""
    return (struct.pack(">HHH", template_id, len(scope) + len(options), len(scope))
            + b"".join(_field(f) for f in (*scope, *options)))


def ipfix_withdrawal(template_id: int) -> bytes:
    return struct.pack(">HH", template_id, 0)


def ipfix_packet(sets: Iterable[bytes], *, export_time: int = 1_700_000_000, sequence: int = 0,
                 domain: int = 0) -> bytes:
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), export_time, sequence, domain) + body


def v9_template(template_id: int, fields: Sequence[tuple[int, int]]) -> bytes:
    return struct.pack(">HH", template_id, len(fields)) + b"".join(struct.pack(">HH", *f) for f in fields)


def v9_options_template(template_id: int, scope: Sequence[tuple[int, int]], options: Sequence[tuple[int, int]]) -> bytes:
    return _pad(struct.pack(">HHH", template_id, 4 * len(scope), 4 * len(options))
                + b"".join(struct.pack(">HH", *f) for f in (*scope, *options)))


def v9_packet(flowsets: Iterable[bytes], *, uptime_ms: int = 3_600_000, unix_secs: int = 1_700_000_000,
              sequence: int = 0, source_id: int = 0, count: int = 0) -> bytes:
    return struct.pack(">HHIIII", 9, count, uptime_ms, unix_secs, sequence, source_id) + b"".join(flowsets)


def record(values: Sequence[tuple[int | bytes, int]]) -> bytes:
    """A data record from (value, length) pairs; bytes values are taken as they are."""
    out = b""
    for value, length in values:
        out += value if isinstance(value, bytes) else int(value).to_bytes(length, "big")
    return out


# -- flow arrays → packets (benchmark streams) --------------------------------------------------

IPFIX_V4_FIELDS: tuple[tuple[int, int], ...] = (
    (ie.FLOW_START_MS, 8), (ie.FLOW_END_MS, 8), (ie.SRC_V4, 4), (ie.DST_V4, 4), (ie.SRC_PORT, 2),
    (ie.DST_PORT, 2), (ie.PROTOCOL, 1), (ie.TCP_FLAGS, 1), (ie.OCTETS, 8), (ie.PACKETS, 8),
    (ie.NAT_SRC_V4, 4), (ie.NAT_SRC_PORT, 2), (ie.NAT_EVENT, 1), (ie.IN_IF, 4), (ie.OUT_IF, 4),
)
_IPFIX_V4_RECORD = np.dtype([
    ("first", ">u8"), ("last", ">u8"), ("src", "V4"), ("dst", "V4"), ("sport", ">u2"), ("dport", ">u2"),
    ("proto", "u1"), ("tcp_flags", "u1"), ("octets", ">u8"), ("packets", ">u8"), ("nat_src", "V4"),
    ("nat_sport", ">u2"), ("nat_event", "u1"), ("in_if", ">u4"), ("out_if", ">u4"),
])


def _v4(column: np.ndarray) -> np.ndarray:
    """The IPv4 part of 16-byte (IPv4-mapped) addresses, as V4."""
    return np.frombuffer(np.ascontiguousarray(column).tobytes(), dtype="u1").reshape(-1, 16)[:, 12:].copy().view("V4")[:, 0]


def ipfix_records(flows: np.ndarray) -> bytes:
    """``flows`` (IPv4) encoded for :data:`IPFIX_V4_FIELDS`."""
    out = np.zeros(len(flows), dtype=_IPFIX_V4_RECORD)
    for name in _IPFIX_V4_RECORD.names:
        out[name] = _v4(flows[name]) if name in ("src", "dst", "nat_src") else flows[name]
    return out.tobytes()


def v5_packet(flows: np.ndarray, *, uptime_ms: int, unix_secs: int, sequence: int = 0, sampling: int = 0) -> bytes:
    """Up to 30 IPv4 flows as one v5 packet (times relative to ``uptime_ms`` at ``unix_secs``)."""
    assert len(flows) <= 30
    out = np.zeros(len(flows), dtype=V5_RECORD)
    base = unix_secs * 1000 - uptime_ms
    for name in ("sport", "dport", "proto", "tcp_flags", "in_if", "out_if", "octets", "packets"):
        out[name] = flows[name]
    out["src"] = _v4(flows["src"]).view("u1").reshape(-1, 4) if len(flows) else out["src"]
    out["dst"] = _v4(flows["dst"]).view("u1").reshape(-1, 4) if len(flows) else out["dst"]
    out["first"] = (flows["first"] - base).astype(np.uint32)
    out["last"] = (flows["last"] - base).astype(np.uint32)
    header = struct.pack(">HHIIIIBBH", 5, len(flows), uptime_ms, unix_secs, 0, sequence, 0, 0, sampling)
    return header + out.tobytes()


assert _IPFIX_V4_RECORD.itemsize == sum(length for _e, length in IPFIX_V4_FIELDS)
