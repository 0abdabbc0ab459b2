"""Reading stored flows.

``flows(session, location_id, start, end, ...)`` returns the flows of a location whose time span
[first, last] meets [start, end] (aware datetimes), as one array of
:data:`~mango_netflow.flows.STORED_DTYPE`, ordered by ``first``. Optional filters: ``address``
(matches src, dst, nat_src or nat_dst), ``port`` (matches sport, dport, nat_sport or nat_dport,
with ``address`` the port on that address's side), ``exporter_id``; ``limit`` caps the rows.

Blocks are chosen in SQL by time (``t_first`` between ``start - longest_block_ms`` and ``end``, so
that PostgreSQL prunes partitions, and ``t_last ≥ start``) and, with an address, by their Bloom
filter (PostgreSQL tests an 8-byte slice of it in SQL, reading no more of it; SQLite in Python); the
flows of the chosen blocks are filtered exactly on their shuffled columns
(:func:`~mango_netflow.store.block.select_rows`).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mango_netflow.flows import FLOW_DTYPE, STORED_DTYPE, pack_address
from mango_netflow.store.block import bloom_holds, probe, select_rows, summary_hash
from mango_netflow.store.models import FlowBlock, StoreSettings

Address = str | ipaddress.IPv4Address | ipaddress.IPv6Address

_BATCH = 8  # blocks whose data is fetched at once


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("flows() needs aware datetimes (UTC or with a zone)")
    return int(round(moment.timestamp() * 1000))


def _bloom_condition(key: int):  # noqa: ANN202
    """SQL: the block's Bloom filter has ``key`` (one 8-byte slice of the EXTERNAL value is read)."""
    mask = probe(key, 1)[1]
    return text(
        "(('x' || encode(substring(netflow_block.bloom from "
        "((:bloom_low % netflow_block.bloom_words) * 8 + 1)::int for 8), 'hex'))::bit(64)::bigint "
        "& CAST(:bloom_mask AS bigint)) = CAST(:bloom_mask AS bigint)"
    ).bindparams(bloom_low=key & 0xFFFFFFFFFF, bloom_mask=mask)


def flows(session: Session, location_id: int, start: datetime, end: datetime, *,
          address: Address | None = None, port: int | None = None, exporter_id: int | None = None,
          limit: int | None = None) -> np.ndarray:
    start_ms, end_ms = to_ms(start), to_ms(end)
    if address is not None and not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        address = ipaddress.ip_address(str(address).strip())
    if port is not None and not 0 <= int(port) <= 65535:
        raise ValueError(f"port {port} is not 0–65535")
    if end_ms < start_ms or (limit is not None and limit <= 0):
        return np.zeros(0, STORED_DTYPE)
    postgres = session.get_bind().dialect.name == "postgresql"
    # no block is longer than the location's longest: a constant lower bound on t_first lets PostgreSQL
    # prune the partitions before start − longest and bound the index scan (-1 or none: no bound)
    longest = session.scalar(select(StoreSettings.longest_block_ms).where(StoreSettings.location_id == location_id))

    key = summary_hash(address, port) if address is not None else None
    in_python = key is not None and not postgres
    query = (select(FlowBlock.id, FlowBlock.t_first, FlowBlock.flows, FlowBlock.exporter_id,
                    *([FlowBlock.bloom, FlowBlock.bloom_words] if in_python else []))
             .where(FlowBlock.location_id == location_id, FlowBlock.t_first <= end_ms, FlowBlock.t_last >= start_ms)
             .order_by(FlowBlock.t_first, FlowBlock.id))
    if longest is not None and longest >= 0 and start_ms - longest > -(2**63):
        query = query.where(FlowBlock.t_first >= start_ms - longest)
    if exporter_id is not None:
        query = query.where(FlowBlock.exporter_id == exporter_id)
    if key is not None and postgres:
        query = query.where(_bloom_condition(key))
    # the guarded query picks the blocks (only the scope's); their data comes in batches after
    chosen = [row for row in session.execute(query)
              if not in_python or bloom_holds(row.bloom, row.bloom_words, key)]
    packed = pack_address(address) if address is not None else None

    found: list[np.ndarray] = []
    total = 0
    kth_first = 0
    for at in range(0, len(chosen), _BATCH):
        batch = chosen[at:at + _BATCH]
        if limit is not None and total >= limit and batch[0].t_first > kth_first:
            break  # every later block starts after the limit-th flow found so far
        data = _data(session, location_id, batch, postgres)
        for row in batch:
            if limit is not None and total >= limit and row.t_first > kth_first:
                break
            block = select_rows(data[row.id], row.flows, row.t_first, start_ms, end_ms, packed, port)
            if not len(block):
                continue
            stored = np.empty(len(block), STORED_DTYPE)
            for name in FLOW_DTYPE.names:
                stored[name] = block[name]
            stored["exporter_id"] = row.exporter_id
            found.append(stored)
            total += len(stored)
            if limit is not None and total >= limit:
                kth_first = np.partition(np.concatenate([f["first"] for f in found]), limit - 1)[limit - 1]
    if not found:
        return np.zeros(0, STORED_DTYPE)
    result = np.concatenate(found)
    result = result[np.argsort(result["first"], kind="stable")]
    return result[:limit] if limit is not None else result


def _data(session: Session, location_id: int, rows: list, postgres: bool) -> dict[int, bytes]:
    """The compressed data of blocks already chosen by a guarded query. On PostgreSQL in binary
    format: half the bytes of the default text format and no hex decoding (a block is ~1 MB)."""
    if not postgres:
        ids = [row.id for row in rows]
        return dict(session.execute(select(FlowBlock.id, FlowBlock.data).where(FlowBlock.id.in_(ids))).all())
    cursor = session.connection().connection.driver_connection.cursor(binary=True)
    cursor.execute("SELECT id, data FROM netflow_block WHERE location_id = %s AND id = ANY(%s) AND t_first = ANY(%s)",
                   (location_id, [row.id for row in rows], [row.t_first for row in rows]))
    return {block_id: bytes(data) for block_id, data in cursor.fetchall()}
