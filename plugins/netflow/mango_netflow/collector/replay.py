"""``mango netflow replay``: captures and raw payloads through the collector's pipeline.

A file is a libpcap capture (recognised by its magic number: UDP datagrams, attributed to their
source address unless an exporter address is given) or a raw UDP payload (the whole file is one
packet; it needs the exporter address).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mango_netflow.collector.pipeline import Pipeline
from mango_netflow.collector.server import BATCH
from mango_netflow.decode.errors import DecodeError
from mango_netflow.decode.pcap import MAGIC, PcapReader


class ReplayError(ValueError):
    """A file cannot be replayed (unreadable, raw without an exporter)."""


@dataclass
class Summary:
    files: int = 0
    packets: int = 0
    flows: int = 0
    malformed: int = 0
    unknown: int = 0
    skipped: int = 0        # pcap packets that are not UDP datagrams
    missing_template: int = 0
    held: int = 0           # data sets still waiting for their template at the end
    seconds: float = 0.0

    @property
    def flows_per_second(self) -> float:
        return self.flows / self.seconds if self.seconds > 0 else 0.0


def _payloads(path: Path, exporter: str | None, summary: Summary) -> Iterator[tuple[bytes, str]]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ReplayError(f"{path}: {exc.strerror}") from None
    with stream:
        if stream.read(4) in MAGIC:
            stream.seek(0)
            try:
                reader = PcapReader(stream)
                try:
                    for datagram in reader:
                        yield datagram.payload, exporter or datagram.source
                finally:
                    summary.skipped += reader.skipped
            except DecodeError as exc:
                raise ReplayError(f"{path}: {exc}") from None
            return
        if exporter is None:
            raise ReplayError(f"{path}: a raw payload file needs --exporter ADDRESS to be attributed")
        stream.seek(0)
        yield stream.read(), exporter


def replay(pipeline: Pipeline, files: Iterable[str | Path], *, exporter: str | None = None,
           progress: Callable[[Summary], None] | None = None, every: float = 1.0) -> Summary:
    """Feed ``files`` in order; flushes the writer and writes the counters at the end."""
    summary = Summary()
    pipeline.refresh()
    started = last = time.monotonic()
    before = pipeline.totals.as_dict()
    try:
        for name in files:
            summary.files += 1
            chunk: list[tuple[bytes, str]] = []
            for payload, source in _payloads(Path(name), exporter, summary):
                chunk.append((payload, source))
                if len(chunk) < BATCH:
                    continue
                pipeline.feed_many(chunk)
                chunk = []
                if progress is not None and time.monotonic() - last >= every:
                    last = time.monotonic()
                    _fill(summary, pipeline, before, started)
                    progress(summary)
            pipeline.feed_many(chunk)
        pipeline.writer.flush()
    finally:
        pipeline.persist_counters()
    _fill(summary, pipeline, before, started)
    return summary


def _fill(summary: Summary, pipeline: Pipeline, before: dict[str, int], started: float) -> None:
    totals = pipeline.totals.as_dict()
    for name in ("packets", "flows", "malformed", "unknown"):
        setattr(summary, name, totals[name] - before[name])
    summary.missing_template = sum(stats.missing_template for stats in pipeline.decoder.stats.values())
    summary.held = pipeline.decoder.held()
    summary.seconds = time.monotonic() - started
