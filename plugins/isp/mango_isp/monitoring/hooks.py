"""Hooks of monitoring (listed in `PLUGIN.parts`): permissions, the ``isp:monitor`` and ``isp:snmp`` jobs,
Opcare pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job, JobContext

if TYPE_CHECKING:
    from flask import Blueprint


def _monitor_job(ctx: JobContext) -> str:
    from mango_isp.monitoring.service import run_checks

    return str(run_checks(ctx.session, ctx.settings))


MONITOR_JOB = Job(id="isp:monitor", label=_l("Check reachability of devices (ICMP)"), func=_monitor_job,
                  trigger={"trigger": "interval", "minutes": 1}, plugin="isp")


def _snmp_job(ctx: JobContext) -> str:
    from mango_isp.monitoring.traffic import run_poll

    return str(run_poll(ctx.session, ctx.settings))


SNMP_JOB = Job(id="isp:snmp", label=_l("Read interface counters of devices (SNMP)"), func=_snmp_job,
               trigger={"trigger": "interval", "minutes": 5}, plugin="isp")


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("isp.monitoring.view", _l("View device monitoring, outages and alerts")),
            Permission("isp.monitoring.manage", _l("Change monitoring settings"))]


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {
        "monitor_count": 3,        # echoes per device and check
        "monitor_timeout": 1.0,    # seconds to wait after the last echo
        "monitor_interval": 0.2,   # seconds between a device's echoes
        "monitor_rate": 5000,      # echoes per second at most (all devices together)
        "monitor_keep_days": 30,   # latency samples kept this long
        "monitor_netns": "",       # ping from this network namespace (a management VRF); empty: the host's
        "snmp_timeout": 2.0,       # seconds to wait for an SNMP answer
        "snmp_retries": 1,         # repeats of an unanswered SNMP request
        "snmp_concurrency": 50,    # agents polled at once
        "snmp_max_interfaces": 5000,  # interfaces read per device at most
    }


@hookimpl
def mango_jobs() -> list[Job]:
    return [MONITOR_JOB, SNMP_JOB]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_isp.monitoring.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[Any]:
    from mango_core.web.menu import MenuItem

    return [MenuItem(_l("Monitoring"), "isp_monitoring.index", "isp.monitoring.view", section="network", order=60,
                     icon="activity")]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """``device_card``: the device's monitoring state, 7-day availability and a link to its history."""
    if slot != "device_card" or context.get("device") is None:
        return None
    from mango_isp.monitoring.views import render_device_slot

    return render_device_slot(context["device"]) or None
