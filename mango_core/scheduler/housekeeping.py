"""The core's own scheduled job: keeping the job-run table of each location small.

Jobs run per location, so the core's housekeeping job is one that makes sense per location:
every location's run history is trimmed to ``job_runs_keep_days`` (core setting), keeping the
latest run of each job so the job list always shows when a job last ran. Purging old login
attempts is operator-level work (those rows belong to no location) and does not fit a
per-location job; it belongs to an operator command or to the auth module's own maintenance.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from mango_core.db import utcnow
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.scheduler.models import JobRun

KEEP_DAYS_DEFAULT = 90


def purge_job_runs(ctx: JobContext) -> str:
    """Delete finished runs older than the limit (the tenant guard keeps it to this location)."""
    keep_days = int(ctx.settings.get("job_runs_keep_days", KEEP_DAYS_DEFAULT))
    cutoff = utcnow() - timedelta(days=keep_days)
    latest = select(func.max(JobRun.id)).group_by(JobRun.job_id, JobRun.location_id).scalar_subquery()
    result = ctx.session.execute(
        delete(JobRun)
        .where(JobRun.started_at < cutoff, JobRun.status != "running", JobRun.id.not_in(latest))
        .execution_options(synchronize_session=False)
    )
    return f"{result.rowcount or 0} runs older than {keep_days} days deleted"


PURGE_JOB_RUNS = Job(
    id="core:purge_job_runs",
    label=_l("Delete old job runs"),
    func=purge_job_runs,
    trigger={"trigger": "cron", "hour": 3, "minute": 30},
)
