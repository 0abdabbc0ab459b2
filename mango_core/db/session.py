"""Engine and session factory for one database URL."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from mango_core.tenancy import guard


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # SAVEPOINT and transactional DDL work (SQLAlchemy's documented pysqlite recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


class Database:
    """One engine and its tenant-guarded session factory."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        kwargs = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs.update(pool_pre_ping=True)
        self.engine: Engine = create_engine(url, echo=echo, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        self.Session = sessionmaker(self.engine, class_=guard.GuardedSession, expire_on_commit=False)
        guard.install(self.Session)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.Session()

    def dispose(self) -> None:
        self.engine.dispose()
