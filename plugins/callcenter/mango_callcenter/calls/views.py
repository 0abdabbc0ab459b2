"""Calls in Opcare and the PBX's webhook.

* ``POST /callcenter/hook/calls/<location code>`` — the PBX announces a call (JSON ``call_id``,
  ``caller``, ``called``), authenticated by the location's token (``Authorization: Bearer …`` or
  ``X-Mango-Token``): 401 without a valid token, 403 where the call centre is not enabled, 400 for bad
  JSON; the same call id again answers 200 with the stored call (201 when new).
* ``/callcenter/calls/`` — the call log; ``/popup`` — JSON of the last minutes' calls for the pop-up
  script (``/popup.js``); ``/<id>/ticket`` — a one-click phone ticket; ``/settings`` — token and
  click-to-call URL template.

The pop-up script goes on every Opcare page of a user with ``callcenter.calls.view`` through the
layout's slot ``opcare_scripts``.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import StringField

from mango_callcenter.calls import service as calls
from mango_callcenter.calls.models import WEBHOOK
from mango_core.auth.access import permission_required, public
from mango_core.customers.models import Customer
from mango_core.kernel import current_mango
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import save
from mango_core.web.request import db
from mango_core.web.shell import csrf

bp = Blueprint("callcenter_calls", __name__, url_prefix="/callcenter/calls", template_folder="../templates")
webhook_bp = Blueprint("callcenter_webhook", __name__, url_prefix="/callcenter/hook")
csrf.exempt(webhook_bp)  # a PBX, not a browser: the token authenticates

VIEW, MANAGE, TICKETS = "callcenter.calls.view", "callcenter.calls.manage", "callcenter.tickets.manage"
POPUP_JS = (Path(__file__).resolve().parent / "popup.js").read_text(encoding="utf-8")
MARKER = 'id="callcenter-popup-script"'
MAX_BODY = 16 * 1024


# --- the webhook ---------------------------------------------------------------------------------------


def _problem(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mango-callcenter"'
    return response


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Mango-Token") or None


@webhook_bp.post("/calls/<code>")
@public
def incoming(code: str):  # noqa: ANN201
    """A call announced by the PBX (see the module doc)."""
    session = db()
    location_id = session.scalar(select(Location.id).where(Location.code == code))
    if location_id is None:
        return _problem(401, "invalid token")  # no hint whether the location exists
    with location_scope(location_id):
        if not calls.token_matches(session, _token()):
            session.rollback()
            return _problem(401, "invalid token")
        if not current_mango().is_active("callcenter", location_id):
            session.rollback()
            return _problem(403, "the call centre is not enabled in this location")
        if (request.content_length or 0) > MAX_BODY:
            return _problem(413, "body too large")
        try:
            data = json.loads(request.get_data(cache=False, as_text=True) or "null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _problem(400, "send a JSON object: call_id, caller, called")
        try:
            call, created = calls.incoming_call(session, call_id=data.get("call_id"), caller=data.get("caller"),
                                                called=data.get("called", ""), source=WEBHOOK)
        except InvalidValue as exc:
            session.rollback()
            return jsonify({"error": str(exc), "field": exc.field}), 400
        session.commit()
        answer = {"id": call.id, "call_id": call.pbx_call_id, "customer_id": call.customer_id, "created": created}
    return jsonify(answer), 201 if created else 200


# --- Opcare ---------------------------------------------------------------------------------------------


def _template_url() -> str:
    found = calls.settings(db())
    return found.click_to_call_url if found else ""


def dial_link(number: str, template: str | None = None) -> Markup:
    """The phone number, with a click-to-call link when the location has a URL template."""
    template = _template_url() if template is None else template
    url = calls.click_to_call_url(template, number)
    if url is None:
        return escape(number)
    return Markup('{0} <a href="{1}" class="ms-1 small" data-dial="{0}" target="_blank" rel="noopener" title="{2}">'
                  '<i class="bi bi-telephone-outbound"></i></a>').format(number, url, _("Call"))


@bp.app_template_global("callcenter_dial")
def callcenter_dial(number: str) -> Markup:
    """For other templates: ``{{ callcenter_dial(phone) }}`` (plain text where no template is set)."""
    if not g.get("location_id"):
        return escape(number)
    return dial_link(number)


@bp.get("/")
@permission_required(VIEW)
def log():  # noqa: ANN201
    template = _template_url()
    return render_template("callcenter/calls/log.html", rows=calls.call_log(db()), dial=lambda n: dial_link(n, template),
                           can_ticket=has_permission(TICKETS), form=FlaskForm(formdata=None))


def _popup_row(call) -> dict:  # noqa: ANN001
    return {"id": call.id, "caller": call.caller, "called": call.called_line,
            "customer": call.customer.display_name if call.customer else None,
            "card_url": url_for("core_customers.card", customer_id=call.customer_id) if call.customer_id else None,
            "ticket_url": url_for(".ticket", call_id=call.id) if call.customer_id and has_permission(TICKETS) else None,
            "received_at": call.received_at.isoformat()}


@bp.get("/popup")
@permission_required(VIEW)
def popup():  # noqa: ANN201
    """The calls the pop-up shows: of the last minutes, newer than ``after``."""
    rows = calls.recent_calls(db(), after_id=request.args.get("after", 0, type=int))
    return jsonify({"calls": [_popup_row(c) for c in rows],
                    "labels": {"incoming": _("Incoming call"), "unknown": _("Unknown caller"),
                               "card": _("Customer card"), "ticket": _("New ticket"), "close": _("Close")}})


@bp.get("/popup.js")
@permission_required(VIEW)
def popup_script():  # noqa: ANN201
    return Response(POPUP_JS, mimetype="text/javascript", headers={"Cache-Control": "private, max-age=300"})


@bp.post("/<int:call_id>/ticket")
@permission_required(TICKETS)
def ticket(call_id: int):  # noqa: ANN201
    session = db()
    call = calls.get_call(session, call_id)
    if call is None:
        abort(404)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    saved = save(form, lambda: calls.ticket_from_call(session, call, user_id=current_user.id),
                 lambda t: _("Ticket #%(number)d created.", number=t.number))
    if saved is None:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(url_for(".log"))
    return redirect(url_for("callcenter.detail", number=saved.value.number))


class SettingsForm(FlaskForm):
    click_to_call_url = StringField("click_to_call_url")


@bp.route("/settings", methods=["GET", "POST"])
@permission_required(MANAGE)
def settings():  # noqa: ANN201
    session = db()
    form = SettingsForm()
    new_token = None
    if form.validate_on_submit():
        if request.form.get("action") == "token":
            saved = save(form, lambda: calls.new_token(session), _("A new token was made; the old one no longer works."))
            new_token = saved.value if saved else None
        else:
            save(form, lambda: calls.set_click_to_call(session, form.click_to_call_url.data), _("Settings saved."))
    found = calls.settings(session)
    if request.method == "GET":
        form.click_to_call_url.data = found.click_to_call_url if found else ""
    code = session.get(Location, g.location_id).code
    return render_template("callcenter/calls/settings.html", form=form, new_token=new_token,
                           has_token=bool(found and found.token_sha256),
                           hook_url=url_for("callcenter_webhook.incoming", code=code, _external=True))


# --- the customer card, the pop-up script ------------------------------------------------------------------


def render_customer_calls(customer: Customer) -> str:
    session = db()
    template = _template_url()
    phones = [ch.value for contact in customer.contacts for ch in contact.phones]
    return render_template("callcenter/calls/card_calls.html", customer=customer,
                           rows=calls.calls_of_customer(session, customer.id), phones=phones,
                           dial=lambda n: dial_link(n, template))


def render_popup_script() -> str:
    """The script tag of the pop-up for a user who may see calls ("" otherwise)."""
    if not current_user.is_authenticated or not g.get("location_id") or not has_permission(VIEW):
        return ""
    return str(Markup('<script src="{}" defer {} data-poll="{}"></script>').format(
        url_for("callcenter_calls.popup_script"), Markup(MARKER), url_for("callcenter_calls.popup")))
