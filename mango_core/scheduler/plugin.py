"""The core's scheduler module, registered through the hooks."""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler import models
from mango_core.scheduler.jobs import Job
from mango_core.web.menu import MenuItem


@hookimpl
def mango_models() -> list[type]:
    return [models.JobRun]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.jobs.view", _l("View scheduled jobs and their runs")),
        Permission("core.jobs.run", _l("Run a scheduled job by hand")),
    ]


@hookimpl
def mango_settings() -> dict[str, Any]:
    from mango_core.scheduler.housekeeping import KEEP_DAYS_DEFAULT

    return {"job_runs_keep_days": KEEP_DAYS_DEFAULT}


@hookimpl
def mango_jobs() -> list[Job]:
    from mango_core.scheduler.housekeeping import PURGE_JOB_RUNS

    return [PURGE_JOB_RUNS]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_core.scheduler.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [MenuItem(_l("Scheduled jobs"), "core_jobs.runs", "core.jobs.view", section="admin", order=80,
                     icon="clock-history")]


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_core.scheduler.commands import jobs, scheduler_command

    cli.add_command(scheduler_command)
    cli.add_command(jobs)
