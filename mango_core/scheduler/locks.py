"""The lock that lets exactly one scheduler act, however many are started.

* PostgreSQL: a session-level advisory lock held on a dedicated connection for as long as the
  process is active. When the process dies, its connection closes and the server releases the
  lock, so a standby on another machine takes over.
* SQLite (one machine by nature): an exclusive ``flock`` on a file next to the database; the
  kernel releases it when the process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from mango_core.kernel import Mango

LOCK_NAME = "mango.scheduler"
# pg advisory locks take a bigint; derive it from a fixed name so every node agrees.
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)


class SchedulerLockError(RuntimeError):
    pass


class SchedulerLock(Protocol):
    def acquire(self) -> bool:
        """Try once, without waiting; True when this process now holds the lock."""

    def still_held(self) -> bool:
        """False when the lock may have been lost (e.g. the database connection broke)."""

    def release(self) -> None: ...

    def describe(self) -> str: ...


class PostgresAdvisoryLock:
    def __init__(self, engine: Engine, key: int = LOCK_KEY):
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key} in database {self.engine.url.database!r}"

    def acquire(self) -> bool:
        conn = self.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
            conn.commit()  # the lock is session-level: it outlives the transaction
        except DBAPIError:
            conn.invalidate()
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except DBAPIError:
            return False
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            conn.commit()
        except DBAPIError:
            conn.invalidate()  # a dead connection released the lock already
        finally:
            conn.close()


class FileLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def describe(self) -> str:
        return f"file lock {self.path}"

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for humans: who is active
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def sqlite_lock_path(mango: Mango) -> Path:
    database = make_url(mango.db.url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return mango.settings.instance_path / "mango-scheduler.lock"
    path = Path(database)
    return path.with_name(f"{path.name}.scheduler-lock")


def lock_for(mango: Mango) -> SchedulerLock:
    dialect = mango.db.dialect
    if dialect == "postgresql":
        return PostgresAdvisoryLock(mango.db.engine)
    if dialect == "sqlite":
        return FileLock(sqlite_lock_path(mango))
    raise SchedulerLockError(f"No scheduler lock is implemented for {dialect}; use PostgreSQL or SQLite.")
