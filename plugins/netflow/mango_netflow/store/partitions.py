"""Daily range partitions of ``netflow_block`` on PostgreSQL (by ``t_first``, ms UTC).

Partitions live in the schema ``netflow_part`` (named ``block_YYYYMMDD``), beside a default
partition that takes blocks whose time is far from now (an exporter with a wrong clock, an old
capture replayed): creating a partition for a day already holding rows in the default partition
would fail, so only days near the present get one. Creating a partition takes a transaction-level
advisory lock, so that collectors on several hosts do not race.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, text

from mango_netflow.store.models import PARTITION_SCHEMA

DAY_MS = 86_400_000
AHEAD_DAYS = 2      # the writer and the job create partitions this far ahead
BEHIND_DAYS = 800   # and at most this far back (older blocks go to the default partition)
_LOCK = 0x6E66_7061  # "nfpa", advisory lock key for creating partitions
DEFAULT_NAME = "block_default"


@dataclass(frozen=True)
class Partition:
    name: str          # without schema
    lower: int | None  # ms, None for the default partition
    upper: int | None


def day_of(ms: int) -> date | None:
    """The UTC day of ``ms``; None beyond what a date holds (a garbage timestamp)."""
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def partition_name(day: date) -> str:
    return f"block_{day:%Y%m%d}"


def wanted(day: date | None, today: date | None = None) -> bool:
    """Whether ``day`` gets its own partition (else its blocks go to the default one)."""
    if day is None:
        return False
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=BEHIND_DAYS) <= day <= today + timedelta(days=AHEAD_DAYS)


def existing(conn: Connection) -> list[Partition]:
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = 'netflow_block' ORDER BY c.relname"))
    found = []
    for name, bound in rows:
        numbers = [int(n) for n in re.findall(r"\('?(-?\d+)'?\)", bound or "")]
        lower, upper = (numbers[0], numbers[1]) if len(numbers) == 2 else (None, None)
        found.append(Partition(name, lower, upper))
    return found


def ensure(conn: Connection, day: date | None) -> bool:
    """Create the partition of ``day`` unless it exists; False when it cannot have one (the caller
    writes into the default partition). Runs in the caller's transaction."""
    if not wanted(day):
        return False
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    name = partition_name(day)
    exists = conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": f"{PARTITION_SCHEMA}.{name}"}).scalar_one()
    if exists:
        return True
    in_default = conn.execute(text(
        f"SELECT EXISTS (SELECT 1 FROM {PARTITION_SCHEMA}.{DEFAULT_NAME} WHERE t_first >= :lo AND t_first < :hi)"),
        {"lo": day_ms(day), "hi": day_ms(day) + DAY_MS}).scalar_one()
    if in_default:
        return False
    conn.execute(text(
        f"CREATE TABLE {PARTITION_SCHEMA}.{name} PARTITION OF netflow_block "
        f"FOR VALUES FROM ({day_ms(day)}) TO ({day_ms(day) + DAY_MS})"))
    # already compressed: keep PostgreSQL from trying again (TOAST), on every partition
    conn.execute(text(f"ALTER TABLE {PARTITION_SCHEMA}.{name} ALTER COLUMN data SET STORAGE EXTERNAL, "
                      "ALTER COLUMN bloom SET STORAGE EXTERNAL"))
    return True


def ensure_ahead(conn: Connection, today: date | None = None) -> None:
    today = today or datetime.now(UTC).date()
    for offset in range(AHEAD_DAYS + 1):
        ensure(conn, today + timedelta(days=offset))


def drop_before(conn: Connection, cutoff_ms: int, *, dry_run: bool = False) -> list[str]:
    """Drop the partitions that end at or before ``cutoff_ms``; their names."""
    dropped = []
    for part in existing(conn):
        if part.upper is not None and part.upper <= cutoff_ms:
            dropped.append(part.name)
            if not dry_run:
                conn.execute(text(f"DROP TABLE {PARTITION_SCHEMA}.{part.name}"))
    return dropped
