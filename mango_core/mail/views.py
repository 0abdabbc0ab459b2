"""Opcare page of the e-mail outbox: what was sent, what waits, what failed and why; retry by hand."""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mango_core.auth.access import permission_required
from mango_core.mail import service
from mango_core.mail.models import FAILED, PREPARING, QUEUED, SENT, MailMessage
from mango_core.web.access import has_permission
from mango_core.web.request import db

bp = Blueprint("core_mail", __name__, url_prefix="/mail")

PAGE_SIZE = 50
STATE_LABELS = {
    PREPARING: _l("Preparing attachments"),
    QUEUED: _l("Queued"),
    SENT: _l("Sent"),
    FAILED: _l("Failed"),
}
STATE_BADGES = {PREPARING: "text-bg-secondary", QUEUED: "text-bg-warning", SENT: "text-bg-success",
                FAILED: "text-bg-danger"}


@bp.get("/")
@permission_required("core.mail.view")
def outbox():  # noqa: ANN201
    state = request.args.get("state", "")
    query = select(MailMessage)
    if state in STATE_LABELS:
        query = query.where(MailMessage.state == state)
    else:
        state = ""
    s = db()
    counts = dict(s.execute(select(MailMessage.state, func.count()).group_by(MailMessage.state)).all())
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    messages = list(s.scalars(query.order_by(MailMessage.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return render_template("mail/outbox.html", messages=messages, counts=counts, total=total, page=page,
                           pages=pages, state=state, state_labels=STATE_LABELS, state_badges=STATE_BADGES,
                           can_retry=has_permission("core.mail.retry"))


@bp.post("/<int:message_id>/retry")
@permission_required("core.mail.retry")
def retry(message_id: int):  # noqa: ANN201
    message = db().get(MailMessage, message_id)  # the tenant guard hides other locations' messages
    if message is None:
        abort(404)
    try:
        service.retry(db(), message)
    except service.MailInputError:
        flash(_l("Only a failed message can be sent again."), "warning")
    else:
        db().commit()
        flash(_l("The message is queued again."), "success")
    return redirect(url_for("core_mail.outbox", state=request.args.get("state") or None))
