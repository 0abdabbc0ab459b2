"""The example plugin's scheduled job."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.scheduler.jobs import Job, JobContext
from mango_example import service


def count_notes(ctx: JobContext) -> str:
    """Read-only, so safe to run again at any time."""
    return f"{service.count_notes(ctx.session)} notes"


COUNT_NOTES = Job(
    id="example:count_notes",
    label=_l("Count notes"),
    func=count_notes,
    trigger={"trigger": "interval", "minutes": 15},
)
