"""Staff login and logout, user accounts and passwords.

Views and commands call these functions; they never touch the auth tables themselves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core.auth import audit, sessions, throttle
from mango_core.auth.errors import AuthInputError
from mango_core.auth.models import User, UserSession
from mango_core.auth.passwords import hash_password, needs_rehash, verify_password
from mango_core.db import utcnow


class LoginFailure(enum.Enum):
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"
    DISABLED = "disabled"


@dataclass
class LoginResult:
    user: User | None = None
    token: str | None = None
    record: UserSession | None = None
    failure: LoginFailure | None = None


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def login(
    session: Session,
    email: str,
    password: str,
    *,
    rules: throttle.ThrottleRules,
    realm: str = "opcare",
    ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Check the password and open a session, ending the user's older one.

    Every attempt is recorded (throttling) and audited. The caller commits.
    """
    email = normalize_email(email)
    if throttle.is_throttled(session, rules, email=email, ip=ip, realm=realm):
        audit.record(session, audit.LOGIN_THROTTLED, email=email, realm=realm, ip=ip, user_agent=user_agent)
        return LoginResult(failure=LoginFailure.THROTTLED)
    user = find_user(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None:
        throttle.note_attempt(session, email=email, ip=ip, realm=realm, success=False)
        audit.record(session, audit.LOGIN_FAILED, user=user, email=email, realm=realm, ip=ip,
                     user_agent=user_agent, detail="bad password" if user else "unknown e-mail")
        return LoginResult(failure=LoginFailure.BAD_CREDENTIALS)
    if not user.is_active:
        throttle.note_attempt(session, email=email, ip=ip, realm=realm, success=False)
        audit.record(session, audit.LOGIN_FAILED, user=user, realm=realm, ip=ip, user_agent=user_agent,
                     detail="user disabled")
        return LoginResult(failure=LoginFailure.DISABLED)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.note_attempt(session, email=email, ip=ip, realm=realm, success=True)
    token, record, ended = sessions.start_session(
        session, user, realm=realm, location_id=user.last_location_id, ip=ip, user_agent=user_agent
    )
    for old in ended:
        audit.record(session, audit.SESSION_ENDED, user=user, realm=realm, location_id=old.location_id,
                     ip=ip, user_agent=user_agent, detail=f"{sessions.REPLACED} by a new login")
    audit.record(session, audit.LOGIN_OK, user=user, realm=realm, location_id=record.location_id,
                 ip=ip, user_agent=user_agent)
    return LoginResult(user=user, token=token, record=record)


def logout(session: Session, record: UserSession) -> None:
    sessions.end_session(record, sessions.LOGOUT)
    audit.record(session, audit.LOGOUT, user=record.user, realm=record.realm, location_id=record.location_id)


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None,
    partner_id: int | None = None,
    is_operator: bool = False,
    locale: str | None = None,
) -> User:
    """Add a staff account (the caller commits); bad input raises :class:`AuthInputError`."""
    email = normalize_email(email)
    if "@" not in email.strip("@") or " " in email or len(email) > 254:
        raise AuthInputError("%(email)s is not an e-mail address.", email=email)
    if find_user(session, email) is not None:
        raise AuthInputError("A user with e-mail %(email)s already exists.", email=email)
    if is_operator and partner_id is not None:
        raise AuthInputError("An operator user does not belong to a partner.")
    if not is_operator and partner_id is None:
        raise AuthInputError("A user must belong to a partner, or be an operator user.")
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password) if password else None,
        partner_id=partner_id,
        is_operator=is_operator,
        is_active=True,
        locale=locale or None,
    )
    session.add(user)
    session.flush()
    return user


def set_password(
    session: Session, user: User, password: str, *, by: User | None = None, keep_session_id: int | None = None
) -> int:
    """Store a new Argon2id hash; end the user's other sessions. Returns how many ended."""
    user.password_hash = hash_password(password)
    ended = sessions.end_all_sessions(session, user.id, sessions.PASSWORD_CHANGED, except_id=keep_session_id)
    if by is None:
        detail = "from the command line"
    elif by.id == user.id:
        detail = "own password"
    else:
        detail = f"by {by.email}"
    audit.record(session, audit.PASSWORD_CHANGED, user=user, detail=f"{detail}; {ended} session(s) ended")
    return ended


def disable_user(session: Session, user: User, by: User | None = None) -> int:
    """Disable the account and end all its sessions for real; returns how many ended."""
    user.is_active = False
    user.disabled_at = utcnow()
    ended = sessions.end_all_sessions(session, user.id, sessions.DISABLED)
    audit.record(session, audit.USER_DISABLED, user=user,
                 detail=(f"by {by.email}" if by else "from the command line") + f"; {ended} session(s) ended")
    return ended


def enable_user(session: Session, user: User, by: User | None = None) -> None:
    user.is_active = True
    user.disabled_at = None
    audit.record(session, audit.USER_ENABLED, user=user,
                 detail=f"by {by.email}" if by else "from the command line")
