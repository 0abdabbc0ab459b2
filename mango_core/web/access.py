"""Request-time permission checks and the Flask-Login principal."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import current_user

from mango_core.auth import audit
from mango_core.auth.models import User, UserSession
from mango_core.kernel import current_mango
from mango_core.web.request import current_location_id, db


@dataclass
class Principal:
    """The logged-in user as Flask-Login sees it; ``get_id`` is the session token."""

    user: User
    record: UserSession
    token: str

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.token

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def is_operator(self) -> bool:
        return self.user.is_operator


def has_permission(code: str) -> bool:
    """True when the user holds ``code`` here and the module that declares it is active here."""
    mango = current_mango()
    if code not in mango.permissions:
        raise KeyError(f"Permission {code!r} is not declared by any plugin (mango_permissions).")
    if not current_user.is_authenticated:
        return False
    if not mango.is_active(mango.permissions[code].plugin, current_location_id()):
        return False
    return code in g.get("permissions", set())


def record_denied(code: str) -> None:
    session = db()
    user = current_user.user if current_user.is_authenticated else None
    audit.record(
        session,
        audit.ACCESS_DENIED,
        user=user,
        location_id=current_location_id(),
        detail=f"{request.method} {request.path} needs {code}",
    )
    session.commit()
    current_app.logger.info("access denied: %s %s needs %s", request.method, request.path, code)
