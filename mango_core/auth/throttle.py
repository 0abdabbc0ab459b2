"""Login throttling, counted in the database so that every web worker sees the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core.auth.models import LoginAttempt
from mango_core.db import utcnow


@dataclass(frozen=True)
class ThrottleRules:
    max_failures_per_account: int
    max_failures_per_address: int
    window: timedelta

    @classmethod
    def from_config(cls, cfg: dict) -> ThrottleRules:
        return cls(
            max_failures_per_account=int(cfg["max_failures_per_account"]),
            max_failures_per_address=int(cfg["max_failures_per_address"]),
            window=timedelta(minutes=float(cfg["window_minutes"])),
        )


def _failures_since_success(session: Session, column, value: str, realm: str, since) -> int:  # noqa: ANN001
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.realm == realm, LoginAttempt.success.is_(True))
    )
    start = max(since, last_ok) if last_ok else since
    return session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.realm == realm, LoginAttempt.success.is_(False), LoginAttempt.at > start
        )
    ) or 0


def is_throttled(session: Session, rules: ThrottleRules, *, email: str, ip: str | None, realm: str) -> bool:
    """Too many recent failures for this account, or from this client address."""
    since = utcnow() - rules.window
    if _failures_since_success(session, LoginAttempt.email, email, realm, since) >= rules.max_failures_per_account:
        return True
    return bool(ip) and (
        _failures_since_success(session, LoginAttempt.ip, ip, realm, since) >= rules.max_failures_per_address
    )


def note_attempt(session: Session, *, email: str, ip: str | None, realm: str, success: bool) -> None:
    session.add(LoginAttempt(at=utcnow(), email=email, ip=ip, realm=realm, success=success))
