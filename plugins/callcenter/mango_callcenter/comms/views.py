"""Opcare pages of communication: the log (filterable), templates with a preview, mail sources, the SMS
queue; and the customer card's *Communication* tab.

Views hold no rules: they read the form and call the comms services; every query runs in the
request's location (the tenant guard).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from mango_callcenter.comms import log as comm_log
from mango_callcenter.comms import mailboxes, templates
from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms.models import (
    CHANNELS,
    EMAIL,
    SECURITIES,
    SMS_STATES,
    SOURCE_KINDS,
    MailSource,
    SmsMessage,
)
from mango_core.auth.access import permission_required
from mango_core.customers.models import Customer
from mango_core.kernel import current_mango
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.request import db

bp = Blueprint("callcenter_comms", __name__, url_prefix="/callcenter/comms", template_folder="../templates")

VIEW, MANAGE = "callcenter.comms.view", "callcenter.comms.manage"
MAX_ROWS = 200


class CsrfForm(FlaskForm):
    """The pages post plain fields; this only carries the CSRF token."""


def _run(action, message: str) -> bool:  # noqa: ANN001
    """Commit ``action()`` and flash ``message``, or roll back and flash the error (nothing saved)."""
    session = db()
    form = CsrfForm()
    if not form.validate_on_submit():
        flash(_("The form has expired; please try again."), "danger")
        return False
    try:
        action()
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
        return False
    session.commit()
    flash(message, "success")
    return True


def channel_labels() -> dict[str, str]:
    return {"email": _("e-mail"), "sms": _("SMS")}


# --- the log ----------------------------------------------------------------------------------------------


def _log_filter() -> comm_log.LogFilter:
    args = request.args
    f = comm_log.LogFilter(channel=args.get("channel") if args.get("channel") in CHANNELS else None,
                           text=(args.get("q") or "").strip())
    number = (args.get("customer") or "").strip()
    if number.isdigit():
        f.customer_id = db().scalar(select(Customer.id).where(Customer.number == int(number))) or -1
    return f


@bp.get("/")
@permission_required(VIEW)
def log_list():  # noqa: ANN201
    session = db()
    rows = comm_log.entries(session, _log_filter(), limit=MAX_ROWS)
    return render_template("callcenter/comms/log.html", rows=rows, states=comm_log.states(session, rows),
                           channels=channel_labels(), args=request.args, limit=MAX_ROWS)


def render_customer_log(customer: Customer) -> str:
    session = db()
    rows = comm_log.entries(session, comm_log.LogFilter(customer_id=customer.id), limit=MAX_ROWS)
    return render_template("callcenter/comms/card_log.html", rows=rows, states=comm_log.states(session, rows),
                           channels=channel_labels())


# --- templates --------------------------------------------------------------------------------------------


@bp.route("/templates", methods=["GET", "POST"])
@permission_required(MANAGE)
def template_edit():  # noqa: ANN201
    session = db()
    channel = request.values.get("channel", EMAIL)
    code = request.values.get("code", templates.codes()[0])
    if channel not in CHANNELS or code not in templates.codes():
        abort(404)
    current = templates.source(session, channel, code)
    subject, body = current.subject, current.body
    preview = error = None
    if request.method == "POST":
        subject, body = request.form.get("subject", ""), request.form.get("body", "")
        if request.form.get("action") == "preview":
            try:
                preview = templates.render_text(channel, subject, body, templates.SAMPLE)
            except InvalidValue as exc:
                error = str(exc)
        elif _run(lambda: templates.save(session, channel=channel, code=code, subject=subject, body=body),
                  _("Template saved.")):
            return redirect(url_for(".template_edit", channel=channel, code=code))
    return render_template("callcenter/comms/templates.html", channel=channel, code=code, codes=templates.codes(),
                           channels=channel_labels(), subject=subject, body=body, preview=preview, error=error,
                           custom=templates.find(session, channel, code) is not None, form=CsrfForm(),
                           sample=templates.SAMPLE)


# --- mail sources -----------------------------------------------------------------------------------------


@bp.get("/sources")
@permission_required(MANAGE)
def sources():  # noqa: ANN201
    return render_template("callcenter/comms/sources.html", rows=mailboxes.sources(db()), kinds=SOURCE_KINDS,
                           securities=SECURITIES, form=CsrfForm())


@bp.post("/sources")
@bp.post("/sources/<int:source_id>")
@permission_required(MANAGE)
def save_source(source_id: int | None = None):  # noqa: ANN201
    session = db()
    source = None
    if source_id is not None:
        source = session.scalar(select(MailSource).where(MailSource.id == source_id))
        if source is None:
            abort(404)
    f = request.form
    _run(lambda: mailboxes.save_source(session, name=f.get("name"), kind=f.get("kind"), host=f.get("host"),
                                       port=f.get("port"), security=f.get("security"), username=f.get("username"),
                                       password=f.get("password"), folder=f.get("folder"), path=f.get("path"),
                                       is_active=f.get("is_active") == "y", source=source),
         _("Mail source saved."))
    return redirect(url_for(".sources"))


@bp.post("/sources/<int:source_id>/fetch")
@permission_required(MANAGE)
def fetch_now(source_id: int):  # noqa: ANN201
    session = db()
    source = session.scalar(select(MailSource).where(MailSource.id == source_id))
    if source is None:
        abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    result = mailboxes.fetch_source(session, source, current_mango().plugin_settings("callcenter"))
    flash(str(result), "danger" if result.errors else "success")
    return redirect(url_for(".sources"))


# --- the SMS queue ----------------------------------------------------------------------------------------


@bp.get("/sms")
@permission_required(VIEW)
def sms_list():  # noqa: ANN201
    state = request.args.get("state")
    stmt = select(SmsMessage)
    if state in SMS_STATES:
        stmt = stmt.where(SmsMessage.state == state)
    rows = list(db().scalars(stmt.order_by(SmsMessage.id.desc()).limit(MAX_ROWS)))
    return render_template("callcenter/comms/sms.html", rows=rows, state=state, states=SMS_STATES, form=CsrfForm())


@bp.post("/sms/<int:sms_id>/retry")
@permission_required(MANAGE)
def sms_retry(sms_id: int):  # noqa: ANN201
    session = db()
    sms = session.scalar(select(SmsMessage).where(SmsMessage.id == sms_id))
    if sms is None:
        abort(404)
    _run(lambda: sms_queue.retry(session, sms), _("The SMS will be sent again."))
    return redirect(url_for(".sms_list"))
