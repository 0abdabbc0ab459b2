"""``mango scheduler`` and ``mango jobs list|run``."""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from mango_core.scheduler import runner
from mango_core.scheduler.service import (
    SchedulerConfigError,
    SchedulerService,
    describe_trigger,
    effective_trigger,
)
from mango_core.tenancy import operator_scope
from mango_core.tenancy.models import Location


def _mango():  # noqa: ANN202
    return current_app.extensions["mango"]


@click.command("scheduler")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@with_appcontext
def scheduler_command(log_level: str) -> None:
    """Run the job scheduler until SIGTERM/SIGINT.

    Start it on as many machines as you like: one holds the lock and acts, the others wait
    as standby and take over when it stops.
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s",
                        stream=sys.stderr, force=True)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from mango_core.db.migrations import is_up_to_date

    mango = _mango()
    if not is_up_to_date(mango.db.engine, mango.plugins):
        click.secho("The database is not up to date: run `mango db upgrade` first.", fg="red", err=True)
        sys.exit(1)
    try:
        sys.exit(SchedulerService(current_app._get_current_object()).run())
    except SchedulerConfigError as exc:
        click.secho(f"Mango scheduler cannot start: {exc}", fg="red", err=True)
        sys.exit(2)


@click.group("jobs")
def jobs() -> None:
    """Scheduled jobs: list them, run one by hand."""


@jobs.command("list")
@with_appcontext
def jobs_list() -> None:
    """Every job with its plugin, schedule and the last run in each location."""
    mango = _mango()
    with operator_scope(), mango.db.session() as session:
        codes = {loc_id: code for loc_id, code in session.execute(select(Location.id, Location.code))}
        last = runner.last_runs(session)
    rows = [("ID", "PLUGIN", "TRIGGER", "LABEL", "LAST RUN")]
    with force_locale(mango.settings["default_locale"]):  # no request here to choose a language
        labels = {job_id: str(job.label) for job_id, job in mango.jobs.items()}
    for job in mango.jobs.values():
        runs = sorted((run for (job_id, _), run in last.items() if job_id == job.id),
                      key=lambda r: codes.get(r.location_id, ""))
        summary = ", ".join(
            f"{codes.get(r.location_id, r.location_id)} {r.status} {r.started_at:%Y-%m-%d %H:%M} UTC" for r in runs
        ) or "never"
        rows.append((job.id, runner.plugin_of(job), describe_trigger(effective_trigger(mango, job)), labels[job.id], summary))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])


@jobs.command("run")
@click.argument("job_id")
@click.option("--location", "location_code", metavar="CODE",
              help="Run only in this location (default: every location with the module enabled).")
@with_appcontext
def jobs_run(job_id: str, location_code: str | None) -> None:
    """Run JOB_ID once now; exits non-zero when any run failed."""
    mango = _mango()
    job = mango.jobs.get(job_id)
    if job is None:
        raise click.BadParameter(f"no job {job_id!r}; known jobs: {', '.join(sorted(mango.jobs)) or 'none'}",
                                 param_hint="JOB_ID")
    if location_code:
        with mango.db.session() as session:
            location = session.scalar(select(Location).where(Location.code == location_code))
        if location is None:
            raise click.BadParameter(f"no location with code {location_code!r}", param_hint="--location")
        if not mango.is_active(runner.plugin_of(job), location.id):
            click.secho(f"Module {runner.plugin_of(job)!r} is not enabled in {location.code}; nothing was run.",
                        fg="red", err=True)
            sys.exit(1)
        runs = [runner.run_job(mango, job, location.id, trigger="cli")]
        codes = {location.id: location.code}
    else:
        runs = runner.run_everywhere(mango, job, trigger="cli")
        with mango.db.session() as session:
            codes = {loc_id: code for loc_id, code in session.execute(select(Location.id, Location.code))}
        if not runs:
            click.echo(f"No active location has module {runner.plugin_of(job)!r} enabled; nothing was run.")
    for run in runs:
        if run.status == runner.OK:
            click.echo(f"{codes[run.location_id]}\tok\t{run.result}")
        else:
            last_line = run.error.strip().splitlines()[-1] if run.error.strip() else ""
            click.secho(f"{codes[run.location_id]}\tfailed\t{last_line}", fg="red")
    if any(run.status != runner.OK for run in runs):
        sys.exit(1)
