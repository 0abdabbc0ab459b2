"""Running jobs: one transaction per location, a recorded run, failures rolled back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mango_core.db import utcnow
from mango_core.scheduler import runner
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.scheduler.models import JobRun
from mango_core.scheduler.service import describe_trigger, effective_trigger
from mango_core.tenancy import location_scope, operator_scope
from mango_example.models import ExampleNote


def all_runs(db) -> list[JobRun]:
    with operator_scope():
        return list(db.scalars(select(JobRun).order_by(JobRun.id)))


def notes_in(db, location_id: int) -> int:
    with location_scope(location_id):
        return db.scalar(select(func.count()).select_from(ExampleNote))


def add_notes(db, location_id: int, *texts: str) -> None:
    with location_scope(location_id):
        db.add_all(ExampleNote(text=t) for t in texts)
        db.commit()


def test_run_is_recorded_per_location_with_status_and_result(mango, world, db):
    add_notes(db, world.loc_a.id, "a", "b")
    add_notes(db, world.loc_a2.id, "c")  # KLA: not counted, the job does not run there
    before = utcnow()
    runs = runner.run_everywhere(mango, mango.jobs["example:count_notes"])
    assert len(runs) == 1
    run = runs[0]
    assert (run.job_id, run.location_id, run.status, run.result, run.error) == (
        "example:count_notes", world.loc_a.id, "ok", "2 notes", "")
    assert run.trigger == "schedule" and run.triggered_by_id is None
    assert before <= run.started_at <= run.finished_at
    assert [(r.job_id, r.location_id, r.status) for r in all_runs(db)] == [("example:count_notes", world.loc_a.id, "ok")]


def test_the_job_sees_only_its_location(mango, world, db):
    add_notes(db, world.loc_a.id, "prg")
    add_notes(db, world.loc_a2.id, "kla-1", "kla-2")
    seen = {}

    def peek(ctx: JobContext) -> str:
        seen[ctx.location_id] = sorted(n.text for n in ctx.session.scalars(select(ExampleNote)))
        return "peeked"

    job = Job(id="core:peek", label="Peek", func=peek)
    job.plugin = "core"
    runner.run_everywhere(mango, job)
    assert seen[world.loc_a.id] == ["prg"]
    assert seen[world.loc_a2.id] == ["kla-1", "kla-2"]
    assert seen[world.loc_b.id] == []


def test_run_is_visible_as_running_while_it_runs(mango, world, db):
    def look(ctx: JobContext) -> str:
        run = ctx.session.scalars(select(JobRun).where(JobRun.job_id == ctx.job_id)).one()
        return f"{run.status} as {run.trigger}"

    job = Job(id="example:look", label="Look", func=look, plugin="example")
    run = runner.run_job(mango, job, world.loc_a.id, trigger="manual", user_id=world.admin_a.id)
    assert run.result == "running as manual"
    assert run.triggered_by_id == world.admin_a.id


def test_failure_is_recorded_and_the_jobs_writes_are_rolled_back(mango, world, db):
    add_notes(db, world.loc_a.id, "kept")

    def explode(ctx: JobContext) -> str:
        ctx.session.add(ExampleNote(text="written by a failing job"))
        ctx.session.flush()
        raise ValueError("the device did not answer")

    job = Job(id="example:explode", label="Explode", func=explode, plugin="example")
    run = runner.run_job(mango, job, world.loc_a.id)
    assert run.status == "failed"
    assert run.result == ""
    assert run.finished_at is not None
    assert "ValueError: the device did not answer" in run.error
    assert "Traceback" in run.error and "in explode" in run.error
    assert notes_in(db, world.loc_a.id) == 1
    stored = all_runs(db)
    assert [(r.job_id, r.status) for r in stored] == [("example:explode", "failed")]


def test_one_failing_location_does_not_stop_the_others(mango, world, db):
    def fail_in_kla(ctx: JobContext) -> str:
        if ctx.location_id == world.loc_a2.id:
            raise RuntimeError("KLA is broken")
        return "fine"

    job = Job(id="core:picky", label="Picky", func=fail_in_kla, plugin="core")
    runs = {r.location_id: r.status for r in runner.run_everywhere(mango, job)}
    assert runs == {world.loc_a.id: "ok", world.loc_a2.id: "failed", world.loc_b.id: "ok"}


def test_inactive_location_is_skipped(mango, world, db):
    with operator_scope():
        world.loc_a2.is_active = False
        db.add(world.loc_a2)
        db.commit()
    job = mango.jobs["core:purge_job_runs"]
    assert sorted(loc.code for loc in runner.locations_for(mango, job)) == ["BRN", "PRG"]


def test_job_receives_its_plugin_settings(mango, world):
    def settings(ctx: JobContext) -> str:
        return str(ctx.settings["notes_per_page"])

    job = Job(id="example:settings", label="Settings", func=settings, plugin="example")
    assert runner.run_job(mango, job, world.loc_a.id).result == "50"


def test_unknown_trigger_is_refused(mango, world):
    with pytest.raises(ValueError, match="unknown trigger"):
        runner.run_job(mango, mango.jobs["example:count_notes"], world.loc_a.id, trigger="cron")


def test_interrupted_scheduled_runs_are_closed_by_the_next_scheduler(mango, world, db):
    with location_scope(world.loc_a.id):
        db.add_all([
            JobRun(job_id="example:count_notes", trigger="schedule", status="running"),
            JobRun(job_id="example:count_notes", trigger="manual", status="running"),
        ])
        db.commit()
    assert runner.mark_interrupted(mango) == 1
    db.expire_all()
    assert sorted((r.trigger, r.status) for r in all_runs(db)) == [("manual", "running"), ("schedule", "failed")]


def test_purge_job_runs_keeps_recent_and_latest_runs_of_its_location(mango, world, db):
    old = utcnow() - timedelta(days=120)
    with location_scope(world.loc_a.id):
        db.add_all([
            JobRun(job_id="example:count_notes", status="ok", started_at=old, result="old-1"),
            JobRun(job_id="example:count_notes", status="ok", started_at=old, result="old-2"),
            JobRun(job_id="example:count_notes", status="ok", started_at=utcnow(), result="recent"),
            JobRun(job_id="core:other", status="failed", started_at=old, result="old-but-latest"),
        ])
        db.commit()
    with location_scope(world.loc_a2.id):
        db.add(JobRun(job_id="example:count_notes", status="ok", started_at=old, result="kla-old-1"))
        db.add(JobRun(job_id="example:count_notes", status="ok", started_at=old, result="kla-old-2"))
        db.commit()
    run = runner.run_job(mango, mango.jobs["core:purge_job_runs"], world.loc_a.id)
    assert run.status == "ok", run.error
    assert run.result == "2 runs older than 90 days deleted"
    remaining = sorted(r.result for r in all_runs(db) if r.job_id != "core:purge_job_runs")
    assert remaining == ["kla-old-1", "kla-old-2", "old-but-latest", "recent"]


def test_trigger_can_be_overridden_by_configuration(mango, monkeypatch):
    job = mango.jobs["example:count_notes"]
    assert describe_trigger(effective_trigger(mango, job)) == "interval: minutes=15"
    monkeypatch.setitem(mango.settings.data, "scheduler",
                        {**mango.settings.section("scheduler"),
                         "triggers": {"example:count_notes": {"trigger": "interval", "seconds": 5}}})
    assert describe_trigger(effective_trigger(mango, job)) == "interval: seconds=5"
