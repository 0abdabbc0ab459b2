"""The location scope of the running request, job or command.

A scope lists the locations whose rows may be read and changed, and the one location new rows
are written to. Code that runs for one location (a request, a job run) sets a scope; code that
must see every location (operator tools) says so explicitly with :func:`operator_scope`.
Without a scope, any ORM statement on a tenant-owned model raises :class:`TenancyError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class TenancyError(RuntimeError):
    """A tenant-owned row was touched outside the allowed locations, or with no scope at all."""


@dataclass(frozen=True)
class TenantScope:
    location_ids: frozenset[int]
    write_location_id: int | None
    all_locations: bool = False

    def allows(self, location_id: int | None) -> bool:
        """May rows of this location be read?"""
        return self.all_locations or location_id in self.location_ids

    def writable(self, location_id: int | None) -> bool:
        """May rows of this location be created, changed or deleted? (only the write location)"""
        return self.all_locations or (location_id is not None and location_id == self.write_location_id)


_scope: ContextVar[TenantScope | None] = ContextVar("mango_tenant_scope", default=None)


def scope_or_none() -> TenantScope | None:
    return _scope.get()


def current_scope() -> TenantScope:
    scope = _scope.get()
    if scope is None:
        raise TenancyError(
            "No location scope is set: tenant-owned data cannot be read or written. "
            "Wrap the code in location_scope(...) (or operator_scope() for operator tools)."
        )
    return scope


@contextmanager
def use_scope(scope: TenantScope | None) -> Iterator[TenantScope | None]:
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def location_scope(location_id: int, also_read: Iterable[int] = ()):  # noqa: ANN201
    """Scope of one location; ``also_read`` adds locations that may be read but not written."""
    return use_scope(TenantScope(frozenset({location_id, *also_read}), location_id))


def operator_scope(write_location_id: int | None = None):  # noqa: ANN201
    """Every location, explicitly: for the operator's tools, migrations and tests."""
    return use_scope(TenantScope(frozenset(), write_location_id, all_locations=True))
