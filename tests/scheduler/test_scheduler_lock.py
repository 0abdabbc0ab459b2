"""One active scheduler among several: real ``mango scheduler`` processes against a real database.

SQLite (a file lock next to the database) runs everywhere; PostgreSQL (a session-level advisory
lock) runs when ``MANGO_TEST_DATABASE_URL`` points to PostgreSQL, in a database of its own
(``<test database>_lock``) because the processes need a committed schema and data.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.scheduler.locks import FileLock, PostgresAdvisoryLock
from mango_core.scheduler.models import JobRun
from mango_core.tenancy import operator_scope
from mango_core.testing.fixtures import build_world
from mango_core.testing.live import server_database

TEST_URL = os.environ.get("MANGO_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_URL.startswith("postgresql")
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL: set MANGO_TEST_DATABASE_URL=postgresql+psycopg://…"
)

INSTANCE_TOML = """\
plugins = ["example"]

[scheduler]
standby_retry_seconds = 0.5

[scheduler.triggers]
"example:count_notes" = { trigger = "interval", seconds = 1 }
"core:purge_job_runs" = { trigger = "interval", seconds = 1 }
"""

TIMEOUT = 30


def mango_executable() -> str:
    found = Path(sys.executable).with_name("mango")
    return str(found) if found.exists() else (shutil.which("mango") or "mango")


# --- the locks themselves ----------------------------------------------------------------------


def test_file_lock_is_exclusive_and_released(tmp_path):
    first, second = FileLock(tmp_path / "db.scheduler-lock"), FileLock(tmp_path / "db.scheduler-lock")
    assert first.acquire()
    assert not second.acquire()
    assert (tmp_path / "db.scheduler-lock").read_text().strip() == str(os.getpid())
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.postgres_only
@needs_postgres
def test_advisory_lock_is_exclusive_and_released():
    engines = [create_engine(TEST_URL), create_engine(TEST_URL)]
    first, second = (PostgresAdvisoryLock(e, key=4242) for e in engines)
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.still_held()
        first.release()
        assert not first.still_held()
        assert second.acquire()
    finally:
        first.release()
        second.release()
        for engine in engines:
            engine.dispose()


# --- real processes ------------------------------------------------------------------------------


class Scheduler:
    """A ``mango scheduler`` process whose log goes to a file."""

    def __init__(self, name: str, env: dict[str, str], folder: Path):
        self.name = name
        self.log_path = folder / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [mango_executable(), "scheduler"], env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=folder
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def state(self) -> str | None:
        log = self.log
        if "Active:" in log:
            return "active"
        if "Standby:" in log:
            return "standby"
        return None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            self._log.close()


def wait_for(condition: Callable[[], bool], what: str, procs: list[Scheduler]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.name} (exit {p.proc.poll()}):\n{p.log}" for p in procs)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def scheduled_runs(engine, after=None) -> int:
    with operator_scope(), Session(engine) as session:
        query = select(func.count()).select_from(JobRun).where(JobRun.trigger == "schedule", JobRun.status == "ok")
        if after is not None:
            query = query.where(JobRun.started_at > after)
        return session.scalar(query)


def prepare_instance(folder: Path, database_url: str | None) -> dict[str, str]:
    """Instance folder + migrated database with the test world; returns the processes' env."""
    (folder / "mango.toml").write_text(INSTANCE_TOML)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANGO_")}
    env["MANGO_INSTANCE_PATH"] = str(folder)
    if database_url:
        env["MANGO_DATABASE_URL"] = database_url
    upgrade = subprocess.run([mango_executable(), "db", "upgrade"], env=env, capture_output=True, text=True,
                             cwd=folder, timeout=120)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    overrides = {"database_url": database_url} if database_url else {}
    app = create_app(settings=load_settings(overrides, instance_path=folder))
    mango = app.extensions["mango"]
    with mango.db.session() as session:
        build_world(session, mango)
        session.commit()
    mango.db.dispose()
    return env


@pytest.fixture
def postgres_lock_database(tmp_path) -> Iterator[str]:
    if not ON_POSTGRES:
        pytest.skip("needs PostgreSQL: set MANGO_TEST_DATABASE_URL=postgresql+psycopg://…")
    url, drop = server_database(tmp_path, "lock")
    try:
        yield url
    finally:
        drop()


def exactly_one_scheduler_acts(folder: Path, database_url: str | None) -> None:
    env = prepare_instance(folder, database_url)
    engine = create_engine(database_url or f"sqlite:///{folder / 'mango.sqlite3'}")
    procs = [Scheduler("first", env, folder), Scheduler("second", env, folder)]
    try:
        wait_for(lambda: all(p.state() for p in procs), "both schedulers to decide", procs)
        active = [p for p in procs if p.state() == "active"]
        assert len(active) == 1, [p.log for p in procs]
        (active,) = active
        (standby,) = [p for p in procs if p is not active]
        wait_for(lambda: scheduled_runs(engine) >= 2, "the active scheduler to run jobs", procs)
        assert standby.state() == "standby" and standby.proc.poll() is None

        active.stop(signal.SIGKILL)  # no clean-up at all: the lock must still free itself
        killed_at = time.time()
        wait_for(lambda: standby.state() == "active", "the standby to take over", procs)
        after = datetime.fromtimestamp(killed_at, UTC)
        wait_for(lambda: scheduled_runs(engine, after) >= 1, "the new active scheduler to run jobs", procs)

        assert standby.stop(signal.SIGTERM) == 0, standby.log
        log = standby.log
        assert "Stopping: waiting for running jobs to finish." in log
        assert "Released the scheduler lock." in log
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.stop(signal.SIGKILL)
        engine.dispose()


def test_one_active_scheduler_with_the_sqlite_file_lock(tmp_path):
    exactly_one_scheduler_acts(tmp_path, None)


@pytest.mark.postgres_only
def test_one_active_scheduler_with_the_postgres_advisory_lock(tmp_path, postgres_lock_database):
    exactly_one_scheduler_acts(tmp_path, postgres_lock_database)


def test_standby_stops_cleanly_on_sigterm(tmp_path):
    env = prepare_instance(tmp_path, None)
    holder = FileLock(tmp_path / "mango.sqlite3.scheduler-lock")
    assert holder.acquire()  # play the active scheduler
    proc = Scheduler("standby", env, tmp_path)
    try:
        wait_for(lambda: proc.state() == "standby", "standby", [proc])
        assert "retrying every 0.5 s" in proc.log
        assert proc.stop(signal.SIGTERM) == 0
        assert "Stopped while on standby." in proc.log
    finally:
        holder.release()
        if proc.proc.poll() is None:
            proc.stop(signal.SIGKILL)
