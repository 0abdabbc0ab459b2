"""``mango netflow collect``: the UDP loop.

One process, one socket, one core: receive → :class:`~mango_netflow.collector.pipeline.Pipeline`
→ :class:`~mango_netflow.store.writer.FlowWriter`. On a timer it flushes the writer, drops data
held too long for its template, writes the counters and reloads the exporters. ``stop`` (set by
SIGTERM/SIGINT in the command) ends the loop after the packet at hand; everything decoded is then
flushed and the counters written before the process exits.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from mango_netflow.collector.pipeline import Pipeline

log = logging.getLogger("mango_netflow.collector")

DEFAULT_PORT = 2055
RECEIVE_BUFFER = 32 * 1024 * 1024  # bytes; the kernel caps it at net.core.rmem_max
MAX_DATAGRAM = 65535
BATCH = 256  # datagrams read from the socket (without waiting) and decoded together


@dataclass
class Timers:
    flush: float = 1.0       # seconds between checks for writer buffers that are due (by age)
    counters: float = 10.0   # seconds between counter writes
    refresh: float = 30.0    # seconds between reloads of the exporter map
    log: float = 300.0       # seconds between summary log lines


def open_socket(bind: str, port: int, receive_buffer: int = RECEIVE_BUFFER) -> socket.socket:
    """A UDP socket on ``bind``:``port`` (``::`` also receives IPv4 where the system allows)."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.bind((bind, port))
    except OSError:
        sock.close()
        raise
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted < receive_buffer:
        log.warning("receive buffer is %d bytes, not %d: raise net.core.rmem_max to absorb bursts",
                    granted, receive_buffer)
    return sock


class Collector:
    def __init__(self, pipeline: Pipeline, sock: socket.socket, timers: Timers | None = None) -> None:
        self.pipeline = pipeline
        self.sock = sock
        self.timers = timers or Timers()
        self.stop = threading.Event()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def run(self) -> None:
        """Receive until :attr:`stop` is set, then flush everything and close the socket."""
        pipeline, sock, timers = self.pipeline, self.sock, self.timers
        sock.setblocking(False)
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        # buffers older than the writer's max_seconds are written; younger ones grow into bigger blocks
        flush_due = getattr(pipeline.writer, "flush_due", pipeline.writer.flush)
        pipeline.refresh()
        now = time.monotonic()
        next_flush, next_counters = now + timers.flush, now + timers.counters
        next_refresh, next_log = now + timers.refresh, now + timers.log
        log.info("collecting on %s with %d exporters", sock.getsockname()[:2], len(pipeline.targets))
        try:
            while not self.stop.is_set():
                # wake up at least every 0.2 s for the timers and the stop flag on a quiet link
                if poller.poll(200):
                    datagrams = self._drain()
                    if datagrams:
                        self._feed(datagrams)
                now = time.monotonic()
                if now < next_flush:
                    continue
                next_flush = now + timers.flush
                self._guarded("flush the flows", flush_due)
                pipeline.tick(now)
                if now >= next_counters:
                    next_counters = now + timers.counters
                    self._guarded("write the counters", pipeline.persist_counters)
                if now >= next_refresh:
                    next_refresh = now + timers.refresh
                    self._guarded("reload the exporters", pipeline.refresh)
                if now >= next_log:
                    next_log = now + timers.log
                    log.info("so far %s", pipeline.totals.as_dict())
        finally:
            self.close()

    def _feed(self, datagrams: list[tuple[bytes, str]]) -> None:
        try:
            self.pipeline.feed_many(datagrams)
        except Exception:  # noqa: BLE001 - a bug met by one batch must not stop the collection of all exporters
            log.exception("%d datagrams could not be handled and are lost", len(datagrams))

    def _drain(self) -> list[tuple[bytes, str]]:
        """What is waiting in the socket, up to :data:`BATCH` datagrams."""
        datagrams: list[tuple[bytes, str]] = []
        while len(datagrams) < BATCH:
            try:
                payload, peer = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            datagrams.append((payload, peer[0]))
        return datagrams

    def close(self) -> None:
        """The clean stop: what is buffered is written, the counters too."""
        try:
            self.sock.close()
            self.pipeline.writer.close()
            self.pipeline.persist_counters()
        finally:
            log.info("stopped after %s", self.pipeline.totals.as_dict())

    @staticmethod
    def _guarded(what: str, action) -> None:  # noqa: ANN001
        """A database that is away must not stop the receiving: log and try again next time."""
        try:
            action()
        except (SQLAlchemyError, OSError):
            log.exception("could not %s; trying again later", what)
