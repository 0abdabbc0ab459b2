"""The shell's own pages: home, health check, what's new, language and location switchers."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mango_core.auth import audit
from mango_core.auth.access import authenticated, public
from mango_core.kernel import current_mango
from mango_core.plugins import hookimpl
from mango_core.web.changelog import as_html
from mango_core.web.menu import MenuItem
from mango_core.web.request import db

bp = Blueprint("core", __name__)


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [MenuItem(_l("Home"), "core.home", None, section="main", order=0, icon="house")]


@bp.get("/")
@authenticated
def home():  # noqa: ANN201
    return render_template("core/home.html")


@bp.get("/healthz")
@public
def healthz():  # noqa: ANN201
    """200 ``{"status": "ok"}`` when the database answers, 503 otherwise (for load balancers)."""
    try:
        with current_mango().db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return jsonify(status="error", detail=type(exc).__name__), 503
    return jsonify(status="ok")


@bp.get("/whats-new")
@public
def whats_new():  # noqa: ANN201
    return render_template("core/whats_new.html", changelog=as_html())


@bp.post("/language")
@public
def set_language():  # noqa: ANN201
    code = request.form.get("locale", "")
    if code not in current_mango().settings["locales"]:
        abort(400)
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.user.locale = code
        db().commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/location")
@authenticated
def switch_location():  # noqa: ANN201
    try:
        location_id = int(request.form.get("location_id", ""))
    except ValueError:
        abort(400)
    if location_id not in g.get("allowed_location_ids", []):
        abort(404)
    s = db()
    previous = current_user.record.location_id
    current_user.record.location_id = location_id
    current_user.user.last_location_id = location_id
    audit.record(s, audit.LOCATION_SWITCHED, user=current_user.user, location_id=location_id,
                 detail=f"from {previous}")
    s.commit()
    flash(_("Location switched."), "success")
    return redirect(url_for("core.home"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("core.home")


@hookimpl
def mango_template_slot(slot: str, context: dict) -> str | None:
    from mango_core.web import dashboard

    return dashboard.render(slot, context)
