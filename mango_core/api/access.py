"""Who the request's token speaks for, and where it may read and write.

At every request the token's reach is worked out afresh from its user: the locations the user
may enter (:func:`mango_core.auth.access.allowed_location_ids`) where the user holds
``core.api.use``, narrowed to the token's own location when it has one. Within them a resource
is readable where the user holds its read permission and its module is active, writable where
the user holds its write permission. Nothing comes from a browser session: no cookie, no CSRF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.api.models import ApiToken
from mango_core.api.problems import ApiProblem
from mango_core.api.resources import ApiResource, plugins_of
from mango_core.api.tokens import check
from mango_core.auth.access import allowed_location_ids, permissions_in
from mango_core.auth.models import User
from mango_core.kernel import Mango
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_

USE = "core.api.use"
MANAGE = "core.api.manage"
REALM = 'Bearer realm="Mango API"'

INVALID = {
    "malformed": N_("The token is not a Mango API token."),
    "unknown": N_("The token is not known."),
    "revoked": N_("The token has been revoked."),
    "expired": N_("The token has expired."),
    "disabled": N_("The token's user is disabled."),
}


def unauthorized(detail: str, error: str | None = None) -> ApiProblem:
    challenge = REALM if error is None else f'{REALM}, error="{error}"'
    return ApiProblem(401, detail, headers={"WWW-Authenticate": challenge})


@dataclass
class ApiAccess:
    """The token, its user and the permissions the user holds in each location the token reaches."""

    mango: Mango
    session: Session
    token: ApiToken
    user: User
    location_ids: list[int]  # ordered by location code
    _permissions: dict[int, set[str]] = field(default_factory=dict)
    _active: dict[int, set[str]] = field(default_factory=dict)

    @cached_property
    def locations(self) -> dict[int, Location]:
        rows = self.session.scalars(select(Location).where(Location.id.in_(self.location_ids)))
        return {loc.id: loc for loc in rows}

    def code_of(self, location_id: int) -> str:
        return self.locations[location_id].code

    def by_code(self, code: str) -> int | None:
        return next((i for i, loc in self.locations.items() if loc.code == code), None)

    def permissions(self, location_id: int) -> set[str]:
        if location_id not in self._permissions:
            self._permissions[location_id] = permissions_in(self.session, self.user, location_id,
                                                            set(self.mango.permissions))
        return self._permissions[location_id]

    def active(self, location_id: int) -> set[str]:
        if location_id not in self._active:
            self._active[location_id] = self.mango.plugins.active_names(location_id)
        return self._active[location_id]

    def can(self, location_id: int, code: str, resource: ApiResource) -> bool:
        """Does the user hold ``code`` here, with the modules of the resource and of the permission active?"""
        needed = plugins_of(resource, code, self.mango)  # the core's own: active everywhere, nothing to ask
        return (not needed or needed <= self.active(location_id)) and code in self.permissions(location_id)

    def available(self, location_id: int, resource: ApiResource) -> bool:
        needed = plugins_of(resource, None, self.mango)
        return not needed or needed <= self.active(location_id)

    def where(self, code: str, resource: ApiResource) -> list[int]:
        return [loc for loc in self.location_ids if self.can(loc, code, resource)]


def authenticate(mango: Mango, session: Session, header: str | None, ip: str | None) -> ApiAccess:
    """The access of the request's bearer token; 401 (with WWW-Authenticate) without a live one."""
    if not header:
        raise unauthorized(N_("Send a personal API token: Authorization: Bearer <token>."))
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise unauthorized(N_("Send a personal API token: Authorization: Bearer <token>."), "invalid_request")
    found = check(session, secret.strip(), ip=ip)
    if found.token is None:
        raise unauthorized(INVALID[found.problem or "unknown"], "invalid_token")
    if session.dirty:  # the last use was recorded: keep it whatever the request does next
        session.commit()
    token, user = found.token, found.token.user
    reach = [loc for loc in allowed_location_ids(session, user)
             if token.location_id is None or loc == token.location_id]
    access = ApiAccess(mango, session, token, user, reach)
    access.location_ids = [loc for loc in reach if USE in access.permissions(loc)]
    if not access.location_ids:
        raise ApiProblem(403, N_("The token's user may use the API in none of its locations (%(code)s)."),
                         params={"code": USE})
    return access
