"""The job ``billing:gateway_settle``: online payments whose outcome nobody told us are asked about.

A customer who closes the browser on the gateway's page, and a notification that never arrives,
leave a payment ``pending``; every 10 minutes the job asks the gateway about those older than
5 minutes (:func:`~mango_billing.payments.gateway_service.settle_all`). Settling is idempotent:
a payment booked by the return or a notification meanwhile is skipped, a second run books nothing.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_billing.payments import gateway_service
from mango_core.scheduler.jobs import Job, JobContext


def settle_job(ctx: JobContext) -> str:
    found = gateway_service.active_settings(ctx.session)
    if found is None:
        return "no payment gateway configured"
    return gateway_service.settle_all(ctx.session, gateway_service.driver_for(found, ctx.settings)).text()


GATEWAY_SETTLE = Job(id="billing:gateway_settle", label=_l("Settle online card payments with an unknown result"),
                     func=settle_job, trigger={"trigger": "interval", "minutes": 10}, plugin="billing")
