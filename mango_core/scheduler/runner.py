"""Running a job: once per location, in its own transaction, with a recorded run.

The same functions serve the scheduler process, ``mango jobs run`` and the "run now" button,
so a run by hand is recorded exactly like a scheduled one.

A run takes three short transactions:

1. the :class:`JobRun` row is written as ``running`` and committed, so the UI shows it;
2. the job's own work and the run's ``ok`` status commit together (one transaction), so a run is
   never marked ``ok`` without its work being stored;
3. on failure that transaction is rolled back and the ``failed`` status with the error is
   written in a transaction of its own.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.scheduler.models import JobRun
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location

if TYPE_CHECKING:
    from mango_core.kernel import Mango

log = logging.getLogger("mango.scheduler")

RUNNING, OK, FAILED = "running", "ok", "failed"
STATUSES = (RUNNING, OK, FAILED)
TRIGGERS = ("schedule", "manual", "cli")

MAX_RESULT = 4000
MAX_ERROR = 8000
TRACEBACK_FRAMES = 8


def plugin_of(job: Job) -> str:
    """The plugin owning a job (set by the kernel; the id's prefix for a job built by hand)."""
    return job.plugin or job.id.split(":", 1)[0]


def error_summary(exc: BaseException) -> str:
    """The exception and the innermost frames of its traceback, short enough to store."""
    text = "".join(traceback.format_exception(exc, limit=-TRACEBACK_FRAMES))
    return text if len(text) <= MAX_ERROR else "…" + text[-MAX_ERROR:]


def run_job(
    mango: Mango,
    job: Job,
    location_id: int,
    trigger: str = "schedule",
    user_id: int | None = None,
) -> JobRun:
    """Run ``job`` for one location and return its recorded (detached) run.

    The job's exception is recorded, logged and swallowed: one failing location must not stop
    the others. The caller decides whether the job may run there (see :func:`run_everywhere`).
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    with location_scope(location_id):
        with mango.db.session() as session:
            run = JobRun(job_id=job.id, trigger=trigger, triggered_by_id=user_id, status=RUNNING,
                         started_at=utcnow(), result="", error="")
            session.add(run)
            session.commit()
            run_id = run.id

        with mango.db.session() as session:
            ctx = JobContext(session=session, location_id=location_id, job_id=job.id,
                             settings=mango.plugin_settings(plugin_of(job)))
            try:
                result = job.func(ctx)
                session.flush()
                _finish(session, run_id, OK, result=str(result or "")[:MAX_RESULT])
                session.commit()
            except Exception as exc:
                session.rollback()
                log.exception("job %s failed in location %s", job.id, location_id)
                error = error_summary(exc)
            else:
                log.info("job %s in location %s: ok %s", job.id, location_id, result or "")
                error = None

        if error is not None:
            with mango.db.session() as session:
                _finish(session, run_id, FAILED, error=error)
                session.commit()

        with mango.db.session() as session:
            return session.get(JobRun, run_id)


def _finish(session: Session, run_id: int, status: str, *, result: str = "", error: str = "") -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(status=status, finished_at=utcnow(), result=result, error=error)
    )


def locations_for(mango: Mango, job: Job) -> list[Location]:
    """Active locations where the job's module is enabled today (core jobs: all of them)."""
    with mango.db.session() as session:
        locations = list(session.scalars(select(Location).where(Location.is_active.is_(True)).order_by(Location.code)))
    return [loc for loc in locations if mango.is_active(plugin_of(job), loc.id)]


def run_everywhere(
    mango: Mango, job: Job, trigger: str = "schedule", user_id: int | None = None
) -> list[JobRun]:
    """Run ``job`` once in every location that has its module enabled; skip the rest."""
    return [run_job(mango, job, loc.id, trigger=trigger, user_id=user_id) for loc in locations_for(mango, job)]


def mark_interrupted(mango: Mango) -> int:
    """Close scheduled runs left ``running`` by a scheduler that died.

    Called by a scheduler when it becomes the active one: only the active scheduler starts
    scheduled runs, so any still ``running`` belong to a process that is gone. Runs started by
    hand (CLI, web) may be in progress elsewhere and are left alone.
    """
    with operator_scope(), mango.db.session() as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.status == RUNNING, JobRun.trigger == "schedule")
            .values(status=FAILED, finished_at=utcnow(), error="Interrupted: the scheduler stopped during the run.")
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return result.rowcount or 0


def last_runs(session: Session) -> dict[tuple[str, int], JobRun]:
    """The latest run of every job per location in the session's scope: ``{(job_id, location_id): run}``."""
    latest = select(func.max(JobRun.id)).group_by(JobRun.job_id, JobRun.location_id)
    return {(run.job_id, run.location_id): run for run in session.scalars(select(JobRun).where(JobRun.id.in_(latest)))}
