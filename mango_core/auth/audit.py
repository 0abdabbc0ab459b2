"""The append-only audit log of authentication events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core.auth.models import AuthEvent, User
from mango_core.db import utcnow
from mango_core.tenancy.models import Location

LOGIN_OK = "login_ok"
LOGIN_FAILED = "login_failed"
LOGIN_THROTTLED = "login_throttled"
LOGOUT = "logout"
SESSION_ENDED = "session_ended"
ACCESS_DENIED = "access_denied"
LOCATION_SWITCHED = "location_switched"
PASSWORD_CHANGED = "password_changed"
USER_DISABLED = "user_disabled"
USER_ENABLED = "user_enabled"
USER_CREATED = "user_created"
ROLE_ASSIGNED = "role_assigned"
ROLE_REMOVED = "role_removed"
ROLE_CHANGED = "role_changed"

EVENTS = (
    LOGIN_OK, LOGIN_FAILED, LOGIN_THROTTLED, LOGOUT, SESSION_ENDED, ACCESS_DENIED,
    LOCATION_SWITCHED, PASSWORD_CHANGED, USER_DISABLED, USER_ENABLED, USER_CREATED,
    ROLE_ASSIGNED, ROLE_REMOVED, ROLE_CHANGED,
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


@dataclass(frozen=True)
class EventQuery:
    """Filters of the audit log page; ``partner_id`` limits partner staff to their own users."""

    all_partners: bool = False  # operator staff see every event
    partner_id: int | None = None  # otherwise only events of this partner's users
    event: str | None = None
    email: str | None = None
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive
    before_id: int | None = None  # keyset pagination: events older than this id
    limit: int = 50


@dataclass
class EventPage:
    rows: list[tuple[AuthEvent, str | None]]  # (event, location code)
    next_before_id: int | None  # pass as before_id for the next (older) page


def search(session: Session, q: EventQuery) -> EventPage:
    """Newest events first, one page at a time (keyset on id, which grows with time)."""
    query = select(AuthEvent, Location.code).outerjoin(Location, Location.id == AuthEvent.location_id)
    if not q.all_partners:
        if q.partner_id is None:
            return EventPage([], None)
        query = query.where(AuthEvent.partner_id == q.partner_id)
    if q.event:
        query = query.where(AuthEvent.event == q.event)
    if q.email:
        query = query.where(func.lower(AuthEvent.email).contains(q.email.strip().lower(), autoescape=True))
    if q.since is not None:
        query = query.where(AuthEvent.at >= q.since)
    if q.until is not None:
        query = query.where(AuthEvent.at < q.until)
    if q.before_id is not None:
        query = query.where(AuthEvent.id < q.before_id)
    rows = [(event, code) for event, code in session.execute(query.order_by(AuthEvent.id.desc()).limit(q.limit + 1))]
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return EventPage(rows, rows[-1][0].id if more and rows else None)
