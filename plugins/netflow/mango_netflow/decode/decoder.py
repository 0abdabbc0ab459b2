"""NetFlow v5, v9 and IPFIX packets → arrays of :data:`~mango_netflow.flows.FLOW_DTYPE`.

One :class:`Decoder` holds the state of every exporter it has heard: templates per (exporter
address, version, source id / observation domain), sampling rates learned from option data, the
IPFIX system init time, and data sets that came before their template (held up to ``hold_sets``
sets and ``hold_seconds`` per source, then counted as dropped). A packet that cannot be read raises
:class:`DecodeError` — the caller counts it; templates learned from the packet before the broken
part are kept.
"""

from __future__ import annotations

import struct
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from mango_netflow.decode import fields as ie
from mango_netflow.decode.errors import DecodeError
from mango_netflow.decode.template import (
    Clock,
    Sampling,
    Template,
    address_bytes,
    before_export,
    record_rates,
    uint,
)
from mango_netflow.flows import FLOW_DTYPE, empty

V5_HEADER = struct.Struct(">HHIIIIBBH")
V9_HEADER = struct.Struct(">HHIIII")
IPFIX_HEADER = struct.Struct(">HHIII")
SET_HEADER = struct.Struct(">HH")
FIELD = struct.Struct(">HH")

V5_RECORD = np.dtype([
    ("src", "u1", (4,)), ("dst", "u1", (4,)), ("nexthop", ">u4"), ("in_if", ">u2"), ("out_if", ">u2"),
    ("packets", ">u4"), ("octets", ">u4"), ("first", ">u4"), ("last", ">u4"), ("sport", ">u2"),
    ("dport", ">u2"), ("pad1", "u1"), ("tcp_flags", "u1"), ("proto", "u1"), ("tos", "u1"),
    ("src_as", ">u2"), ("dst_as", ">u2"), ("src_mask", "u1"), ("dst_mask", "u1"), ("pad2", ">u2"),
])
V5_MAX_RECORDS = 30
NO_FLOWS = np.zeros(0, dtype=FLOW_DTYPE)
MAX_EPOCH_MS = 2**53  # ms since 1970: far beyond any real clock, far inside int64


@dataclass
class ExporterStats:
    """Counters of one exporter address since the decoder started."""

    packets: int = 0
    flows: int = 0
    malformed: int = 0
    irregular: int = 0          # decoded, but the v9 header counts other records than the packet holds
    missing_template: int = 0   # data sets dropped: their template did not come in time
    templates: int = 0          # template and options template records received (refreshes too)
    last_packet: float | None = None  # time.time() of the last packet


@dataclass
class Source:
    """One template space: (exporter address, version, source id / observation domain)."""

    templates: dict[int, Template] = field(default_factory=dict)
    sampling: Sampling = field(default_factory=Sampling)
    init_ms: int | None = None
    held: deque = field(default_factory=deque)  # (template id, body, clock, arrived)


class _Group:
    """Records of one template (or NetFlow v5) from several packets, decoded together."""

    __slots__ = ("exporter", "source", "template", "chunks", "counts", "export_ms", "uptime_ms", "sampling")

    def __init__(self, exporter: str, source: Source | None, template: Template | None) -> None:
        self.exporter, self.source, self.template = exporter, source, template
        self.chunks: list[bytes] = []
        self.counts: list[int] = []
        self.export_ms: list[int] = []
        self.uptime_ms: list[int] = []
        self.sampling: list[int] = []  # NetFlow v5: the header's interval per packet


class Batch:
    """Data records waiting to be decoded, grouped by template (see :meth:`Decoder.decode_many`)."""

    def __init__(self) -> None:
        self.groups: dict[tuple, _Group] = {}
        self.out: dict[str, list[np.ndarray]] = {}


class Decoder:
    def __init__(self, *, hold_sets: int = 256, hold_seconds: float = 30.0) -> None:
        self.hold_sets = hold_sets
        self.hold_seconds = hold_seconds
        self.sources: dict[tuple[str, int, int], Source] = {}
        self.stats: dict[str, ExporterStats] = {}

    def decode(self, packet: bytes, exporter: str, now: float | None = None) -> np.ndarray:
        """The flows of one UDP payload from ``exporter`` (its address), held data sets whose
        template this packet brings included. Raises :class:`DecodeError` when malformed."""
        batch = Batch()
        self.add(batch, packet, exporter, now)
        return self.finish(batch).get(exporter, NO_FLOWS)

    def decode_many(self, packets: list[tuple[bytes, str]], now: float | None = None,
                    ) -> tuple[dict[str, np.ndarray], list[tuple[str, int, DecodeError]]]:
        """The flows of many packets by exporter, and the malformed ones as (exporter, index, error).

        The records of one template are decoded together (one ``np.frombuffer`` for all packets):
        per packet only the headers and set lengths are read in Python."""
        batch = Batch()
        errors = []
        for index, (packet, exporter) in enumerate(packets):
            try:
                self.add(batch, packet, exporter, now)
            except DecodeError as exc:
                errors.append((exporter, index, exc))
        return self.finish(batch), errors

    def add(self, batch: Batch, packet: bytes, exporter: str, now: float | None = None) -> None:
        """Read one packet into ``batch``; templates and option data take effect at once. A
        malformed packet adds nothing (raises :class:`DecodeError`)."""
        stats = self.stats.get(exporter)
        if stats is None:
            stats = self.stats[exporter] = ExporterStats()
        stats.packets += 1
        stats.last_packet = time.time()
        now = time.monotonic() if now is None else now
        staged: list[tuple] = []  # (group key, group factory args, chunk, count, export, uptime, sampling)
        try:
            if len(packet) < 2:
                raise DecodeError("packet shorter than a NetFlow header")
            version = (packet[0] << 8) | packet[1]
            if version == 5:
                self._v5(packet, exporter, staged)
            elif version == 9:
                self._v9(packet, exporter, stats, now, batch, staged)
            elif version == 10:
                self._ipfix(packet, exporter, stats, now, batch, staged)
            else:
                raise DecodeError(f"unknown NetFlow version {version}")
        except DecodeError:
            stats.malformed += 1
            raise
        for key, source, template, chunk, count, export_ms, uptime_ms, sampling in staged:
            group = batch.groups.get(key)
            if group is None:
                group = batch.groups[key] = _Group(exporter, source, template)
            group.chunks.append(chunk)
            group.counts.append(count)
            group.export_ms.append(export_ms)
            group.uptime_ms.append(uptime_ms)
            group.sampling.append(sampling)

    def finish(self, batch: Batch, source: Source | None = None) -> dict[str, np.ndarray]:
        """Decode the waiting records (of one ``source`` only, or all) into flows by exporter."""
        for key in [k for k, g in batch.groups.items() if source is None or g.source is source]:
            group = batch.groups.pop(key)
            flows = self._decode_group(group)
            self.stats[group.exporter].flows += len(flows)
            batch.out.setdefault(group.exporter, []).append(flows)
        if source is not None:
            return {}
        return {exporter: _joined(parts) for exporter, parts in batch.out.items()}

    def expire(self, now: float | None = None) -> int:
        """Drop held data sets older than ``hold_seconds``; how many were dropped."""
        now = time.monotonic() if now is None else now
        dropped = 0
        for (exporter, _version, _domain), source in self.sources.items():
            count = self._expire(source, now)
            if count:
                self.stats[exporter].missing_template += count
                dropped += count
        return dropped

    def held(self) -> int:
        """Data sets waiting for their template."""
        return sum(len(source.held) for source in self.sources.values())

    # -- decoding of grouped records ---------------------------------------------------------
    @staticmethod
    def _decode_group(group: _Group) -> np.ndarray:
        data = group.chunks[0] if len(group.chunks) == 1 else b"".join(group.chunks)
        total = sum(group.counts)
        single = len(group.counts) == 1

        def per_record(values: list[int]) -> int | np.ndarray:
            return values[0] if single else np.repeat(np.asarray(values, np.int64), group.counts)

        uptime = None if group.uptime_ms[0] is None else per_record(group.uptime_ms)
        clock = Clock(export_ms=per_record(group.export_ms), uptime_ms=uptime)
        if group.template is None:
            return _v5_flows(np.frombuffer(data, dtype=V5_RECORD, count=total), clock, per_record(group.sampling))
        recs = np.frombuffer(data, dtype=group.template.dtype, count=total)
        clock.init_ms = group.source.init_ms
        return group.template.flows(recs, clock, group.source.sampling)

    # -- NetFlow v5 ------------------------------------------------------------------------
    @staticmethod
    def _v5(packet: bytes, exporter: str, staged: list) -> None:
        if len(packet) < V5_HEADER.size:
            raise DecodeError("NetFlow v5 header truncated")
        _v, count, uptime, secs, nsecs, _seq, _etype, _eid, sampling = V5_HEADER.unpack_from(packet)
        if count == 0 or count > V5_MAX_RECORDS:
            raise DecodeError(f"NetFlow v5 record count {count} outside 1–{V5_MAX_RECORDS}")
        end = V5_HEADER.size + count * V5_RECORD.itemsize
        if len(packet) < end:
            raise DecodeError(f"NetFlow v5 packet too short for {count} records")
        interval = max(sampling & 0x3FFF, 1)  # the top two bits are the sampling mode
        staged.append((("v5", exporter), None, None, packet[V5_HEADER.size:end], count,
                       secs * 1000 + nsecs // 1_000_000, uptime, interval))

    # -- NetFlow v9 ------------------------------------------------------------------------
    def _v9(self, packet: bytes, exporter: str, stats: ExporterStats, now: float, batch: Batch,
            staged: list) -> None:
        if len(packet) < V9_HEADER.size:
            raise DecodeError("NetFlow v9 header truncated")
        _v, count, uptime, secs, _seq, source_id = V9_HEADER.unpack_from(packet)
        source = self._source(exporter, 9, source_id)
        clock = Clock(export_ms=secs * 1000, uptime_ms=uptime)
        records: int | None = 0  # what the packet holds, None once a data set waits for its template
        flowsets = 0
        for set_id, body in _sets(packet, V9_HEADER.size, len(packet)):
            flowsets += 1
            if set_id in (0, 1):
                for template in (_v9_templates(body) if set_id == 0 else _v9_option_templates(body)):
                    stats.templates += 1
                    records = None if records is None else records + 1
                    self._learn(source, template, staged)
            elif set_id >= 256:
                template = source.templates.get(set_id)
                records = None if records is None or template is None else records + template.count(body)
                self._data(source, stats, set_id, body, clock, now, batch, staged)
        # RFC 3954 counts records; many exporters count FlowSets instead. A count that is neither is a
        # broken exporter: the packet is still read (its sets say what they hold), and counted
        if count != flowsets and records is not None and records != count:
            stats.irregular += 1
        self._expire_into(source, stats, now)

    # -- IPFIX -----------------------------------------------------------------------------
    def _ipfix(self, packet: bytes, exporter: str, stats: ExporterStats, now: float, batch: Batch,
               staged: list) -> None:
        if len(packet) < IPFIX_HEADER.size:
            raise DecodeError("IPFIX header truncated")
        _v, length, export_s, _seq, domain = IPFIX_HEADER.unpack_from(packet)
        if length < IPFIX_HEADER.size or length > len(packet):
            raise DecodeError(f"IPFIX message length {length} does not fit the packet ({len(packet)} bytes)")
        source = self._source(exporter, 10, domain)
        clock = Clock(export_ms=export_s * 1000)
        for set_id, body in _sets(packet, IPFIX_HEADER.size, length):
            if set_id in (2, 3):
                for template_id, template in _ipfix_templates(body, options=set_id == 3):
                    stats.templates += 1
                    if template is None:
                        self._withdraw(source, set_id, template_id)
                    else:
                        self._learn(source, template, staged)
            elif set_id >= 256:
                self._data(source, stats, set_id, body, clock, now, batch, staged)
        self._expire_into(source, stats, now)

    # -- state -----------------------------------------------------------------------------
    def _source(self, exporter: str, version: int, domain: int) -> Source:
        key = (exporter, version, domain)
        source = self.sources.get(key)
        if source is None:
            source = self.sources[key] = Source()
        return source

    def _learn(self, source: Source, template: Template, staged: list) -> None:
        source.templates[template.id] = template
        if not source.held or not any(held[0] == template.id for held in source.held):
            return
        waiting = [held for held in source.held if held[0] == template.id]
        source.held = deque(held for held in source.held if held[0] != template.id)
        for _tid, body, held_clock, _arrived in waiting:
            if template.options:
                self._options(source, template, template.records(body))
            else:
                self._stage(source, template, body, held_clock, staged)

    @staticmethod
    def _withdraw(source: Source, set_id: int, template_id: int) -> None:
        if template_id == set_id:  # "all templates" (2) or "all options templates" (3) of the domain
            options = set_id == 3
            for tid in [t for t, tpl in source.templates.items() if tpl.options == options]:
                del source.templates[tid]
        else:
            source.templates.pop(template_id, None)

    def _data(self, source: Source, stats: ExporterStats, template_id: int, body: memoryview, clock: Clock,
              now: float, batch: Batch, staged: list) -> None:
        template = source.templates.get(template_id)
        if template is not None:
            if template.options:
                # records decoded so far used the old rates: decode them before the change
                self.finish(batch, source)
                self._options(source, template, template.records(body))
            else:
                self._stage(source, template, body, clock, staged)
            return
        if self.hold_sets <= 0:
            stats.missing_template += 1
            return
        if len(source.held) >= self.hold_sets:
            source.held.popleft()
            stats.missing_template += 1
        source.held.append((template_id, bytes(body), Clock(clock.export_ms, clock.uptime_ms), now))

    @staticmethod
    def _stage(source: Source, template: Template, body: bytes | memoryview, clock: Clock, staged: list) -> None:
        chunk, count = template.whole_records(body)
        if count:
            staged.append((id(template), source, template, chunk, count, clock.export_ms, clock.uptime_ms, 1))

    @staticmethod
    def _options(source: Source, template: Template, recs: np.ndarray) -> None:
        """Option data: sampling rates (per sampler/selector id or for the whole source) and the
        IPFIX system init time; everything else in option data is not needed for flows."""
        if not len(recs):
            return
        where = template.where
        if ie.SYSTEM_INIT_MS in where:
            init_ms = int(uint(recs, where[ie.SYSTEM_INIT_MS])[-1])
            # a time beyond any calendar (found by fuzzing: it overflowed the int64 arithmetic) is no base
            source.init_ms = init_ms if 0 < init_ms < MAX_EPOCH_MS else None
        rates = record_rates(recs, where)
        if rates is None:
            return
        sampler = where.get(ie.SAMPLER_ID) or where.get(ie.SELECTOR_ID)
        if sampler is None:
            rate = int(rates[-1])
            if rate:
                source.sampling = Sampling(rate, source.sampling.by_sampler)
            return
        by_sampler = dict(source.sampling.by_sampler or {})
        for sampler_id, rate in zip(uint(recs, sampler).tolist(), rates.tolist(), strict=True):
            if rate:
                by_sampler[sampler_id] = rate
        source.sampling = Sampling(source.sampling.default, by_sampler)

    def _expire(self, source: Source, now: float) -> int:
        dropped = 0
        while source.held and now - source.held[0][3] > self.hold_seconds:
            source.held.popleft()
            dropped += 1
        return dropped

    def _expire_into(self, source: Source, stats: ExporterStats, now: float) -> None:
        if source.held:
            stats.missing_template += self._expire(source, now)


def _v5_flows(recs: np.ndarray, clock: Clock, sampling: int | np.ndarray) -> np.ndarray:
    flows = empty(len(recs))
    raw = address_bytes(flows)
    for column in ("src", "dst"):
        raw[column][:, 10:12] = 0xFF
        raw[column][:, 12:] = recs[column]
    for column in ("sport", "dport", "proto", "tcp_flags", "in_if", "out_if", "octets", "packets"):
        flows[column] = recs[column]
    for column in ("first", "last"):
        flows[column] = clock.export_ms - before_export(recs[column], clock.uptime_ms)
    flows["sampling"] = sampling
    return flows


def _joined(out: list[np.ndarray]) -> np.ndarray:
    if not out:
        return NO_FLOWS
    return out[0] if len(out) == 1 else np.concatenate(out)


def _sets(packet: bytes, start: int, end: int):  # noqa: ANN202
    """(set id, body) of every (flow)set; checks all lengths before the first is handled."""
    view = memoryview(packet)
    found = []
    pos = start
    while end - pos >= SET_HEADER.size:
        set_id, length = SET_HEADER.unpack_from(packet, pos)
        if length < SET_HEADER.size:
            if not any(view[pos:end]):  # zero padding after the last set (seen from Palo Alto)
                break
            raise DecodeError(f"set {set_id} has length {length}")
        if pos + length > end:
            raise DecodeError(f"set {set_id} of {length} bytes runs past the packet")
        found.append((set_id, view[pos + SET_HEADER.size:pos + length]))
        pos += length
    return found


def _v9_templates(body: memoryview) -> list[Template]:
    templates = []
    pos, end = 0, len(body)
    while end - pos >= 4:
        template_id, count = FIELD.unpack_from(body, pos)
        pos += 4
        if template_id < 256:
            raise DecodeError(f"NetFlow v9 template id {template_id} below 256")
        if pos + count * 4 > end:
            raise DecodeError(f"NetFlow v9 template {template_id} runs past its flowset")
        fields = tuple((element, length, 0) for element, length in FIELD.iter_unpack(body[pos:pos + count * 4]))
        pos += count * 4  # length 65535 = variable length as in IPFIX (H3C NetStream sends it in v9)
        templates.append(Template(template_id, fields))
    return templates


def _v9_option_templates(body: memoryview) -> list[Template]:
    templates = []
    pos, end = 0, len(body)
    while end - pos >= 6:
        template_id, scope_length, option_length = struct.unpack_from(">HHH", body, pos)
        pos += 6
        if template_id < 256:
            raise DecodeError(f"NetFlow v9 options template id {template_id} below 256")
        if scope_length % 4 or option_length % 4 or pos + scope_length + option_length > end:
            raise DecodeError(f"NetFlow v9 options template {template_id} is malformed")
        scope = [(element, length, -1) for element, length in FIELD.iter_unpack(body[pos:pos + scope_length])]
        pos += scope_length
        options = [(element, length, 0) for element, length in
                   FIELD.iter_unpack(body[pos:pos + option_length])]
        pos += option_length
        templates.append(Template(template_id, (*scope, *options), options=True))
        pos += (-pos) % 4  # each options template is padded to 4 bytes
    return templates


def _ipfix_templates(body: memoryview, *, options: bool) -> list[tuple[int, Template | None]]:
    """(template id, template or None for a withdrawal) of an IPFIX (options) template set."""
    found: list[tuple[int, Template | None]] = []
    pos, end = 0, len(body)
    while end - pos >= 4:
        template_id, count = FIELD.unpack_from(body, pos)
        pos += 4
        if count == 0:
            if template_id not in (2, 3) and template_id < 256:
                raise DecodeError(f"IPFIX withdrawal of template id {template_id}")
            found.append((template_id, None))
            continue
        if template_id < 256:
            raise DecodeError(f"IPFIX template id {template_id} below 256")
        if options:
            if end - pos < 2:
                raise DecodeError(f"IPFIX options template {template_id} truncated")
            scope_count = struct.unpack_from(">H", body, pos)[0]
            pos += 2
            if scope_count == 0 or scope_count > count:
                raise DecodeError(f"IPFIX options template {template_id} has {scope_count} scope fields")
        fields = []
        for _ in range(count):
            if end - pos < 4:
                raise DecodeError(f"IPFIX template {template_id} runs past its set")
            element, length = FIELD.unpack_from(body, pos)
            pos += 4
            enterprise = 0
            if element & 0x8000:
                if end - pos < 4:
                    raise DecodeError(f"IPFIX template {template_id} runs past its set")
                enterprise = struct.unpack_from(">I", body, pos)[0] or 0xFFFFFFFF
                element &= 0x7FFF
                pos += 4
            fields.append((element, length, enterprise))
        found.append((template_id, Template(template_id, tuple(fields), options=options)))
    return found
