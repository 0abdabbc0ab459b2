"""Opcare pages of the data-retention queries: who used an address, the flows of a customer or an
address (on screen or as the CSV for the authority), and the audit log.

Running a query writes the audit log, so the forms are POSTed (CSRF) and every run is logged —
a CSV download is a query of its own. Times typed are local (the user's time zone); results are
shown in it too, the CSV is UTC.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from mango_core.auth.access import permission_required
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.forms import options
from mango_core.web.request import db
from mango_isp.times import parse_moment
from mango_netflow.queries import export
from mango_netflow.queries import service as queries
from mango_netflow.queries.models import KINDS

bp = Blueprint("netflow_queries", __name__, url_prefix="/netflow", template_folder="../templates")

QUERY, AUDIT = "netflow.retention.query", "netflow.retention.audit"
SHOWN_ROWS = 500  # flows shown on the page; the CSV has them all (up to the limit)


class WhoForm(FlaskForm):
    reference = StringField(_l("Reference of the request"), validators=[Length(max=200)],
                            description=_l("E.g. the authority's case number; it is written to the audit log."))
    ip = StringField(_l("IP address"), validators=[Length(max=60)])
    port = StringField(_l("Port"), validators=[Optional(), Length(max=5)])
    at = StringField(_l("Time"), validators=[Length(max=40)], description=_l("Local time, e.g. 2025-03-01 14:30:05"))


class FlowsForm(FlaskForm):
    reference = StringField(_l("Reference of the request"), validators=[Length(max=200)],
                            description=_l("E.g. the authority's case number; it is written to the audit log."))
    ip = StringField(_l("IP address"), validators=[Optional(), Length(max=60)])
    customer = StringField(_l("Customer number"), validators=[Optional(), Length(max=9)])
    start = StringField(_l("From"), validators=[Length(max=40)])
    end = StringField(_l("To"), validators=[Length(max=40)])
    port = StringField(_l("Port"), validators=[Optional(), Length(max=5)])
    protocol = StringField(_l("Protocol"), validators=[Optional(), Length(max=10)])
    peer = StringField(_l("Peer address"), validators=[Optional(), Length(max=60)])
    limit = StringField(_l("At most flows"), validators=[Optional(), Length(max=7)])


class AuditFilter(FlaskForm):
    class Meta:
        csrf = False

    reference = StringField(_l("Reference of the request"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Query"), choices=options([("", "—"), *((k, k) for k in KINDS)]), validators=[Optional()])


def asker() -> queries.Asker:
    return queries.Asker("web", current_user.email, current_user.id)


def _moment(value: Any, field: str):  # noqa: ANN202
    return parse_moment(value, get_timezone(), field)


@bp.route("/who", methods=["GET", "POST"])
@permission_required(QUERY)
def who():  # noqa: ANN201
    form = WhoForm()
    answer, log, error = None, None, None
    if request.method == "POST":
        if form.validate_on_submit():
            session = db()
            try:
                answer, log = queries.ask_who(session, asker(), form.reference.data, form.ip.data,
                                              _moment(form.at.data, "at"), form.port.data)
                session.commit()
            except InvalidValue as exc:
                session.rollback()
                error = str(exc)
        else:
            error = "; ".join(e for errors in form.errors.values() for e in errors)
    return render_template("netflow/queries/who.html", form=form, answer=answer, log=log, error=error,
                           zone=str(get_timezone())), 422 if error else 200


@bp.route("/flows", methods=["GET", "POST"])
@permission_required(QUERY)
def flows():  # noqa: ANN201
    form = FlowsForm()
    result, log, error = None, None, None
    if request.method == "POST":
        if form.validate_on_submit():
            session = db()
            try:
                query = queries.flow_query(start=_moment(form.start.data, "start"), end=_moment(form.end.data, "end"),
                                           ip=form.ip.data, customer_number=form.customer.data, port=form.port.data,
                                           protocol=form.protocol.data, peer=form.peer.data, limit=form.limit.data)
                result, log = queries.ask_flows(session, asker(), form.reference.data, query)
                session.commit()
            except InvalidValue as exc:
                session.rollback()
                error = str(exc)
            else:
                if request.form.get("format") == "csv":
                    response = Response(export.flows_csv(result.flows, export.exporter_names(session)), mimetype="text/csv")
                    response.headers["Content-Disposition"] = (
                        f'attachment; filename="{export.filename(log.reference, log.id)}"')
                    return response
        else:
            error = "; ".join(e for errors in form.errors.values() for e in errors)
    rows = queries.flow_rows(result.flows[:SHOWN_ROWS]) if result is not None else []
    return render_template("netflow/queries/flows.html", form=form, result=result, rows=rows, log=log, error=error,
                           shown=SHOWN_ROWS, protocols=queries.PROTOCOL_NAMES,
                           zone=str(get_timezone())), 422 if error else 200


@bp.get("/audit")
@permission_required(AUDIT)
def audit():  # noqa: ANN201
    form = AuditFilter(request.args)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    per_page = 100
    rows = queries.audit_log(db(), reference=form.reference.data or None, kind=form.kind.data or None,
                             limit=per_page + 1, offset=(page - 1) * per_page)
    return render_template("netflow/queries/audit.html", form=form, rows=rows[:per_page], page=page,
                           more=len(rows) > per_page)
