"""Hooks of the NetFlow store (listed in `PLUGIN.parts`): the retention permission, job and Opcare page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext

if TYPE_CHECKING:
    from flask import Blueprint

MANAGE = "netflow.settings.manage"


def _retention_job(ctx: JobContext) -> str:
    from mango_netflow.store.retention import run_retention

    return run_retention(ctx.session, ctx.location_id).summary()


RETENTION_JOB = Job(id="netflow:retention", label=_l("Remove flows older than the retention period"),
                    func=_retention_job, trigger={"trigger": "cron", "hour": 3, "minute": 17}, plugin="netflow")


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission(MANAGE, _l("Change NetFlow storage settings (how long flows are kept)"))]


@hookimpl
def mango_jobs() -> list[Job]:
    return [RETENTION_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_netflow.store.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Flow storage"), "netflow_store.index", MANAGE, section="network", order=75, icon="database")]
