"""Who may act where: locations a user may enter and permissions held there."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.auth.models import Role, RoleAssignment, RolePermission, User
from mango_core.tenancy.models import Location

# Permissions only operator staff may hold: never granted through a role, whatever it lists.
OPERATOR_ONLY = frozenset({"core.partners.manage"})


def allowed_location_ids(session: Session, user: User) -> list[int]:
    """Locations the user may work in, by code order: all active ones for operator staff."""
    query = select(Location.id).where(Location.is_active.is_(True)).order_by(Location.code)
    if not user.is_operator:
        query = query.where(
            Location.id.in_(select(RoleAssignment.location_id).where(RoleAssignment.user_id == user.id))
        )
        if user.partner_id is not None:
            query = query.where(Location.partner_id == user.partner_id)
    return list(session.scalars(query))


def permissions_in(session: Session, user: User, location_id: int | None, declared: set[str]) -> set[str]:
    """Permission codes the user holds in a location (operator staff hold every declared one)."""
    if not user.is_active or location_id is None:
        return set()
    if user.is_operator:
        return set(declared)
    codes = session.scalars(
        select(RolePermission.permission)
        .join(Role, Role.id == RolePermission.role_id)
        .join(RoleAssignment, RoleAssignment.role_id == Role.id)
        .where(RoleAssignment.user_id == user.id, RoleAssignment.location_id == location_id)
    )
    return (set(codes) & declared) - OPERATOR_ONLY


def permission_required(code: str) -> Callable:
    """Decorator for views: login, then the permission in the current location, else 403.

    The permission must belong to a module active in the location (checked by ``has``).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from mango_core.web.access import has_permission, record_denied

            if not has_permission(code):
                record_denied(code)
                abort(403)
            return view(*args, **kwargs)

        wrapped.mango_permission = code  # read by the contract test "every view checks a permission"
        return login_required(wrapped)

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view that deliberately needs no login (login page, health check)."""
    view.mango_public = True
    return view


def authenticated(view: Callable) -> Callable:
    """A view for any logged-in user, with no further permission (own profile, logout)."""
    view.mango_permission = "*authenticated*"
    return login_required(view)
