"""Durable, batched writes of flows.

The collector and ``mango netflow replay`` hand every decoded :class:`~mango_netflow.flows.FlowBatch`
to one :class:`FlowWriter`; it buffers per location and exporter and writes blocks (see
:mod:`mango_netflow.store.block`) in their own committed transactions: a buffer is written when it
holds ``max_flows`` flows or its oldest flow has waited ``max_seconds`` (checked on every ``add`` and
``flush_due``). ``flush()`` writes everything buffered (the collector calls it on SIGTERM and on a
timer); ``close()`` flushes and releases the writer's database connection.

Blocks are written by a background thread (``background``; on by default, off in tests, whose
session is shared with the test): the receiving loop goes on while a block is compressed and while
PostgreSQL commits it (an fsync that takes a second must not cost a second of UDP packets). At most
``QUEUE_BLOCKS`` blocks wait for the thread; then ``add`` waits (memory stays bounded). A block that
fails is retried every second; ``flush``/``close`` raise :class:`WriterError` while blocks cannot be
written (they stay queued).

What a crash (not a clean stop) can lose: the buffered flows — at most ``max_flows`` per exporter,
never older than ``max_seconds`` when the collector calls ``flush_due`` on its timer — plus the
blocks queued for the thread (at most ``QUEUE_BLOCKS``). A block is one transaction: after a crash
it is there whole or not at all.

On PostgreSQL a block goes in by binary COPY (no parameter adaptation, no text escaping of the
bytea values); on SQLite by one INSERT.
"""

from __future__ import annotations

import itertools
import logging
import queue
import struct
import threading
import time
from datetime import date

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mango_netflow.flows import FLOW_DTYPE, FlowBatch
from mango_netflow.store import partitions
from mango_netflow.store.block import FORMAT, Block, encode
from mango_netflow.store.models import DEFAULT_RETENTION_MONTHS

log = logging.getLogger(__name__)

_COPY = ("COPY netflow_block (location_id, exporter_id, t_first, t_last, flows, format, bloom, bloom_words, data) "
         "FROM STDIN (FORMAT BINARY)")
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_MAX_SPAN = 2**62  # longer (garbage times): the readers' start − span would leave BIGINT
UNBOUNDED = -1      # longest_block_ms of a location with such a block: readers use no lower bound
QUEUE_BLOCKS = 8
RETRY_SECONDS = 1.0


class WriterError(RuntimeError):
    """Blocks could not be written (they stay queued and are retried)."""


class _Buffer:
    __slots__ = ("arrays", "count", "since")

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.count = 0
        self.since = time.monotonic()


class FlowWriter:
    def __init__(self, mango, *, max_flows: int = 32768, max_seconds: float = 5.0,  # noqa: ANN001
                 background: bool | None = None) -> None:
        if max_flows < 1 or max_seconds <= 0:
            raise ValueError("max_flows must be ≥ 1 and max_seconds > 0")
        self.max_flows = max_flows
        self.max_seconds = max_seconds
        # a session of the application's factory: in tests it joins the test's transaction
        self._session = mango.db.Session()
        self._dialect = mango.db.dialect
        self._buffers: dict[tuple[int, int], _Buffer] = {}
        self._days: dict[date, bool] = {}       # partition of the day exists (else: default partition)
        self._longest: dict[int, int] = {}      # location → longest block span known to be recorded
        self.flows_written = 0
        self.blocks_written = 0
        self._closed = False
        if background is None:
            background = not mango.settings.get("testing", False)
        self._queue: queue.Queue | None = None
        if background:
            self._queue = queue.Queue(maxsize=QUEUE_BLOCKS)
            self._pending = 0          # blocks handed to the thread and not written yet
            self._pending_flows = 0
            self._lock = threading.Lock()
            self._error: BaseException | None = None
            self._failures = 0
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="netflow-writer", daemon=True)
            self._thread.start()

    # --- buffering -------------------------------------------------------------------------

    def add(self, batch: FlowBatch) -> None:
        if self._closed:
            raise RuntimeError("the flow writer is closed")
        if batch.flows.dtype != FLOW_DTYPE:
            raise TypeError(f"flows must be of FLOW_DTYPE, not {batch.flows.dtype}")
        if not len(batch.flows):
            self.flush_due()
            return
        key = (int(batch.location_id), int(batch.exporter_id))
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = _Buffer()
        buffer.arrays.append(batch.flows)
        buffer.count += len(batch.flows)
        if buffer.count >= self.max_flows:
            self._write_buffer(key, full_only=True)
        self.flush_due()

    def flush_due(self) -> int:
        """Write the buffers whose oldest flow waited ``max_seconds``; the number of flows written."""
        now = time.monotonic()
        due = [key for key, buffer in self._buffers.items() if now - buffer.since >= self.max_seconds]
        return sum(self._write_buffer(key) for key in due)

    def flush(self) -> int:
        """Write everything buffered (and wait for the thread); the number of flows written."""
        written = sum(self._write_buffer(key) for key in list(self._buffers))
        if self._queue is not None:
            self._drain()
        return written

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            if self._queue is not None:
                self._stop.set()
                self._queue.put(None)
                self._thread.join()
            self._session.close()

    @property
    def buffered(self) -> int:
        """Flows not written yet (in buffers, or queued for the thread)."""
        queued = self._pending_flows if self._queue is not None else 0
        return sum(b.count for b in self._buffers.values()) + queued

    # --- the background thread ---------------------------------------------------------------

    def _hand_over(self, location_id: int, exporter_id: int, flows: np.ndarray) -> None:
        if self._queue is None:
            self._write_block(location_id, exporter_id, flows)
            return
        with self._lock:
            self._pending += 1
            self._pending_flows += len(flows)
        self._queue.put((location_id, exporter_id, flows))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            location_id, exporter_id, flows = item
            while True:
                try:
                    self._write_block(location_id, exporter_id, flows)
                except Exception as exc:  # noqa: BLE001 - kept and retried; flush() reports it
                    self._error = exc
                    self._failures += 1
                    log.exception("netflow: a block of %d flows could not be written; retrying", len(flows))
                    if self._stop.wait(RETRY_SECONDS):
                        return
                    continue
                with self._lock:
                    self._pending -= 1
                    self._pending_flows -= len(flows)
                break

    def _drain(self) -> None:
        """Wait until the thread has written every block handed over; raise when it fails meanwhile."""
        failures = self._failures
        while self._pending:
            if self._failures > failures:
                raise WriterError(f"flow blocks cannot be written: {self._error}") from self._error
            time.sleep(0.005)

    def __enter__(self) -> FlowWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------

    def _write_buffer(self, key: tuple[int, int], *, full_only: bool = False) -> int:
        """Hand a buffer's flows over as blocks of one day (one partition) each, of ``max_flows`` at most;
        with ``full_only`` the partly filled rest of each day waits for more flows."""
        buffer = self._buffers.pop(key)
        flows = buffer.arrays[0] if len(buffer.arrays) == 1 else np.concatenate(buffer.arrays)
        pending: list[np.ndarray] = []
        waiting: list[np.ndarray] = []
        days = flows["first"] // partitions.DAY_MS
        if days.min() == days.max():  # the usual case: no need to sort here (encode sorts each block)
            bounds = [0, len(flows)]
        else:
            order = np.argsort(flows["first"], kind="stable")
            flows, days = flows[order], days[order]
            bounds = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(flows)]
        for lo, hi in itertools.pairwise(bounds):
            for start in range(lo, hi, self.max_flows):
                chunk = flows[start:min(start + self.max_flows, hi)]
                (waiting if full_only and len(chunk) < self.max_flows else pending).append(chunk)
        written = 0
        try:
            while pending:
                self._hand_over(key[0], key[1], pending[0])
                written += len(pending.pop(0))
        finally:
            # what is not written stays buffered: a retry (or close) loses nothing
            left = pending + waiting
            if left:
                rest = _Buffer()
                rest.arrays, rest.count, rest.since = left, sum(len(a) for a in left), buffer.since
                self._buffers[key] = rest
        return written

    def _write_block(self, location_id: int, exporter_id: int, flows: np.ndarray) -> None:
        block = encode(flows)
        span = max(block.t_last - block.t_first, 0)
        if span > _MAX_SPAN:
            span = UNBOUNDED
        days = dict(self._days)
        try:
            self._conn = self._session.connection()
            longest = self._record_span(location_id, span)
            if self._dialect == "postgresql":
                self._ensure_partition(block.t_first)
                self._copy(location_id, exporter_id, block)
            else:
                self._conn.execute(text(
                    "INSERT INTO netflow_block (id, location_id, exporter_id, t_first, t_last, flows, format, bloom, "
                    "bloom_words, data) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM netflow_block), :loc, :exp, :tf, "
                    ":tl, :n, :fmt, :bloom, :words, :data)"),
                    {"loc": location_id, "exp": exporter_id, "tf": block.t_first, "tl": block.t_last, "n": block.count,
                     "fmt": FORMAT, "bloom": block.bloom, "words": block.bloom_words, "data": block.data})
            self._session.commit()
        except BaseException:
            self._session.rollback()
            self._days = days  # a partition made in the failed transaction is gone with it
            raise
        self._longest[location_id] = longest
        self.flows_written += block.count
        self.blocks_written += 1

    def _ensure_partition(self, t_first: int) -> None:
        day = partitions.day_of(t_first)
        if day not in self._days:
            try:
                with self._session.begin_nested():
                    self._days[day] = partitions.ensure(self._session.connection(), day)
            except SQLAlchemyError:  # the block goes to the default partition (retention deletes it there)
                log.exception("netflow: no partition for %s, writing into the default partition", day)
                self._days[day] = False

    def _record_span(self, location_id: int, span: int) -> int:
        """Keep ``netflow_store_settings.longest_block_ms`` ≥ every block span (the readers' lower bound)."""
        known = self._longest.get(location_id)
        if known is not None and (known == UNBOUNDED or UNBOUNDED < span <= known):
            return known
        greatest = "greatest" if self._dialect == "postgresql" else "max"
        self._conn.execute(text(
            "INSERT INTO netflow_store_settings (location_id, retention_months, longest_block_ms) "
            "VALUES (:loc, :months, :span) ON CONFLICT (location_id) DO UPDATE SET longest_block_ms = CASE "
            "WHEN netflow_store_settings.longest_block_ms < 0 OR excluded.longest_block_ms < 0 THEN -1 "
            f"ELSE {greatest}(netflow_store_settings.longest_block_ms, excluded.longest_block_ms) END"),
            {"loc": location_id, "months": DEFAULT_RETENTION_MONTHS, "span": span})
        return self._conn.execute(text("SELECT longest_block_ms FROM netflow_store_settings WHERE location_id = :loc"),
                                  {"loc": location_id}).scalar_one()

    def _copy(self, location_id: int, exporter_id: int, block: Block) -> None:
        row = b"".join((
            struct.pack(">h", 9),
            struct.pack(">ii", 4, location_id), struct.pack(">ii", 4, exporter_id),
            struct.pack(">iq", 8, block.t_first), struct.pack(">iq", 8, block.t_last),
            struct.pack(">ii", 4, block.count), struct.pack(">ih", 2, FORMAT),
            struct.pack(">i", len(block.bloom)), block.bloom, struct.pack(">ii", 4, block.bloom_words),
            struct.pack(">i", len(block.data)), block.data,
        ))
        cursor = self._conn.connection.driver_connection.cursor()
        with cursor.copy(_COPY) as copy:
            copy.write(_COPY_HEADER + row + _COPY_TRAILER)
