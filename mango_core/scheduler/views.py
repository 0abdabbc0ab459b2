"""Opcare page of scheduled jobs: their schedule, the runs in the current location, run now."""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from mango_core.auth.access import permission_required
from mango_core.auth.models import User
from mango_core.kernel import current_mango
from mango_core.scheduler import runner
from mango_core.scheduler.jobs import Job
from mango_core.scheduler.models import JobRun
from mango_core.scheduler.service import describe_trigger, effective_trigger
from mango_core.web.access import has_permission
from mango_core.web.request import db

bp = Blueprint("core_jobs", __name__, url_prefix="/jobs")

PAGE_SIZE = 25

STATUS_LABELS = {
    runner.RUNNING: _l("Running"),
    runner.OK: _l("Succeeded"),
    runner.FAILED: _l("Failed"),
}
STATUS_BADGES = {runner.RUNNING: "text-bg-warning", runner.OK: "text-bg-success", runner.FAILED: "text-bg-danger"}
TRIGGER_LABELS = {
    "schedule": _l("Scheduled"),
    "manual": _l("By hand (web)"),
    "cli": _l("By hand (command line)"),
}


def _jobs_here() -> dict[str, Job]:
    """Jobs whose module is enabled in the current location."""
    mango = current_mango()
    return {job_id: job for job_id, job in mango.jobs.items()
            if mango.is_active(runner.plugin_of(job), g.location_id)}


@bp.get("/")
@permission_required("core.jobs.view")
def runs():  # noqa: ANN201
    mango = current_mango()
    jobs = _jobs_here()
    job_filter = request.args.get("job", "")
    status_filter = request.args.get("status", "")
    query = select(JobRun).where(JobRun.job_id.in_(list(jobs)))
    if job_filter in jobs:
        query = query.where(JobRun.job_id == job_filter)
    else:
        job_filter = ""
    if status_filter in STATUS_LABELS:
        query = query.where(JobRun.status == status_filter)
    else:
        status_filter = ""
    s = db()
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    page_runs = list(s.scalars(query.order_by(JobRun.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    user_ids = {r.triggered_by_id for r in page_runs if r.triggered_by_id}
    users = {uid: name for uid, name in s.execute(select(User.id, User.name).where(User.id.in_(user_ids)))} if user_ids else {}
    last = {job_id: run for (job_id, _loc), run in runner.last_runs(s).items()}
    return render_template(
        "scheduler/jobs.html",
        jobs=[(job, describe_trigger(effective_trigger(mango, job)), last.get(job.id)) for job in jobs.values()],
        runs=page_runs,
        users=users,
        total=total,
        page=page,
        pages=pages,
        job_filter=job_filter,
        status_filter=status_filter,
        status_labels=STATUS_LABELS,
        status_badges=STATUS_BADGES,
        trigger_labels=TRIGGER_LABELS,
        can_run=has_permission("core.jobs.run"),
    )


@bp.post("/run")
@permission_required("core.jobs.run")
def run_now():  # noqa: ANN201
    """Run a job for the current location now, in this request, and record it as a manual run."""
    job = _jobs_here().get(request.form.get("job_id", ""))
    if job is None:
        abort(404)
    # The run commits in transactions of its own; end the request's read transaction first.
    db().commit()
    run = runner.run_job(current_mango(), job, g.location_id, trigger="manual", user_id=current_user.id)
    if run.status == runner.OK:
        flash(_l("Job %(job)s finished: %(result)s", job=job.label, result=run.result or "—"), "success")
    else:
        flash(_l("Job %(job)s failed; the error is shown in the run below.", job=job.label), "danger")
    return redirect(url_for("core_jobs.runs", job=job.id))
