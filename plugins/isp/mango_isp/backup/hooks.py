"""Hooks of config backup and NETCONF devices (a part of the ISP plugin: see mango_isp.plugin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.scheduler.jobs import Job


def _backup_job(ctx) -> str:  # noqa: ANN001
    from mango_isp.backup import service

    return str(service.backup_all(ctx.session))


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("isp.backup.view", _l("View stored device configurations and their differences")),
        Permission("isp.backup.manage", _l("Back up and restore device configurations, set NETCONF access")),
    ]


@hookimpl
def mango_jobs() -> list[Job]:
    from mango_core.scheduler.jobs import Job

    return [Job(id="isp:backup_configs", label=_l("Back up device configurations"), func=_backup_job,
                trigger={"trigger": "cron", "hour": 3, "minute": 15}, plugin="isp")]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_isp.backup.views import bp

    return [bp]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``device_card``: the last stored configuration and the "back up now" button."""
    if slot != "device_card" or context.get("device") is None:
        return None
    from mango_isp.backup.views import render_device_slot

    return render_device_slot(context["device"]) or None
