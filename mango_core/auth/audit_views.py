"""Opcare page of the authentication audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mango_core.auth import audit
from mango_core.auth.access import permission_required
from mango_core.auth.admin_forms import AuditFilterForm, options
from mango_core.web.request import db

bp = Blueprint("core_audit", __name__, url_prefix="/admin/audit")

PAGE_SIZE = 50

EVENT_LABELS = {
    audit.LOGIN_OK: _l("Login"),
    audit.LOGIN_FAILED: _l("Failed login"),
    audit.LOGIN_THROTTLED: _l("Login refused (too many attempts)"),
    audit.LOGOUT: _l("Logout"),
    audit.SESSION_ENDED: _l("Session ended"),
    audit.ACCESS_DENIED: _l("Access denied"),
    audit.LOCATION_SWITCHED: _l("Location switched"),
    audit.PASSWORD_CHANGED: _l("Password changed"),
    audit.USER_DISABLED: _l("User disabled"),
    audit.USER_ENABLED: _l("User enabled"),
    audit.USER_CREATED: _l("User created"),
    audit.ROLE_ASSIGNED: _l("Role assigned"),
    audit.ROLE_REMOVED: _l("Role removed"),
    audit.ROLE_CHANGED: _l("Role changed"),
}


def local_midnight_utc(day: date) -> datetime:
    """The start of a day in the user's time zone, as a UTC instant."""
    zone = ZoneInfo(str(get_timezone()))
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@bp.get("/")
@permission_required("core.audit.view")
def events():  # noqa: ANN201
    form = AuditFilterForm(request.args)
    form.event.choices = options([("", _l("All events")), *EVENT_LABELS.items()])
    valid = form.validate()
    user = current_user.user
    query = audit.EventQuery(
        all_partners=user.is_operator,
        partner_id=user.partner_id,
        event=(form.event.data or None) if valid else None,
        email=(form.email.data or None) if valid else None,
        since=local_midnight_utc(form.date_from.data) if valid and form.date_from.data else None,
        until=local_midnight_utc(form.date_to.data + timedelta(days=1)) if valid and form.date_to.data else None,
        before_id=request.args.get("before", type=int),
        limit=PAGE_SIZE,
    )
    page = audit.search(db(), query)
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template("auth/audit.html", form=form, page=page, labels=EVENT_LABELS, filter_args=args,
                           paged=query.before_id is not None)
