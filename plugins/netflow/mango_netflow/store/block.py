"""The block format: flows of one exporter as one zstd frame of byte-shuffled columns.

Encoding (format 1), for ``n`` flows sorted by ``first``:

* every column of :data:`FLOW_DTYPE` in dtype order, transformed so that it compresses: ``first``
  as deltas from the previous flow (the first one from the block's ``t_first``), ``last`` as
  ``last - first``; all other columns as they are;
* each column byte-shuffled (byte 0 of every value, then byte 1, …): an IPv4-mapped address keeps
  twelve constant bytes and counters keep high zero bytes, which zstd then stores in almost nothing;
* the columns concatenated and compressed as one zstd frame (level :data:`LEVEL`).

The address summary (``bloom``) is a register-blocked Bloom filter of the block's keys: for each of
src, dst, nat_src and nat_dst that is present, the 64-bit hash of the address alone and of the address
with its port's bucket (``port >> PORT_SHIFT``; only for ports ≥ 1024 — a well-known port is shared by
too many flows to be worth a key, its lookups use the address key). A key sets :data:`BLOOM_BITS` bits
in one 64-bit big-endian word (``bloom_words`` words, :data:`BITS_PER_KEY` bits per distinct key), so a
lookup tests one 8-byte slice: PostgreSQL reads just that slice of the (uncompressed, EXTERNAL) value
and decides in SQL which blocks to send; about 1 % of the blocks without the key pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import zstandard

from mango_netflow.flows import FLOW_DTYPE, pack_address

FORMAT = 1
LEVEL = 1
PORT_SHIFT = 0  # exact ports: a CGNAT public address and port at a time is one subscriber's few flows
PORT_KEYS_FROM = 1024
BITS_PER_KEY = 12
BLOOM_BITS = 4

ADDRESS_SIDES = (("src", "sport"), ("dst", "dport"), ("nat_src", "nat_sport"), ("nat_dst", "nat_dport"))

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)
_PORT_SALT = np.uint64(0x27D4EB2F165667C5)
_NAMES = FLOW_DTYPE.names
_SIZES = [FLOW_DTYPE.fields[name][0].itemsize for name in _NAMES]
_ROW = FLOW_DTYPE.itemsize

_compressor = zstandard.ZstdCompressor(level=LEVEL)
_decompressor = zstandard.ZstdDecompressor()


class BlockError(ValueError):
    """A stored block that cannot be decoded (damaged, or of an unknown format)."""


@dataclass(frozen=True)
class Block:
    t_first: int
    t_last: int
    count: int
    bloom: bytes
    bloom_words: int
    data: bytes


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(29))
    h = h * _M3
    return h ^ (h >> np.uint64(32))


def address_hash(addresses: np.ndarray) -> np.ndarray:
    """64-bit hashes of a V16 address column."""
    halves = np.ascontiguousarray(addresses).view("<u8").reshape(-1, 2)
    return _mix(halves[:, 0] * _M1 ^ halves[:, 1] * _M2)


def port_hashes(hashes: np.ndarray, ports: np.ndarray) -> np.ndarray:
    bucket = (ports.astype(np.uint64) >> np.uint64(PORT_SHIFT)) + np.uint64(1)
    return _mix(hashes ^ bucket * _PORT_SALT)


def summary_hash(address, port: int | None) -> int:  # noqa: ANN001
    """The key a block holding ``address`` (with ``port`` on that address's side) has in its summary."""
    hashes = address_hash(np.frombuffer(pack_address(address), "V16"))
    if port is not None and port >= PORT_KEYS_FROM:
        hashes = port_hashes(hashes, np.array([port], np.uint16))
    return int(hashes[0])


def flow_hashes(flows: np.ndarray) -> np.ndarray:
    """Distinct 64-bit keys of the flows' present addresses, alone and with their port bucket."""
    parts = []
    for addr_name, port_name in ADDRESS_SIDES:
        column = np.ascontiguousarray(flows[addr_name])
        present = column.view("<u8").reshape(-1, 2).any(axis=1)
        if not present.all():
            column = column[present]
        if not len(column):
            continue
        hashes = address_hash(column)
        ports = flows[port_name][present]
        high = ports >= PORT_KEYS_FROM
        parts.append(hashes)
        parts.append(port_hashes(hashes[high], ports[high]))
    if not parts:
        return np.zeros(0, np.uint64)
    keys = np.sort(np.concatenate(parts))  # np.unique is several times slower here
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def probe(key: int, words: int) -> tuple[int, int]:
    """(word index, mask as a signed 64-bit value) that a block holding ``key`` has all bits of."""
    word = (key & 0xFFFFFFFFFF) % words
    mask = 0
    for i in range(BLOOM_BITS):
        mask |= 1 << ((key >> (40 + 6 * i)) & 63)
    return word, mask - (1 << 64) if mask >= 1 << 63 else mask


def bloom_of(hashes: np.ndarray) -> tuple[bytes, int]:
    words = max(1, -(-len(hashes) * BITS_PER_KEY // 64))
    index = (hashes & np.uint64(0xFFFFFFFFFF)) % np.uint64(words)
    mask = np.zeros(len(hashes), np.uint64)
    for i in range(BLOOM_BITS):
        mask |= np.uint64(1) << ((hashes >> np.uint64(40 + 6 * i)) & np.uint64(63))
    bloom = np.zeros(words, np.uint64)
    np.bitwise_or.at(bloom, index.astype(np.intp), mask)
    return bloom.astype(">u8").tobytes(), words


def bloom_holds(bloom: bytes, words: int, key: int) -> bool:
    word, mask = probe(key, words)
    value = int.from_bytes(bloom[8 * word:8 * word + 8], "big", signed=True)
    return value & mask == mask


def encode(flows: np.ndarray) -> Block:
    """One block of ``flows`` (of FLOW_DTYPE, at least one)."""
    if not len(flows):
        raise ValueError("a block holds at least one flow")
    first = flows["first"]
    if not (first[1:] >= first[:-1]).all():  # the writer sorts already
        flows = flows[np.argsort(first, kind="stable")]
    n = len(flows)
    t_first = int(flows["first"][0])
    t_last = int(flows["last"].max())
    out = np.empty(n * _ROW, np.uint8)
    pos = 0
    for name, size in zip(_NAMES, _SIZES, strict=True):
        column = flows[name]
        if name == "first":
            column = np.diff(column, prepend=t_first)
        elif name == "last":
            column = column - flows["first"]
        raw = np.ascontiguousarray(column).view(np.uint8).reshape(n, size)
        out[pos:pos + n * size] = raw.T.reshape(-1)
        pos += n * size
    data = _compressor.compress(out.data)
    bloom, words = bloom_of(flow_hashes(flows))
    return Block(t_first, t_last, n, bloom, words, data)


def decode(data: bytes, count: int, t_first: int) -> np.ndarray:
    """The flows of a block, as FLOW_DTYPE sorted by ``first``."""
    try:
        raw = np.frombuffer(_decompressor.decompress(data, max_output_size=count * _ROW), np.uint8)
    except zstandard.ZstdError as exc:
        raise BlockError(f"damaged block: {exc}") from exc
    if len(raw) != count * _ROW:
        raise BlockError(f"block holds {len(raw)} bytes, expected {count * _ROW}")
    flows = np.empty(count, FLOW_DTYPE)
    pos = 0
    for name, size in zip(_NAMES, _SIZES, strict=True):
        column = raw[pos:pos + count * size].reshape(size, count).T.copy().view(FLOW_DTYPE.fields[name][0]).reshape(count)
        flows[name] = column
        pos += count * size
    flows["first"] = np.cumsum(flows["first"]) + t_first
    flows["last"] += flows["first"]
    return flows


_OFFSETS = dict(zip(_NAMES, np.cumsum([0, *_SIZES[:-1]]).tolist(), strict=True))


def _planes(raw: np.ndarray, name: str, count: int) -> np.ndarray:
    size = FLOW_DTYPE.fields[name][0].itemsize
    start = _OFFSETS[name] * count
    return raw[start:start + size * count].reshape(size, count)


def _column(raw: np.ndarray, name: str, count: int, rows: np.ndarray | None = None) -> np.ndarray:
    planes = _planes(raw, name, count)
    if rows is not None:
        planes = planes[:, rows]
    return np.ascontiguousarray(planes.T).view(FLOW_DTYPE.fields[name][0]).reshape(-1)


def _equal_rows(planes: np.ndarray, value: bytes, rows: np.ndarray | None) -> np.ndarray:
    """Rows (of ``rows``, or all) whose byte-shuffled value is ``value``; the most varied bytes first."""
    for j in range(len(value) - 1, -1, -1):
        if rows is None:
            rows = np.flatnonzero(planes[j] == value[j])
        else:
            rows = rows[planes[j, rows] == value[j]]
        if not len(rows):
            break
    return rows


def select_rows(data: bytes, count: int, t_first: int, start_ms: int, end_ms: int,
                address: bytes | None = None, port: int | None = None) -> np.ndarray:
    """The block's flows that meet [start_ms, end_ms] and have ``address`` (16 bytes) and/or ``port``
    on one side, found on the shuffled columns without decoding the others; FLOW_DTYPE by ``first``."""
    if address is None and port is None:
        flows = decode(data, count, t_first)
        return flows[(flows["first"] <= end_ms) & (flows["last"] >= start_ms)]
    try:
        raw = np.frombuffer(_decompressor.decompress(data, max_output_size=count * _ROW), np.uint8)
    except zstandard.ZstdError as exc:
        raise BlockError(f"damaged block: {exc}") from exc
    if len(raw) != count * _ROW:
        raise BlockError(f"block holds {len(raw)} bytes, expected {count * _ROW}")
    port_bytes = int(port).to_bytes(2, "little") if port is not None else None
    found = []
    for addr_name, port_name in ADDRESS_SIDES:
        rows = None
        if address is not None:
            rows = _equal_rows(_planes(raw, addr_name, count), address, None)
        if port_bytes is not None:
            rows = _equal_rows(_planes(raw, port_name, count), port_bytes, rows)
        found.append(rows)
    rows = np.unique(np.concatenate(found))
    if not len(rows):
        return np.zeros(0, FLOW_DTYPE)
    first = np.cumsum(_column(raw, "first", count)[:rows[-1] + 1])[rows] + t_first
    last = first + _column(raw, "last", count, rows)
    keep = (first <= end_ms) & (last >= start_ms)
    rows, first, last = rows[keep], first[keep], last[keep]
    flows = np.empty(len(rows), FLOW_DTYPE)
    for name in _NAMES:
        flows[name] = first if name == "first" else last if name == "last" else _column(raw, name, count, rows)
    return flows
