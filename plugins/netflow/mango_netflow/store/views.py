"""Opcare: the location's flow storage — retention (months) and what is stored."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from mango_core.auth.access import permission_required
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.request import current_location_id, db
from mango_netflow.store import retention
from mango_netflow.store.stats import location_stats

bp = Blueprint("netflow_store", __name__, url_prefix="/netflow/store", template_folder="../templates")

MANAGE = "netflow.settings.manage"


class RetentionForm(FlaskForm):
    retention_months = StringField(_l("Keep flows for (months)"), validators=[DataRequired(), Length(max=4)])


@bp.get("/")
@permission_required(MANAGE)
def index():  # noqa: ANN201
    session = db()
    location_id = current_location_id()
    form = RetentionForm(formdata=None, retention_months=str(retention.retention_months(session, location_id)))
    return render_template("netflow/store/index.html", form=form, stats=location_stats(session, location_id))


@bp.post("/")
@permission_required(MANAGE)
def save():  # noqa: ANN201
    form = RetentionForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(url_for(".index"))
    session = db()
    try:
        retention.save_retention(session, current_location_id(), form.retention_months.data)
    except InvalidValue as exc:
        session.rollback()
        flash(str(exc), "danger")
    else:
        session.commit()
        flash(_("Flow storage settings saved."), "success")
    return redirect(url_for(".index"))
