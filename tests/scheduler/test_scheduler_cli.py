"""``mango jobs list`` and ``mango jobs run`` (through Flask's CLI runner, against the test database)."""

from __future__ import annotations

from sqlalchemy import select

from mango_core.cli import main
from mango_core.scheduler.jobs import Job
from mango_core.scheduler.models import JobRun
from mango_core.tenancy import location_scope, operator_scope
from mango_example.models import ExampleNote


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(main, list(args))


def runs(db) -> list[JobRun]:
    with operator_scope():
        return list(db.scalars(select(JobRun).order_by(JobRun.id)))


def test_jobs_run_everywhere_enabled(app, world, db):
    with location_scope(world.loc_a.id):
        db.add(ExampleNote(text="x"))
        db.commit()
    result = invoke(app, "jobs", "run", "example:count_notes")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["PRG\tok\t1 notes"]
    assert [(r.location_id, r.trigger, r.status) for r in runs(db)] == [(world.loc_a.id, "cli", "ok")]


def test_core_job_runs_in_every_location(app, world, db):
    result = invoke(app, "jobs", "run", "core:purge_job_runs")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[:2] for line in result.output.splitlines()] == [["BRN", "ok"], ["KLA", "ok"], ["PRG", "ok"]]


def test_jobs_run_in_one_location(app, world, db):
    result = invoke(app, "jobs", "run", "core:purge_job_runs", "--location", "KLA")
    assert result.exit_code == 0, result.output
    assert [(r.location_id, r.job_id) for r in runs(db)] == [(world.loc_a2.id, "core:purge_job_runs")]


def test_jobs_run_refuses_a_location_without_the_module(app, world, db):
    result = invoke(app, "jobs", "run", "example:count_notes", "--location", "KLA")
    assert result.exit_code == 1
    assert "Module 'example' is not enabled in KLA" in result.output
    assert runs(db) == []


def test_jobs_run_unknown_job_or_location(app, mango, world):
    result = invoke(app, "jobs", "run", "example:nope")
    assert {"core:purge_job_runs", "example:count_notes"} <= set(mango.jobs)
    assert result.exit_code == 2 and f"known jobs: {', '.join(sorted(mango.jobs))}" in result.output
    result = invoke(app, "jobs", "run", "example:count_notes", "--location", "XXX")
    assert result.exit_code == 2 and "no location with code 'XXX'" in result.output


def test_jobs_run_exits_non_zero_when_a_run_failed(app, mango, world, db, monkeypatch):
    def explode(ctx):
        raise RuntimeError("modem on fire")

    monkeypatch.setitem(mango.jobs, "example:explode", Job(id="example:explode", label="Explode", func=explode,
                                                            plugin="example"))
    result = invoke(app, "jobs", "run", "example:explode")
    assert result.exit_code == 1
    assert "PRG\tfailed\tRuntimeError: modem on fire" in result.output
    assert [r.status for r in runs(db)] == ["failed"]


def test_jobs_list_shows_schedule_and_last_run_per_location(app, world, db):
    assert invoke(app, "jobs", "run", "example:count_notes").exit_code == 0
    result = invoke(app, "jobs", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "PLUGIN", "TRIGGER", "LABEL", "LAST", "RUN"]
    example = next(line for line in lines if line.startswith("example:count_notes"))
    assert "example" in example and "interval: minutes=15" in example and "Spočítat poznámky" in example
    assert "PRG ok " in example
    core = next(line for line in lines if line.startswith("core:purge_job_runs"))
    assert "cron: hour=3, minute=30" in core and core.rstrip().endswith("never")
