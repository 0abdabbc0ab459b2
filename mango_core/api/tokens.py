"""Personal API tokens: create (shown once), check at each request, list, revoke.

A token is ``mango_`` followed by 43 URL-safe characters (256 random bits); only its SHA-256
is stored, so a stolen database gives no usable token, and the recognisable prefix lets secret
scanners find a leaked one. What a token may do is decided at each request from its user's
current locations and permissions (:mod:`mango_core.api.access`): it works only where the user
holds ``core.api.use``, optionally narrowed to one location at creation.

The Opcare page and the command line call these functions; the caller commits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.api.models import ApiToken
from mango_core.auth import audit
from mango_core.auth.models import User
from mango_core.db import utcnow
from mango_core.tenancy.validators import N_, InvalidValue

PREFIX = "mango_"
TOKEN_RE = re.compile(r"^mango_[A-Za-z0-9_-]{43}$")
MAX_EXPIRY_DAYS = 3650
# last_used_at is written at most this often, not on every request
TOUCH_EVERY = timedelta(minutes=1)

TOKEN_CREATED = "api_token_created"
TOKEN_REVOKED = "api_token_revoked"


class TokenError(InvalidValue):
    """Bad input for a token (name, expiry, location); ``field`` names the form field."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, user: User, *, name: str, location_id: int | None = None,
                 expires_in_days: int | None = None, created_by: User | None = None) -> NewToken:
    """A new token of ``user``; ``location_id`` narrows it to one location (checked by the caller)."""
    clean = " ".join((name or "").split())
    if not clean:
        raise TokenError(N_("This field is required."), field="name")
    if len(clean) > 100:
        raise TokenError(N_("At most %(max)d characters."), field="name", max=100)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise TokenError(N_("A token expires after 1 to %(max)d days."), field="expires", max=MAX_EXPIRY_DAYS)
    if not user.is_active:
        raise TokenError(N_("A disabled user cannot have API tokens."))
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, name=clean, prefix=secret[:len(PREFIX) + 8], token_hash=hash_token(secret),
                     location_id=location_id, created_at=now, created_by_id=created_by.id if created_by else None,
                     expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(token)
    session.flush()
    by = "from the command line" if created_by is None else ("own" if created_by.id == user.id else f"by {created_by.email}")
    audit.record(session, TOKEN_CREATED, user=user, location_id=location_id,
                 detail=f"token #{token.id} {token.prefix}… {clean!r} ({by})")
    return NewToken(token, secret)


@dataclass(frozen=True)
class Checked:
    """The outcome of :func:`check`: the live token, or why there is none (for WWW-Authenticate)."""

    token: ApiToken | None
    problem: str | None = None  # "malformed", "unknown", "revoked", "expired", "disabled"


def check(session: Session, secret: str, *, ip: str | None = None, now: datetime | None = None) -> Checked:
    """Find the live token for a secret; record its use (at most once a minute, not per request)."""
    if not TOKEN_RE.fullmatch(secret or ""):
        return Checked(None, "malformed")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None:
        return Checked(None, "unknown")
    now = now or utcnow()
    state = token.state(now)
    if state != "active":
        return Checked(None, state)
    if not token.user.is_active:
        return Checked(None, "disabled")
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
        token.last_used_ip = ip
    return Checked(token)


def get_token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first (revoked ones included, for the record)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def all_tokens(session: Session, *, partner_id: int | None = None, include_operator: bool = False,
               live_only: bool = False) -> list[ApiToken]:
    """Tokens of the partner's users (``partner_id``), or of everybody (operator staff: ``include_operator``)."""
    query = select(ApiToken).join(User, User.id == ApiToken.user_id).order_by(User.email, ApiToken.id.desc())
    if not include_operator:
        if partner_id is None:
            return []
        query = query.where(User.partner_id == partner_id)
    if live_only:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke(session: Session, token: ApiToken, *, by: User | None = None) -> bool:
    """Revoke a token for good; False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    token.revoked_by_id = by.id if by else None
    who = "from the command line" if by is None else ("own" if by.id == token.user_id else f"by {by.email}")
    audit.record(session, TOKEN_REVOKED, user=token.user, location_id=token.location_id,
                 detail=f"token #{token.id} {token.prefix}… ({who})")
    session.flush()
    return True
