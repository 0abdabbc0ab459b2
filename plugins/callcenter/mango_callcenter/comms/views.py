"""Opcare pages of communication: the log (filterable), templates with a preview, mail sources, the SMS
queue, the location's SMS gateway; the customer card's *Communication* tab with a form for an e-mail or
SMS written by staff; and the gateway's delivery reports (``report_bp``, authenticated by a token).

Views hold no rules: they read the form and call the comms services; every query runs in the
request's location (the tenant guard).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mango_callcenter.comms import gateways, mailboxes, service, templates
from mango_callcenter.comms import log as comm_log
from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms.models import (
    AUTHS,
    CHANNELS,
    EMAIL,
    SECURITIES,
    SMS_DRIVERS,
    SMS_STATES,
    SOURCE_KINDS,
    MailSource,
    SmsMessage,
)
from mango_core.auth.access import permission_required, public
from mango_core.customers.models import Customer
from mango_core.kernel import current_mango
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.request import current_location_id, db
from mango_core.web.shell import csrf

bp = Blueprint("callcenter_comms", __name__, url_prefix="/callcenter/comms", template_folder="../templates")
report_bp = Blueprint("callcenter_sms_report", __name__, url_prefix="/callcenter/hook/sms")
csrf.exempt(report_bp)  # a gateway, not a browser: the token authenticates
MAX_REPORT = 16 * 1024

VIEW, MANAGE, SEND = "callcenter.comms.view", "callcenter.comms.manage", "callcenter.comms.send"
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
    compose = None
    if has_permission(SEND):
        compose = {channel: {"to": service.addresses(customer, channel),
                             "codes": service.manual_templates(session, customer, channel)} for channel in CHANNELS}
    return render_template("callcenter/comms/card_log.html", rows=rows, states=comm_log.states(session, rows),
                           channels=channel_labels(), customer=customer, compose=compose, form=CsrfForm())


@bp.post("/customers/<int:customer_id>/send")
@permission_required(SEND)
def send_to_customer(customer_id: int):  # noqa: ANN201
    session = db()
    customer = session.scalar(select(Customer).where(Customer.id == customer_id))
    if customer is None:
        abort(404)
    channel = request.form.get("channel")
    f = request.form
    _run(lambda: service.send_manual(session, customer, channel=channel, to=f.get("to"),
                                     text=f.get("text"), subject=f.get("subject"), code=f.get("code"),
                                     actor=current_user.id),
         _("The message is queued for sending."))
    return redirect(url_for("core_customers.card", customer_id=customer.id, tab="callcenter_comms"))


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


# --- the location's SMS gateway -----------------------------------------------------------------------------


@bp.route("/gateway", methods=["GET", "POST"])
@permission_required(MANAGE)
def gateway_settings():  # noqa: ANN201
    session = db()
    row = gateways.gateway(session)
    new_token = None
    f = request.form
    if request.method == "POST":
        if f.get("action") == "token":
            holder: dict[str, str] = {}
            if _run(lambda: holder.update(token=gateways.new_report_token(session)),
                    _("A new token for delivery reports is made.")):
                new_token = holder["token"]
        elif _run(lambda: gateways.save_gateway(session, driver=f.get("driver"), config=f.get("config"),
                                                auth=f.get("auth"), username=f.get("username"),
                                                secret=f.get("secret")), _("SMS gateway saved.")):
            return redirect(url_for(".gateway_settings"))
    row = gateways.gateway(session)
    code = session.get(Location, current_location_id()).code
    return render_template("callcenter/comms/gateway.html", row=row, drivers=SMS_DRIVERS, auths=AUTHS,
                           config=f.get("config") if request.method == "POST" and new_token is None
                           else json.dumps(row.config if row else {}, ensure_ascii=False, indent=2),
                           has_secret=row is not None and bool(row.secret_enc), new_token=new_token,
                           report_url=url_for("callcenter_sms_report.report", code=code, _external=True),
                           form=CsrfForm())


# --- delivery reports from the gateway ------------------------------------------------------------------------


def _problem(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mango-callcenter-sms"'
    return response


def _report_token() -> str | None:
    scheme, _sep, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Mango-Token") or request.args.get("token") or None


def _report_data() -> dict | None:
    if request.is_json:
        try:
            data = json.loads(request.get_data(cache=False, as_text=True) or "null")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    data = {k: v for k, v in request.args.items() if k != "token"}
    data.update(request.form.to_dict())
    return data


@report_bp.route("/<code>", methods=["GET", "POST"])
@public
def report(code: str):  # noqa: ANN201
    """A delivery report (see :mod:`mango_callcenter.comms.gateways`): 200 with the message's state."""
    session = db()
    location_id = session.scalar(select(Location.id).where(Location.code == code))
    if location_id is None:
        return _problem(401, "invalid token")  # no hint whether the location exists
    with location_scope(location_id):
        if not gateways.report_token_matches(session, _report_token()):
            session.rollback()
            return _problem(401, "invalid token")
        if not current_mango().is_active("callcenter", location_id):
            session.rollback()
            return _problem(403, "the call centre is not enabled in this location")
        if (request.content_length or 0) > MAX_REPORT:
            return _problem(413, "body too large")
        data = _report_data()
        if data is None:
            return _problem(400, "send a JSON object or form fields")
        try:
            sms = gateways.delivery_report(session, data)
        except InvalidValue as exc:
            session.rollback()
            return jsonify({"error": str(exc), "field": exc.field}), 404 if isinstance(exc, gateways.UnknownMessage) else 400
        session.commit()
        answer = {"id": sms.id, "state": sms.state, "delivery_status": sms.delivery_status}
    return jsonify(answer), 200
