"""Managing staff accounts and roles (the Opcare administration pages call these).

Every function takes the acting user (:class:`Actor`) and enforces who may see and change what:

* operator staff see and manage every user and role;
* partner staff see only the users and roles of their own partner (anything else is
  :class:`NotFound`, shown as 404), plus the operator's roles as read-only templates;
* a role is assigned only in a location of the user's partner, only by someone who manages
  users there, and only when the actor holds every permission of the role in that location
  (nobody hands out more than they have);
* operator-only permissions (``core.partners.manage``) are never part of a role.

Bad input raises :class:`AuthInputError` and changes nothing. The caller commits.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from mango_core.auth import audit, service
from mango_core.auth.access import OPERATOR_ONLY, permissions_in
from mango_core.auth.errors import AuthInputError
from mango_core.auth.models import Role, RoleAssignment, RolePermission, User
from mango_core.permissions import Permission
from mango_core.tenancy.models import Location, Partner

MANAGE_USERS = "core.users.manage"


class NotFound(LookupError):
    """The object does not exist or the actor may not see it (the same answer for both)."""


@dataclass(frozen=True)
class Actor:
    """Who acts, in which location, against which set of declared permissions."""

    user: User
    location_id: int | None
    declared: frozenset[str]
    session_id: int | None = None  # the actor's own login session (kept when changing passwords)

    @property
    def is_operator(self) -> bool:
        return self.user.is_operator

    @property
    def partner_id(self) -> int | None:
        return self.user.partner_id

    def permissions_at(self, session: Session, location_id: int | None) -> set[str]:
        return permissions_in(session, self.user, location_id, set(self.declared))


# --- users -------------------------------------------------------------------------------------


@dataclass
class UserRow:
    user: User
    partner: Partner | None
    # (location, role names) in location code order
    roles: list[tuple[Location, list[str]]] = field(default_factory=list)


def _visible_users(actor: Actor):  # noqa: ANN202
    query = select(User)
    if not actor.is_operator:
        query = query.where(User.partner_id == actor.partner_id, User.is_operator.is_(False))
    return query


def list_users(
    session: Session,
    actor: Actor,
    *,
    text: str | None = None,
    active: bool | None = None,
    partner_id: int | None = None,
) -> list[UserRow]:
    """Users the actor may see, filtered by name/e-mail text, state and (operator) partner."""
    query = _visible_users(actor).options(selectinload(User.assignments).selectinload(RoleAssignment.role))
    if text:
        needle = f"%{text.strip().lower()}%"
        query = query.where(or_(func.lower(User.name).like(needle), func.lower(User.email).like(needle)))
    if active is not None:
        query = query.where(User.is_active.is_(active))
    if partner_id is not None and actor.is_operator:
        query = query.where(User.partner_id == partner_id)
    users = list(session.scalars(query.order_by(User.is_operator.desc(), User.name, User.email)))
    partners = {p.id: p for p in session.scalars(select(Partner))}
    location_ids = {a.location_id for u in users for a in u.assignments}
    locations = (
        {loc.id: loc for loc in session.scalars(select(Location).where(Location.id.in_(location_ids)))}
        if location_ids else {}
    )
    return [UserRow(u, partners.get(u.partner_id), roles_by_location(u, locations)) for u in users]


def roles_by_location(user: User, locations: dict[int, Location]) -> list[tuple[Location, list[str]]]:
    grouped: dict[int, list[str]] = {}
    for assignment in user.assignments:
        grouped.setdefault(assignment.location_id, []).append(assignment.role.name)
    ordered = sorted(grouped, key=lambda loc_id: locations[loc_id].code)
    return [(locations[loc_id], sorted(grouped[loc_id])) for loc_id in ordered]


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.scalar(_visible_users(actor).where(User.id == user_id))
    if user is None:
        raise NotFound(user_id)
    return user


def partner_by_id(session: Session, partner_id: int | None) -> Partner | None:
    return session.get(Partner, partner_id) if partner_id is not None else None


def partner_of(session: Session, user: User) -> Partner | None:
    return partner_by_id(session, user.partner_id)


def partner_choices(session: Session, actor: Actor) -> list[Partner]:
    """Partners a new user may belong to: all for the operator, the own one otherwise."""
    query = select(Partner).order_by(Partner.name)
    if not actor.is_operator:
        query = query.where(Partner.id == actor.partner_id)
    return list(session.scalars(query))


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    password: str,
    locale: str | None = None,
    is_operator: bool = False,
    partner_id: int | None = None,
) -> User:
    """Operator staff create operator or partner users; partner staff only users of their partner."""
    if not actor.is_operator:
        is_operator, partner_id = False, actor.partner_id
    if is_operator:
        partner_id = None
    elif partner_id is None or session.get(Partner, partner_id) is None:
        raise AuthInputError("Choose the partner the user belongs to.")
    user = service.create_user(
        session, email=email, name=name, password=password, partner_id=partner_id,
        is_operator=is_operator, locale=locale,
    )
    audit.record(session, audit.USER_CREATED, user=user, location_id=actor.location_id,
                 detail=f"by {actor.user.email}")
    return user


def update_user(session: Session, actor: Actor, user: User, *, name: str, locale: str | None) -> None:
    name = name.strip()
    if not name:
        raise AuthInputError("The name must not be empty.")
    user.name = name
    user.locale = locale or None
    session.flush()


def set_user_password(session: Session, actor: Actor, user: User, password: str) -> int:
    """Set a password; the user's other sessions end (the actor's own one stays)."""
    keep = actor.session_id if user.id == actor.user.id else None
    return service.set_password(session, user, password, by=actor.user, keep_session_id=keep)


def disable_user(session: Session, actor: Actor, user: User) -> int:
    if user.id == actor.user.id:
        raise AuthInputError("You cannot disable your own account.")
    if not user.is_active:
        raise AuthInputError("The user is already disabled.")
    return service.disable_user(session, user, by=actor.user)


def enable_user(session: Session, actor: Actor, user: User) -> None:
    if user.is_active:
        raise AuthInputError("The user is already active.")
    service.enable_user(session, user, by=actor.user)


# --- role assignments --------------------------------------------------------------------------


def user_locations(session: Session, user: User) -> dict[int, Location]:
    """Locations of the user's partner (none for operator users)."""
    if user.partner_id is None:
        return {}
    query = select(Location).where(Location.partner_id == user.partner_id).order_by(Location.code)
    return {loc.id: loc for loc in session.scalars(query)}


def assignable_locations(session: Session, actor: Actor, user: User) -> list[Location]:
    """Locations of the user's partner where the actor manages users."""
    if user.is_operator:
        return []
    return [
        loc for loc in user_locations(session, user).values()
        if loc.is_active and MANAGE_USERS in actor.permissions_at(session, loc.id)
    ]


def assignable_roles(session: Session, user: User) -> list[Role]:
    """Roles of the user's own partner (operator templates are copied first, not assigned)."""
    if user.partner_id is None:
        return []
    return list(session.scalars(
        select(Role).where(Role.partner_id == user.partner_id).order_by(Role.name)
    ))


def assign_role(session: Session, actor: Actor, user: User, *, role_id: int, location_id: int) -> RoleAssignment:
    if user.is_operator:
        raise AuthInputError("Operator users hold every permission; they get no roles.")
    location = next((loc for loc in assignable_locations(session, actor, user) if loc.id == location_id), None)
    if location is None:
        raise AuthInputError("You cannot assign roles in that location.")
    role = next((r for r in assignable_roles(session, user) if r.id == role_id), None)
    if role is None:
        raise AuthInputError("Choose a role of the user's partner.")
    missing = role.permission_codes - actor.permissions_at(session, location_id)
    if missing:
        raise AuthInputError(
            "You cannot grant permissions you do not hold in that location: %(codes)s",
            codes=", ".join(sorted(missing)),
        )
    exists = session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role_id == role.id,
        RoleAssignment.location_id == location_id,
    ))
    if exists is not None:
        raise AuthInputError("The user already holds this role in this location.")
    assignment = RoleAssignment(user_id=user.id, role_id=role.id, location_id=location_id)
    session.add(assignment)
    session.flush()
    audit.record(session, audit.ROLE_ASSIGNED, user=user, location_id=location_id,
                 detail=f"{role.name} by {actor.user.email}")
    return assignment


def remove_assignment(session: Session, actor: Actor, user: User, assignment_id: int) -> None:
    assignment = session.scalar(select(RoleAssignment).where(
        RoleAssignment.id == assignment_id, RoleAssignment.user_id == user.id
    ))
    if assignment is None:
        raise NotFound(assignment_id)
    if assignment.location_id not in {loc.id for loc in assignable_locations(session, actor, user)}:
        raise AuthInputError("You cannot remove roles in that location.")
    role_name = assignment.role.name
    location_id = assignment.location_id
    session.delete(assignment)
    session.flush()
    session.expire(user, ["assignments"])
    audit.record(session, audit.ROLE_REMOVED, user=user, location_id=location_id,
                 detail=f"{role_name} by {actor.user.email}")


# --- roles -------------------------------------------------------------------------------------


def visible_roles(session: Session, actor: Actor) -> list[Role]:
    """Operator: every role. Partner staff: own partner's roles and the operator's templates."""
    query = select(Role).options(selectinload(Role.permissions))
    if not actor.is_operator:
        query = query.where(or_(Role.partner_id == actor.partner_id, Role.partner_id.is_(None)))
    roles = session.scalars(query)
    return sorted(roles, key=lambda r: (r.partner_id is not None, r.partner_id or 0, r.name.lower()))


def get_role(session: Session, actor: Actor, role_id: int) -> Role:
    role = session.get(Role, role_id)
    if role is None or not (actor.is_operator or role.partner_id in (None, actor.partner_id)):
        raise NotFound(role_id)
    return role


def can_edit_role(actor: Actor, role: Role) -> bool:
    return actor.is_operator or (role.partner_id is not None and role.partner_id == actor.partner_id)


def grantable_permissions(session: Session, actor: Actor) -> set[str]:
    """Permissions the actor may put into roles: those held here, never operator-only ones."""
    held = set(actor.declared) if actor.is_operator else actor.permissions_at(session, actor.location_id)
    return held - OPERATOR_ONLY


def save_role(
    session: Session,
    actor: Actor,
    role: Role | None,
    *,
    name: str,
    description: str,
    permissions: set[str],
    partner_id: int | None = None,
) -> Role:
    """Create (``role`` None) or change a role.

    Permissions the actor cannot grant stay as they were: neither added nor removed.
    ``partner_id`` (the owner of a new role) is the operator's choice; partner staff always
    create roles of their own partner.
    """
    if role is not None and not can_edit_role(actor, role):
        raise NotFound(role.id)
    name = name.strip()
    if not name:
        raise AuthInputError("The role name must not be empty.")
    unknown = permissions - set(actor.declared)
    if unknown:
        raise AuthInputError("Unknown permissions: %(codes)s", codes=", ".join(sorted(unknown)))
    if permissions & OPERATOR_ONLY:
        raise AuthInputError(
            "These permissions belong to operator staff only: %(codes)s",
            codes=", ".join(sorted(permissions & OPERATOR_ONLY)),
        )
    grantable = grantable_permissions(session, actor)
    existing = role.permission_codes if role is not None else set()
    refused = permissions - grantable - existing
    if refused:
        raise AuthInputError(
            "You cannot grant permissions you do not hold in that location: %(codes)s",
            codes=", ".join(sorted(refused)),
        )
    new_codes = (permissions & grantable) | (existing - grantable)
    if role is None:
        owner = partner_id if actor.is_operator else actor.partner_id
        if owner is not None and session.get(Partner, owner) is None:
            raise AuthInputError("Choose the partner the role belongs to.")
    else:
        owner = role.partner_id
    clash = session.scalar(select(Role.id).where(
        func.lower(Role.name) == name.lower(),
        Role.partner_id.is_(None) if owner is None else Role.partner_id == owner,
        Role.id != (role.id if role is not None else -1),
    ))
    if clash is not None:
        raise AuthInputError("A role named %(name)s already exists.", name=name)
    if role is None:
        role = Role(partner_id=owner, name=name)
        session.add(role)
    added, removed = new_codes - existing, existing - new_codes
    role.name = name
    role.description = description.strip()
    role.permissions = [p for p in role.permissions if p.permission in new_codes] + [
        RolePermission(permission=code) for code in sorted(added)
    ]
    session.flush()
    changes = " ".join([*(f"+{c}" for c in sorted(added)), *(f"-{c}" for c in sorted(removed))])
    audit.record(session, audit.ROLE_CHANGED, user=actor.user, location_id=actor.location_id,
                 detail=f"role {role.id} {role.name!r} (partner {owner}): {changes or 'no permission change'}")
    return role


def permission_groups(permissions: dict[str, Permission], titles: dict[str, str]) -> OrderedDict:
    """Permissions a role can hold, grouped by the plugin that declares them (core first)."""
    groups: OrderedDict[str, tuple[str, list[Permission]]] = OrderedDict()
    for code in sorted(set(permissions) - OPERATOR_ONLY, key=lambda c: (c.split(".", 1)[0] != "core", c)):
        perm = permissions[code]
        groups.setdefault(perm.plugin, (titles.get(perm.plugin, perm.plugin), []))[1].append(perm)
    return groups
