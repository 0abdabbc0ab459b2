"""The scheduler service in-process: job registration, standby, stop, lost lock."""

from __future__ import annotations

import threading
import time

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from mango_core.scheduler.models import JobRun
from mango_core.scheduler.service import EXIT_LOCK_LOST, EXIT_STOPPED, SchedulerConfigError, SchedulerService
from mango_core.tenancy import operator_scope


class FakeLock:
    """Free after ``busy_tries`` attempts; ``held`` can be cleared to simulate a lost connection."""

    def __init__(self, busy_tries: int = 0):
        self.busy_tries = busy_tries
        self.attempts = 0
        self.held = False
        self.released = False

    def describe(self) -> str:
        return "fake lock"

    def acquire(self) -> bool:
        self.attempts += 1
        self.held = self.attempts > self.busy_tries
        return self.held

    def still_held(self) -> bool:
        return self.held

    def release(self) -> None:
        self.released = True
        self.held = False


def test_every_job_is_scheduled_with_its_trigger(app, mango):
    scheduler = SchedulerService(app, lock=FakeLock()).build_scheduler()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == set(mango.jobs)
    assert isinstance(jobs["example:count_notes"].trigger, IntervalTrigger)
    assert jobs["example:count_notes"].trigger.interval.total_seconds() == 15 * 60
    cron = jobs["core:purge_job_runs"].trigger
    assert isinstance(cron, CronTrigger) and str(cron.timezone) == "Europe/Prague"


def test_invalid_configured_trigger_is_a_clear_error(app, mango, monkeypatch):
    monkeypatch.setitem(mango.settings.data, "scheduler", {
        **mango.settings.section("scheduler"),
        "triggers": {"example:count_notes": {"trigger": "interval", "minuts": 5}},
    })
    with pytest.raises(SchedulerConfigError, match=r"example:count_notes: invalid trigger"):
        SchedulerService(app, lock=FakeLock()).build_scheduler()


def test_a_scheduled_firing_runs_in_every_enabled_location(app, world, db):
    SchedulerService(app, lock=FakeLock()).run_scheduled("example:count_notes")
    with operator_scope():
        runs = db.scalars(select(JobRun)).all()
    assert [(r.job_id, r.location_id, r.trigger, r.status) for r in runs] == [
        ("example:count_notes", world.loc_a.id, "schedule", "ok")]


def _start(service: SchedulerService) -> tuple[threading.Thread, dict]:
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("code", service.run()), daemon=True)
    thread.start()
    return thread, outcome


def _wait(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_standby_until_the_lock_frees_then_active_until_stopped(app, db, caplog):
    caplog.set_level("INFO", logger="mango.scheduler")
    lock = FakeLock(busy_tries=3)
    service = SchedulerService(app, lock=lock)
    service.retry_seconds = 0.05
    thread, outcome = _start(service)
    _wait(lambda: "Active:" in caplog.text)
    assert lock.attempts == 4
    assert caplog.text.count("Standby:") == 1  # announced once, not on every retry
    service.stop()
    thread.join(10)
    assert outcome["code"] == EXIT_STOPPED
    assert lock.released


def test_losing_the_lock_stops_the_scheduler(app, db, caplog):
    lock = FakeLock()
    service = SchedulerService(app, lock=lock)
    service.retry_seconds = 0.05
    thread, outcome = _start(service)
    _wait(lambda: lock.held)
    lock.held = False
    thread.join(10)
    assert outcome["code"] == EXIT_LOCK_LOST
    assert "Lost the scheduler lock" in caplog.text
