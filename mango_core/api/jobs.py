"""The job that forgets idempotency keys after their 24 hours (per location, safe to re-run)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.scheduler.jobs import Job, JobContext


def purge_idempotency_keys(ctx: JobContext) -> str:
    from mango_core.api.idempotency import purge

    return f"{purge(ctx.session)} removed"


PURGE_IDEMPOTENCY_KEYS = Job(
    id="core:purge_api_idempotency_keys",
    label=_l("Forget expired API idempotency keys"),
    func=purge_idempotency_keys,
    trigger={"trigger": "cron", "minute": 41},
)
