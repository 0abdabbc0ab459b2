"""Durable, batched writes of flows (INTERFACE — implemented by the store's author).

The collector and ``mango netflow replay`` hand every decoded :class:`~mango_netflow.flows.FlowBatch`
to one :class:`FlowWriter`; it buffers per location and exporter and writes blocks in their own
committed transactions. ``flush()`` writes everything buffered (the collector calls it on SIGTERM
and on a timer); ``close()`` flushes and releases the database.
"""

from __future__ import annotations

from mango_netflow.flows import FlowBatch


class FlowWriter:
    def __init__(self, mango, *, max_flows: int = 65536, max_seconds: float = 5.0) -> None:  # noqa: ANN001
        raise NotImplementedError("store writer not written yet")

    def add(self, batch: FlowBatch) -> None:
        raise NotImplementedError

    def flush(self) -> int:
        """Write everything buffered; the number of flows written."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
