"""The append-only audit log of authentication events."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mango_core.auth.models import AuthEvent, User
from mango_core.db import utcnow

LOGIN_OK = "login_ok"
LOGIN_FAILED = "login_failed"
LOGIN_THROTTLED = "login_throttled"
LOGOUT = "logout"
SESSION_ENDED = "session_ended"
ACCESS_DENIED = "access_denied"
LOCATION_SWITCHED = "location_switched"
PASSWORD_CHANGED = "password_changed"
USER_DISABLED = "user_disabled"

EVENTS = (
    LOGIN_OK, LOGIN_FAILED, LOGIN_THROTTLED, LOGOUT, SESSION_ENDED, ACCESS_DENIED,
    LOCATION_SWITCHED, PASSWORD_CHANGED, USER_DISABLED,
)


def record(
    session: Session,
    event: str,
    *,
    user: User | None = None,
    email: str | None = None,
    location_id: int | None = None,
    realm: str = "opcare",
    ip: str | None = None,
    user_agent: str | None = None,
    detail: str = "",
) -> AuthEvent:
    """Add an event in the caller's transaction and tell the plugins enabled in its location."""
    from mango_core.web.request import client_ip
    from mango_core.web.request import user_agent as request_user_agent

    entry = AuthEvent(
        at=utcnow(),
        event=event,
        realm=realm,
        user_id=user.id if user else None,
        partner_id=user.partner_id if user else None,
        location_id=location_id,
        email=email or (user.email if user else None),
        ip=ip or client_ip(),
        user_agent=user_agent or request_user_agent(),
        detail=detail,
    )
    session.add(entry)
    session.flush()
    _notify(entry)
    return entry


def _notify(entry: AuthEvent) -> None:
    from flask import current_app, has_app_context

    if not has_app_context() or "mango" not in current_app.extensions:
        return
    current_app.extensions["mango"].plugins.emit(
        "mango_auth_event",
        location_id=entry.location_id,
        event=entry.event,
        user_id=entry.user_id,
        detail=entry.detail,
    )
