"""The scheduler process (``mango scheduler``).

One process per installation acts; any others started (a second machine, a restarted unit that
overlaps the old one) wait as standby until the lock frees. APScheduler runs the jobs in its
worker threads; the main thread supervises: it waits for SIGTERM/SIGINT, checks every
``standby_retry_seconds`` that the lock is still held, and on stop lets running jobs finish
before it releases the lock.

Settings (``[scheduler]``): ``timezone`` for cron triggers, ``standby_retry_seconds``, and
``triggers``, a table that re-times jobs without code changes::

    [scheduler.triggers]
    "example:count_notes" = { trigger = "interval", minutes = 5 }
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler

from mango_core.scheduler import runner
from mango_core.scheduler.jobs import Job
from mango_core.scheduler.locks import SchedulerLock, lock_for

if TYPE_CHECKING:
    from flask import Flask

    from mango_core.kernel import Mango

log = logging.getLogger("mango.scheduler")

class SchedulerConfigError(RuntimeError):
    """A job's trigger (from its plugin or ``[scheduler.triggers]``) cannot be used."""


# Exit codes of `mango scheduler`.
EXIT_STOPPED = 0
EXIT_LOCK_LOST = 3


def effective_trigger(mango: Mango, job: Job) -> dict[str, Any]:
    """The job's trigger, or the one configured for it in ``[scheduler.triggers]``."""
    overrides = mango.settings.section("scheduler").get("triggers") or {}
    return dict(overrides.get(job.id) or job.trigger)


def describe_trigger(trigger: dict[str, Any]) -> str:
    """``interval: minutes=15``, ``cron: hour=3, minute=30``."""
    kind = trigger.get("trigger", "?")
    args = ", ".join(f"{k}={v}" for k, v in trigger.items() if k != "trigger")
    return f"{kind}: {args}" if args else kind


class SchedulerService:
    def __init__(self, app: Flask, *, lock: SchedulerLock | None = None):
        self.app = app
        self.mango: Mango = app.extensions["mango"]
        cfg = self.mango.settings.section("scheduler")
        self.timezone = cfg.get("timezone") or self.mango.settings["default_timezone"]
        self.retry_seconds = float(cfg.get("standby_retry_seconds") or 15)
        self.lock = lock or lock_for(self.mango)
        self._stop = threading.Event()

    # --- lifecycle -------------------------------------------------------------------------

    def run(self) -> int:
        """Wait for the lock, schedule every job, run until told to stop. Returns an exit code."""
        previous = self._install_signal_handlers()
        try:
            log.info("Scheduler starting; lock: %s", self.lock.describe())
            if not self._wait_for_lock():
                log.info("Stopped while on standby.")
                return EXIT_STOPPED
            try:
                return self._run_active()
            finally:
                self.lock.release()
                log.info("Released the scheduler lock.")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def stop(self) -> None:
        self._stop.set()

    def _install_signal_handlers(self) -> dict[int, Callable | int | None]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("Received %s: stopping.", signal.Signals(signum).name)
        self._stop.set()

    def _wait_for_lock(self) -> bool:
        announced = False
        while not self._stop.is_set():
            if self.lock.acquire():
                return True
            if not announced:
                log.warning(
                    "Standby: another scheduler holds the %s; retrying every %g s.",
                    self.lock.describe(), self.retry_seconds,
                )
                announced = True
            else:
                log.debug("Standby: the lock is still held elsewhere.")
            self._stop.wait(self.retry_seconds)
        return False

    def _run_active(self) -> int:
        interrupted = runner.mark_interrupted(self.mango)
        if interrupted:
            log.warning("Marked %d scheduled run(s) left running by a previous scheduler as failed.", interrupted)
        scheduler = self.build_scheduler()
        log.info("Active: this process holds the scheduler lock; %d job(s) scheduled.", len(scheduler.get_jobs()))
        scheduler.start()
        code = EXIT_STOPPED
        try:
            while not self._stop.wait(self.retry_seconds):
                if not self.lock.still_held():
                    log.error("Lost the scheduler lock (database connection broken?); stopping so that "
                              "another scheduler can take over.")
                    code = EXIT_LOCK_LOST
                    break
        finally:
            log.info("Stopping: waiting for running jobs to finish.")
            scheduler.shutdown(wait=True)
            log.info("Scheduler stopped.")
        return code

    # --- jobs ------------------------------------------------------------------------------

    def build_scheduler(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            timezone=self.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        for job in self.mango.jobs.values():
            trigger = effective_trigger(self.mango, job)
            try:
                scheduler.add_job(self.run_scheduled, args=[job.id], id=job.id, name=job.id, **trigger)
            except (TypeError, ValueError, LookupError) as exc:
                raise SchedulerConfigError(f"Job {job.id}: invalid trigger {trigger!r}: {exc}") from exc
            log.info("Scheduled %s (%s).", job.id, describe_trigger(trigger))
        return scheduler

    def run_scheduled(self, job_id: str) -> None:
        """One firing of a job: a run in every location that has its module enabled."""
        job = self.mango.jobs[job_id]
        with self.app.app_context():
            runs = runner.run_everywhere(self.mango, job, trigger="schedule")
        failed = sum(1 for r in runs if r.status == runner.FAILED)
        log.info("Ran %s in %d location(s), %d failed.", job_id, len(runs), failed)
