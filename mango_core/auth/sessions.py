"""Server-side login sessions.

The browser's (signed) Flask session holds only a random token; its SHA-256 is stored in
``core_user_session``. A session ends for real: logout, a newer login of the same user in the
same realm (one active session per user), disabling the user, or passing the idle or absolute
limit of its realm all set ``ended_at``, and the next request with that token is anonymous.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mango_core.auth.models import User, UserSession
from mango_core.db import utcnow

# Reasons stored in end_reason; the login page explains each one.
LOGOUT = "logout"
REPLACED = "replaced"
DISABLED = "disabled"
EXPIRED = "expired"
IDLE = "idle"
PASSWORD_CHANGED = "password_changed"

# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionLimits:
    absolute: timedelta
    idle: timedelta

    @classmethod
    def for_realm(cls, sessions_config: dict, realm: str) -> SessionLimits:
        return cls(
            absolute=timedelta(hours=float(sessions_config[f"{realm}_absolute_hours"])),
            idle=timedelta(hours=float(sessions_config[f"{realm}_idle_hours"])),
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session,
    user: User,
    *,
    realm: str = "opcare",
    location_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> tuple[str, UserSession, list[UserSession]]:
    """Open a new session and end the user's older ones in the realm.

    Returns the token for the browser, the new record and the records it ended.
    """
    now = utcnow()
    older = list(
        session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.realm == realm, UserSession.ended_at.is_(None)
            )
        )
    )
    for old in older:
        old.ended_at = now
        old.end_reason = REPLACED
    token = secrets.token_urlsafe(32)
    record = UserSession(
        token_hash=hash_token(token),
        realm=realm,
        user_id=user.id,
        location_id=location_id,
        created_at=now,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(record)
    session.flush()
    return token, record, older


@dataclass
class Lookup:
    record: UserSession | None  # the live session, or None
    ended_reason: str | None = None  # set when the token names a session that has ended
    ended_now: UserSession | None = None  # the session this lookup ended (expiry, disabled user)


def lookup(session: Session, token: str, limits: SessionLimits, now: datetime | None = None) -> Lookup:
    """Find the live session for a token; end it here if it has passed a limit."""
    now = now or utcnow()
    record = session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))
    if record is None:
        return Lookup(None)
    if record.ended_at is not None:
        return Lookup(None, record.end_reason)
    reason = None
    if now - record.created_at > limits.absolute:
        reason = EXPIRED
    elif now - record.last_seen_at > limits.idle:
        reason = IDLE
    elif not record.user.is_active:
        reason = DISABLED
    if reason:
        record.ended_at = now
        record.end_reason = reason
        return Lookup(None, reason, ended_now=record)
    if now - record.last_seen_at > TOUCH_EVERY:
        record.last_seen_at = now
    return Lookup(record)


def end_session(record: UserSession, reason: str = LOGOUT) -> None:
    if record.ended_at is None:
        record.ended_at = utcnow()
        record.end_reason = reason


def end_all_sessions(session: Session, user_id: int, reason: str, *, except_id: int | None = None) -> int:
    """End every live session of a user (e.g. when the user is disabled); returns how many."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if except_id is not None:
        query = query.where(UserSession.id != except_id)
    result = session.execute(
        query.values(ended_at=utcnow(), end_reason=reason).execution_options(synchronize_session="fetch")
    )
    return result.rowcount
