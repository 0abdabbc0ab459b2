"""Tenancy: operator → partners → locations, licences, and the location scope of every query."""

from mango_core.tenancy.context import (
    TenancyError,
    TenantScope,
    current_scope,
    location_scope,
    operator_scope,
    scope_or_none,
    use_scope,
)

__all__ = [
    "TenancyError",
    "TenantScope",
    "current_scope",
    "location_scope",
    "operator_scope",
    "scope_or_none",
    "use_scope",
]
