"""The job ``core:send_mail``: every minute, per location, send what is due."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.db import utcnow
from mango_core.scheduler.jobs import Job, JobContext


def send_mail(ctx: JobContext) -> str:
    from mango_core.mail.service import send_due

    result = send_due(ctx.session, utcnow())
    text = str(result)
    if result.errors:  # the first error tells staff what is wrong; the outbox page has them all
        text += f"; {result.errors[0]}"
    return text


SEND_MAIL = Job(id="core:send_mail", label=_l("Send queued e-mail"), func=send_mail,
                trigger={"trigger": "interval", "minutes": 1})
