"""Templates compiled to numpy: a data set becomes a structured array in one ``np.frombuffer`` and
the flow columns are filled column by column (no Python loop per record).

A template with variable-length fields (IPFIX length 65535) cannot be one dtype: its records are
first copied into a fixed layout of their fixed-length fields (one small Python loop per record),
then decoded the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mango_netflow.decode import fields as ie
from mango_netflow.decode.errors import DecodeError
from mango_netflow.flows import FLOW_DTYPE, empty

VARIABLE = 0xFFFF
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)

_ADDRESS_COLUMNS = ("src", "dst", "nat_src", "nat_dst")
# FLOW_DTYPE with the 16-byte addresses as uint8[16], to write address bytes column-wise.
_BYTES_VIEW = np.dtype({
    "names": list(FLOW_DTYPE.names),
    "formats": [("u1", (16,)) if name in _ADDRESS_COLUMNS else FLOW_DTYPE.fields[name][0]
                for name in FLOW_DTYPE.names],
    "offsets": [FLOW_DTYPE.fields[name][1] for name in FLOW_DTYPE.names],
    "itemsize": FLOW_DTYPE.itemsize,
})


def address_bytes(flows: np.ndarray) -> np.ndarray:
    """A view of ``flows`` whose address columns are ``uint8[16]`` (writable)."""
    return flows.view(_BYTES_VIEW)


@dataclass
class Clock:
    """What relative times in a record are relative to (from the packet header and the source).

    Scalars for one packet, or arrays with one value per record when the records of several
    packets are decoded together."""

    export_ms: int | np.ndarray                # the packet's export time, ms since the epoch
    uptime_ms: int | np.ndarray | None = None  # NetFlow v5/v9: the exporter's uptime at export
    init_ms: int | None = None                 # IPFIX: systemInitTimeMilliseconds learned from options data


@dataclass
class Sampling:
    """Sampling rates of one source, from option data: a default and per sampler/selector id."""

    default: int = 1
    by_sampler: dict[int, int] | None = None


class Template:
    """One (options) template, compiled. ``fields`` are ``(element, length, enterprise)``; a v9
    options template's scope fields carry enterprise ``-1`` (their types are scopes, not elements)."""

    __slots__ = ("id", "fields", "options", "variable", "length", "min_length", "dtype", "where", "packed")

    def __init__(self, template_id: int, fields: tuple[tuple[int, int, int], ...], *, options: bool = False) -> None:
        self.id = template_id
        self.fields = fields
        self.options = options
        self.variable = any(length == VARIABLE for _e, length, _n in fields)
        self.length = sum(length for _e, length, _n in fields if length != VARIABLE)
        self.min_length = self.length + sum(1 for _e, length, _n in fields if length == VARIABLE)
        self.dtype, self.where = _compile(tuple((e, n if length != VARIABLE else -1, length if length != VARIABLE else 0)
                                                for e, length, n in fields))
        self.packed = self.length  # record size of the fixed layout (== length without variable fields)

    def whole_records(self, body: bytes | memoryview) -> tuple[bytes, int]:
        """The records of a data set body in the fixed layout, without padding, and their count.
        Raises :class:`DecodeError` when a variable-length record runs past the set."""
        if self.variable:
            body = self._pack_variable(bytes(body))
        if self.packed == 0:
            return b"", 0
        count = len(body) // self.packed
        return bytes(body[:count * self.packed]), count

    def count(self, body: bytes | memoryview) -> int:
        """How many records a data set body holds (trailing padding ignored)."""
        return self.whole_records(body)[1]

    def records(self, body: bytes | memoryview) -> np.ndarray:
        """The records of a data set body as a structured array (trailing padding ignored)."""
        data, count = self.whole_records(body)
        return np.frombuffer(data, dtype=self.dtype, count=count)

    def _pack_variable(self, body: bytes) -> bytes:
        """The fixed-length fields of every variable-length record, back to back."""
        out = bytearray()
        pos, end = 0, len(body)
        while end - pos >= max(self.min_length, 1):
            for _element, length, _enterprise in self.fields:
                if length == VARIABLE:
                    if pos >= end:
                        raise DecodeError("variable-length field runs past the data set")
                    length = body[pos]
                    pos += 1
                    if length == 255:
                        if pos + 2 > end:
                            raise DecodeError("variable-length field runs past the data set")
                        length = int.from_bytes(body[pos:pos + 2], "big")
                        pos += 2
                    if pos + length > end:
                        raise DecodeError("variable-length field runs past the data set")
                    pos += length
                else:
                    if pos + length > end:
                        raise DecodeError("record runs past the data set")
                    out += body[pos:pos + length]
                    pos += length
        return bytes(out)

    # -- columns ---------------------------------------------------------------------------
    def flows(self, recs: np.ndarray, clock: Clock, sampling: Sampling) -> np.ndarray:
        """The flows of decoded data records."""
        n = len(recs)
        flows = empty(n)
        if n == 0:
            return flows
        where = self.where
        raw = address_bytes(flows)
        for column, v4, v6 in (("src", ie.SRC_V4, ie.SRC_V6), ("dst", ie.DST_V4, ie.DST_V6),
                               ("nat_src", ie.NAT_SRC_V4, ie.NAT_SRC_V6), ("nat_dst", ie.NAT_DST_V4, ie.NAT_DST_V6)):
            _put_address(raw[column], recs, where.get(v4), where.get(v6))
        for column, element in (("sport", ie.SRC_PORT), ("dport", ie.DST_PORT), ("proto", ie.PROTOCOL),
                                ("nat_sport", ie.NAT_SRC_PORT), ("nat_dport", ie.NAT_DST_PORT),
                                ("nat_event", ie.NAT_EVENT)):
            if element in where:
                flows[column] = uint(recs, where[element])
        if ie.TCP_FLAGS in where:
            flows["tcp_flags"] = uint(recs, where[ie.TCP_FLAGS]) & 0xFF
        if ie.NAT_EVENT not in where and ie.FW_EVENT in where and (ie.NAT_SRC_V4 in where or ie.NAT_SRC_V6 in where):
            event = uint(recs, where[ie.FW_EVENT])
            nat = np.zeros(n, np.uint8)
            for fw, natevent in ie.FW_EVENT_AS_NAT.items():
                nat[event == fw] = natevent
            flows["nat_event"] = nat
        icmp = where.get(ie.ICMP_V4) or where.get(ie.ICMP_V6)
        if icmp is not None:
            typecode = uint(recs, icmp)
            is_icmp = (flows["dport"] == 0) & ((flows["proto"] == 1) | (flows["proto"] == 58))
            flows["dport"] = np.where(is_icmp, typecode & 0xFFFF, flows["dport"])
        flows["octets"] = self._first_of(recs, (ie.OCTETS,), (ie.OCTETS_TOTAL,), (ie.POST_OCTETS,),
                                         (ie.INITIATOR_OCTETS, ie.RESPONDER_OCTETS), n=n)
        flows["packets"] = self._first_of(recs, (ie.PACKETS,), (ie.PACKETS_TOTAL,), (ie.POST_PACKETS,),
                                          (ie.INITIATOR_PACKETS, ie.RESPONDER_PACKETS), n=n)
        for column, elements in (("in_if", (ie.IN_IF, ie.IN_PHYS_IF)), ("out_if", (ie.OUT_IF, ie.OUT_PHYS_IF))):
            for element in elements:
                if element in where:
                    flows[column] = uint(recs, where[element]) & 0xFFFFFFFF
                    break
        first, last = self._times(recs, clock, n)
        flows["first"] = first
        flows["last"] = last
        flows["sampling"] = self._sampling(recs, sampling, n)
        return flows

    def _first_of(self, recs: np.ndarray, *choices: tuple[int, ...], n: int) -> np.ndarray | int:
        """The sum of the first group of elements the template has (0 when none)."""
        for group in choices:
            if all(element in self.where for element in group):
                total = np.zeros(n, np.uint64)
                for element in group:
                    total += uint(recs, self.where[element])
                return total
        return 0

    def _times(self, recs: np.ndarray, clock: Clock, n: int) -> tuple[np.ndarray, np.ndarray]:
        where = self.where
        first = last = None
        init_ms = (uint(recs, where[ie.SYSTEM_INIT_MS]).astype(np.int64) if ie.SYSTEM_INIT_MS in where
                   else clock.init_ms)
        for start, end, convert in (
            (ie.FLOW_START_MS, ie.FLOW_END_MS, lambda v: v.astype(np.int64)),
            (ie.FLOW_START_S, ie.FLOW_END_S, lambda v: v.astype(np.int64) * 1000),
            (ie.FLOW_START_US, ie.FLOW_END_US, _ntp_ms),
            (ie.FLOW_START_NS, ie.FLOW_END_NS, _ntp_ms),
            (ie.FLOW_START_DELTA_US, ie.FLOW_END_DELTA_US,
             lambda v: clock.export_ms - (v // 1000).astype(np.int64)),
            (ie.FIRST_UPTIME, ie.LAST_UPTIME, lambda v: _uptime_ms(v, clock, init_ms)),
        ):
            if first is None and start in where:
                first = convert(uint(recs, where[start]))
            if last is None and end in where:
                last = convert(uint(recs, where[end]))
        if first is None and last is None and ie.OBSERVATION_MS in where:
            first = last = uint(recs, where[ie.OBSERVATION_MS]).astype(np.int64)
        if first is None and last is None:
            first = last = np.zeros(n, np.int64) + clock.export_ms
        if first is None:
            first = last
        if last is None:
            last = first
        return first, last

    def _sampling(self, recs: np.ndarray, sampling: Sampling, n: int) -> np.ndarray | int:
        where = self.where
        sampler = where.get(ie.SAMPLER_ID) or where.get(ie.SELECTOR_ID)
        if sampler is not None and sampling.by_sampler:
            ids = uint(recs, sampler)
            rates = np.full(n, sampling.default, np.uint32)
            for sampler_id, rate in sampling.by_sampler.items():
                rates[ids == sampler_id] = rate
            return rates
        own = record_rates(recs, where)
        if own is not None:
            return np.where(own == 0, sampling.default, own)
        return sampling.default


def record_rates(recs: np.ndarray, where: dict[int, str]) -> np.ndarray | None:
    """Sampling rates carried in the records themselves (``None`` when the template has none)."""
    for element in (ie.SAMPLING_INTERVAL, ie.SAMPLER_RANDOM_INTERVAL):
        if element in where:
            return np.minimum(uint(recs, where[element]), 0xFFFFFFFF).astype(np.uint32)
    if ie.SAMPLING_PACKET_INTERVAL in where:
        selected = uint(recs, where[ie.SAMPLING_PACKET_INTERVAL])
        space = uint(recs, where[ie.SAMPLING_PACKET_SPACE]) if ie.SAMPLING_PACKET_SPACE in where else 0
        rate = np.where(selected == 0, 0, (selected + space) // np.maximum(selected, 1))
        return np.minimum(rate, 0xFFFFFFFF).astype(np.uint32)
    return None


def uint(recs: np.ndarray, name: str) -> np.ndarray:
    """A big-endian unsigned field of any length as uint64 (longer than 8 bytes: the low 8)."""
    column = recs[name]
    if column.ndim == 2:
        out = np.zeros(len(column), np.uint64)
        for k in range(max(0, column.shape[1] - 8), column.shape[1]):
            out = (out << np.uint64(8)) | column[:, k].astype(np.uint64)
        return out
    return column.astype(np.uint64)


def _put_address(target: np.ndarray, recs: np.ndarray, v4: str | None, v6: str | None) -> None:
    if v6 is not None:
        target[:] = recs[v6]
    if v4 is not None:
        value = recs[v4]
        if v6 is None:
            target[:, 10:12] = 0xFF
            target[:, 12:] = value
        else:  # both in one template: the IPv4 address where the record has one
            has = value.any(axis=1)
            target[has, :10] = 0
            target[has, 10:12] = 0xFF
            target[has, 12:] = value[has]


def _ntp_ms(value: np.ndarray) -> np.ndarray:
    seconds = (value >> np.uint64(32)).astype(np.int64)
    fraction = (value & np.uint64(0xFFFFFFFF)).astype(np.int64)
    ms = (seconds - NTP_EPOCH_OFFSET) * 1000 + ((fraction * 1000) >> 32)
    return np.where(value == 0, 0, ms)


def before_export(value: np.ndarray, uptime_ms: int | np.ndarray) -> np.ndarray:
    """How many ms before the export an uptime value lies (signed: the 32-bit uptime wraps after
    49.7 days, and a flow may end a little after the header's uptime)."""
    return (np.asarray(uptime_ms, np.uint32) - value.astype(np.uint32)).view(np.int32).astype(np.int64)


def _uptime_ms(value: np.ndarray, clock: Clock, init_ms: int | np.ndarray | None) -> np.ndarray:
    """Exporter uptime (ms) → epoch ms: v9 through the header's uptime, IPFIX through systemInitTime."""
    if clock.uptime_ms is not None:
        return clock.export_ms - before_export(value, clock.uptime_ms)
    if init_ms is not None:
        return init_ms + value.astype(np.int64)
    # IPFIX without systemInitTimeMilliseconds: no base to add — the export time is the best bound
    return np.zeros(len(value), np.int64) + clock.export_ms


@functools.lru_cache(maxsize=4096)
def _compile(fields: tuple[tuple[int, int, int], ...]) -> tuple[np.dtype, dict[int, str]]:
    """The dtype of the fixed layout (used elements only) and where each used element lies."""
    names, formats, offsets, where = [], [], [], {}
    offset = 0
    for element, enterprise, length in fields:
        if (enterprise == 0 and element in ie.USED and length > 0 and element not in where
                and _usable(element, length)):
            name = f"e{element}"
            names.append(name)
            if element in ie.ADDRESSES_V4 or element in ie.ADDRESSES_V6 or length not in (1, 2, 4, 8):
                formats.append(("u1", (length,)))
            else:
                formats.append(f">u{length}")
            offsets.append(offset)
            where[element] = name
        offset += length
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": offset}), where


def _usable(element: int, length: int) -> bool:
    if element in ie.ADDRESSES_V4:
        return length == 4
    if element in ie.ADDRESSES_V6:
        return length == 16
    return True
