"""The job that applies scheduled service changes on their date (per location, safe to re-run)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.scheduler.jobs import Job, JobContext


def apply_service_changes(ctx: JobContext) -> str:
    from mango_core.services.lifecycle import apply_due

    return str(apply_due(ctx.session))


APPLY_SERVICE_CHANGES = Job(
    id="core:apply_service_changes",
    label=_l("Apply scheduled service changes"),
    func=apply_service_changes,
    # shortly after midnight, and again during the day for changes entered late for today
    trigger={"trigger": "cron", "hour": "0,6,12,18", "minute": 5},
)
