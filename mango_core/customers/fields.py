"""The partner's custom customer fields: definitions (typed parameters) and customers' values.

A partner defines the fields once for all its locations (:class:`CustomerFieldSet`); each
change makes a new version. A customer's values are validated against the current version
when they are saved; values saved under an older version stay as they were until the next
edit, which shows what no longer fits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.customers.models import Customer, CustomerFieldSet
from mango_core.customers.service import _changed, _not_anonymised, _record
from mango_core.params import DefinitionSet, ParamDef, validate_values


def field_set_row(session: Session) -> CustomerFieldSet | None:
    """The partner's row (the tenant guard shows only the current partner's)."""
    return session.scalar(select(CustomerFieldSet).limit(1))


def definitions(session: Session) -> DefinitionSet:
    row = field_set_row(session)
    if row is None:
        return DefinitionSet((), 1)
    return DefinitionSet(tuple(ParamDef.from_dict(d) for d in row.definitions), row.version)


def save_definitions(session: Session, params: list[ParamDef], *, actor: int | None = None) -> DefinitionSet:
    """Replace the partner's definitions; the version goes up only when something changed."""
    current = definitions(session)
    new = current.changed(params)
    if new is current:
        return current
    row = field_set_row(session)
    data = [p.to_dict() for p in new.params]
    if row is None:
        row = CustomerFieldSet(definitions=data, version=new.version)
        session.add(row)
    else:
        row.definitions = data
        row.version = new.version
    session.flush()
    return new


def set_custom_fields(session: Session, customer: Customer, raw: dict[str, Any], *,
                      actor: int | None = None, reason: str | None = None) -> dict[str, tuple[Any, Any]]:
    """Validate ``raw`` against the current definitions (every error at once) and store the values."""
    _not_anonymised(customer)
    defs = definitions(session)
    values = validate_values(list(defs), raw)
    before = dict(customer.custom_fields or {})
    changes = {f"custom.{k}": (before.get(k), val) for k, val in values.items() if before.get(k) != val}
    changes.update({f"custom.{k}": (val, None) for k, val in before.items() if k not in values and val is not None})
    version_changed = customer.custom_fields_version != defs.version
    if not changes and not version_changed:
        return {}
    customer.custom_fields = values
    customer.custom_fields_version = defs.version
    session.flush()
    if changes:
        _record(session, customer, "custom_fields_changed", changes, actor=actor, reason=reason)
        _changed(customer, changes)
    return changes
