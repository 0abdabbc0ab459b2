"""The flow record every part of the plugin shares: decoder → collector → store → queries.

Flows travel as numpy structured arrays of :data:`FLOW_DTYPE`, one array per packet or block, so
decoding, storing and filtering work on columns instead of one Python object per flow.

* Times are milliseconds since the Unix epoch, UTC (``first`` and ``last`` seen packet).
* Addresses are 16 bytes: IPv6 as is, IPv4 mapped into ``::ffff:0:0/96``; all zeros = absent.
* ``octets`` and ``packets`` are as the exporter reported them; ``sampling`` is the exporter's
  sampling interval for this flow (1 = every packet), so volume = octets × sampling.
* ``nat_*`` are the post-NAT (translated) source and destination and the NAT event (IPFIX
  natEvent / NetFlow v9 NF_F_NAT_EVENT; 0 = none).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

FLOW_DTYPE = np.dtype([
    ("first", "<i8"),
    ("last", "<i8"),
    ("src", "V16"),
    ("dst", "V16"),
    ("sport", "<u2"),
    ("dport", "<u2"),
    ("proto", "u1"),
    ("tcp_flags", "u1"),
    ("octets", "<u8"),
    ("packets", "<u8"),
    ("nat_src", "V16"),
    ("nat_dst", "V16"),
    ("nat_sport", "<u2"),
    ("nat_dport", "<u2"),
    ("nat_event", "u1"),
    ("in_if", "<u4"),
    ("out_if", "<u4"),
    ("sampling", "<u4"),
])

# What the store gives back: the flow and the exporter (``netflow_exporter.id``) that sent it.
STORED_DTYPE = np.dtype([*FLOW_DTYPE.descr, ("exporter_id", "<u4")])

_V4_PREFIX = b"\x00" * 10 + b"\xff\xff"
NO_ADDRESS = b"\x00" * 16


def empty(count: int = 0) -> np.ndarray:
    """``count`` zeroed flows (sampling 1)."""
    flows = np.zeros(count, dtype=FLOW_DTYPE)
    flows["sampling"] = 1
    return flows


def pack_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    """The 16-byte form of an address (IPv4 mapped into ``::ffff:0:0/96``)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip.version == 4:
        return _V4_PREFIX + ip.packed
    return ip.packed


def unpack_address(value: bytes | np.void) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of a 16-byte value (``None`` when all zeros)."""
    raw = bytes(value)
    if raw == NO_ADDRESS:
        return None
    if raw[:12] == _V4_PREFIX:
        return ipaddress.IPv4Address(raw[12:])
    return ipaddress.IPv6Address(raw)


def address_key(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> np.void:
    """A value to compare an address column with: ``flows["src"] == address_key("192.0.2.1")``."""
    return np.void(pack_address(address))


@dataclass(frozen=True)
class FlowBatch:
    """Flows of one exporter (an ``netflow_exporter`` row) of one location, ready to store."""

    location_id: int
    exporter_id: int
    flows: np.ndarray  # of FLOW_DTYPE

    def __len__(self) -> int:
        return len(self.flows)
