"""The way of every packet, shared by ``collect`` (UDP) and ``replay`` (files): source address →
exporter (or an unknown source, dropped and counted) → decoder → :class:`FlowWriter`.

Counters live in memory and are added to the database by :meth:`Pipeline.persist_counters`
(the collector calls it on a timer and when it stops). Malformed packets are logged at most once
per exporter and ``log_every`` seconds, with the number not logged since.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mango_netflow.collector import counters
from mango_netflow.collector.exporters import Target, address_map
from mango_netflow.decode import DecodeError, Decoder
from mango_netflow.flows import FlowBatch

log = logging.getLogger("mango_netflow.collector")


@dataclass
class Totals:
    """What this pipeline has seen since it started (the replay summary, the collector's log)."""

    packets: int = 0
    flows: int = 0
    malformed: int = 0
    unknown: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class _Quiet:
    """Rate limit of the malformed-packet log of one exporter."""

    last: float = 0.0
    suppressed: int = 0


@dataclass
class Pipeline:
    session_factory: Callable[[], Session]
    writer: object  # FlowWriter: add(batch), flush(), close()
    decoder: Decoder = field(default_factory=Decoder)
    log_every: float = 60.0
    # locations whose exporters are served (the plugin is enabled there); None: every location
    serves: Callable[[int], bool] | None = None
    targets: dict[str, Target] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)

    def __post_init__(self) -> None:
        self._persisted: dict[str, counters.Delta] = {}  # decoder counters already written, by address
        self._unknown = counters.Pending()
        self._quiet: dict[str, _Quiet] = {}
        self._addresses: dict[str, str] = {}
        self._store_error_logged = -float("inf")

    def refresh(self) -> None:
        """Reload the address → exporter map (new, changed, deactivated exporters)."""
        with self.session_factory() as session:
            targets = address_map(session)
        if self.serves is not None:
            allowed = {location: self.serves(location) for location in {t.location_id for t in targets.values()}}
            targets = {address: t for address, t in targets.items() if allowed[t.location_id]}
        self.targets = targets

    def source(self, address: str) -> str:
        """The stored form of a socket's source address (``::ffff:a.b.c.d`` → ``a.b.c.d``)."""
        known = self._addresses.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError:
                return address
            if ip.version == 6 and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            known = self._addresses[address] = ip.compressed
            if len(self._addresses) > 65536:  # a flood of spoofed sources must not grow memory
                self._addresses.clear()
        return known

    def feed(self, payload: bytes, address: str, now: float | None = None) -> int:
        """Decode one packet from ``address`` and hand its flows to the writer; the flows' count."""
        return self.feed_many([(payload, address)], now)

    def feed_many(self, datagrams: list[tuple[bytes, str]], now: float | None = None) -> int:
        """Like :meth:`feed` for many packets: the records of one template are decoded together."""
        known: list[tuple[bytes, str]] = []
        for payload, raw_address in datagrams:
            self.totals.packets += 1
            address = self.source(raw_address)
            if address in self.targets:
                known.append((payload, address))
            else:
                self._unknown_packet(address)
        if not known:
            return 0
        by_exporter, errors = self.decoder.decode_many(known, now)
        for address, index, exc in errors:
            self.totals.malformed += 1
            self._log_malformed(address, self.targets[address], exc, len(known[index][0]))
        count = 0
        for address, flows in by_exporter.items():
            if len(flows):
                target = self.targets[address]
                try:
                    self.writer.add(FlowBatch(target.location_id, target.exporter_id, flows))
                except (SQLAlchemyError, OSError):
                    # the writer keeps what it took but could not write (it retries on the next flush);
                    # a database that is away must not stop the receiving
                    self._log_store_error()
                count += len(flows)
        self.totals.flows += count
        return count

    def _unknown_packet(self, address: str) -> None:
        self.totals.unknown += 1
        wall = time.time()
        seen = self._unknown.unknown.get(address)
        if seen is None:
            if len(self._unknown.unknown) >= 10000:  # bounded between writes; the rest only in totals
                return
            seen = self._unknown.unknown[address] = counters.Unknown(first=wall)
        seen.packets += 1
        seen.last = wall

    def _log_store_error(self) -> None:
        now = time.monotonic()
        if now - self._store_error_logged >= self.log_every:
            self._store_error_logged = now
            log.exception("could not write flows; they stay buffered and are retried")

    def _log_malformed(self, address: str, target: Target, exc: DecodeError, size: int) -> None:
        quiet = self._quiet.setdefault(address, _Quiet())
        now = time.monotonic()
        if quiet.last and now - quiet.last < self.log_every:
            quiet.suppressed += 1
            return
        more = f" ({quiet.suppressed} more since the last report)" if quiet.suppressed else ""
        log.warning("malformed packet of %d bytes from %s (%s): %s%s", size, address, target.name, exc, more)
        quiet.last, quiet.suppressed = now, 0

    def tick(self, now: float | None = None) -> None:
        """Periodic work: drop data sets held too long for their template."""
        self.decoder.expire(now)

    def pending(self) -> counters.Pending:
        """Counters not written yet (and marks them written)."""
        pending, self._unknown = self._unknown, counters.Pending()
        for address, stats in self.decoder.stats.items():
            target = self.targets.get(address)
            done = self._persisted.setdefault(address, counters.Delta())
            delta = counters.Delta(**{name: getattr(stats, name) - getattr(done, name) for name in counters.COUNTERS},
                                   last_packet=stats.last_packet)
            if delta.empty():
                continue
            for name in counters.COUNTERS:
                setattr(done, name, getattr(stats, name))
            if target is not None:
                into = pending.exporters.setdefault(target.exporter_id, counters.Delta())
                for name in counters.COUNTERS:
                    setattr(into, name, getattr(into, name) + getattr(delta, name))
                into.last_packet = max(into.last_packet or 0, delta.last_packet or 0) or None
        return pending

    def persist_counters(self) -> None:
        pending = self.pending()
        if not pending:
            return
        with self.session_factory() as session:
            counters.persist(session, pending)
