"""A generic row factory: a valid row of any model, for contract tests over every model.

``make_row(session, Model)`` fills every required column by its type, creates the rows that
required foreign keys point to (recursively; tenant-owned ones in the same location as the new
row) and flushes. Unique columns get fresh values. A model whose rows need more care (check
constraints, JSON of a given shape) defines::

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):
        return cls(...)          # unsaved; make_row adds, stamps and flushes it

Tenant-owned rows are written in the current location scope (``location_scope(...)``), or in
the location given as ``location_id=``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import uuid
from typing import Any

from sqlalchemy import inspect
from sqlalchemy import types as sa_types
from sqlalchemy.orm import Session

from mango_core.db.base import Base, PartnerMixin, TenantMixin
from mango_core.db.types import Money, UTCDateTime
from mango_core.tenancy.context import scope_or_none

_counter = itertools.count(1)


class FactoryError(RuntimeError):
    pass


def model_for_table(table_name: str) -> type | None:
    for mapper in Base.registry.mappers:
        if mapper.local_table is not None and mapper.local_table.name == table_name:
            return mapper.class_
    return None


def value_for(column, n: int) -> Any:  # noqa: ANN001
    """A valid value for ``column`` (unique per ``n``)."""
    col_type = column.type
    if isinstance(col_type, Money):
        return decimal.Decimal(n % 1000) + decimal.Decimal("0.50")
    if isinstance(col_type, UTCDateTime):
        return dt.datetime.now(dt.UTC)
    if isinstance(col_type, sa_types.Enum):
        if col_type.enum_class is not None:
            return next(iter(col_type.enum_class))
        return col_type.enums[0]
    if isinstance(col_type, sa_types.Boolean):
        return False
    if isinstance(col_type, sa_types.Integer):
        return n
    if isinstance(col_type, sa_types.Numeric):
        return decimal.Decimal(n % 1000) if col_type.asdecimal else float(n % 1000)
    if isinstance(col_type, sa_types.Float):
        return float(n)
    if isinstance(col_type, sa_types.DateTime):
        now = dt.datetime.now(dt.UTC)
        return now if col_type.timezone else now.replace(tzinfo=None)
    if isinstance(col_type, sa_types.Date):
        return dt.date.today()
    if isinstance(col_type, sa_types.Time):
        return dt.time(12, 0)
    if isinstance(col_type, sa_types.Interval):
        return dt.timedelta(minutes=n)
    if isinstance(col_type, sa_types.JSON):
        return {}
    if isinstance(col_type, sa_types.Uuid):
        return uuid.uuid4() if col_type.as_uuid else str(uuid.uuid4())
    if isinstance(col_type, sa_types.LargeBinary):
        return f"t{n}".encode()
    if isinstance(col_type, sa_types.String):  # includes Text
        length = getattr(col_type, "length", None) or 40
        text = f"t{n}" if length < 12 else f"t{n}-{uuid.uuid4().hex[:8]}"
        if "email" in column.name:
            text = f"t{n}@factory.test"
        return text[:length]
    python_type = None
    try:
        python_type = col_type.python_type
    except NotImplementedError:
        pass
    if python_type is str:
        return f"t{n}"
    if python_type is int:
        return n
    raise FactoryError(f"make_row cannot fill {column.table.name}.{column.name} of type {col_type!r}; "
                       "give the model a __mango_test_factory__ classmethod.")


def _needs_value(column) -> bool:  # noqa: ANN001
    if column.nullable or column.default is not None or column.server_default is not None:
        return False
    if column.primary_key and column.autoincrement in (True, "auto") and isinstance(column.type, sa_types.Integer):
        return len(column.table.primary_key.columns) > 1
    return True


def make_row(session: Session, model: type, *, location_id: int | None = None, _depth: int = 0, **overrides: Any):
    """Create, add and flush a valid row of ``model``; return it."""
    if _depth > 8:
        raise FactoryError(f"make_row: foreign keys of {model.__name__} nest too deep (a cycle?)")
    tenant = issubclass(model, TenantMixin)
    if tenant and location_id is None:
        scope = scope_or_none()
        location_id = scope.write_location_id if scope else None
        if location_id is None:
            raise FactoryError(f"{model.__name__} is tenant-owned: give location_id or set a location scope.")
    factory = getattr(model, "__mango_test_factory__", None)
    if factory is not None:
        obj = factory(session, **overrides)
    else:
        obj = model(**_values(session, model, location_id, _depth, overrides))
    if tenant and getattr(obj, "location_id", None) is None:
        obj.location_id = location_id
    session.add(obj)
    session.flush()
    return obj


def _values(session: Session, model: type, location_id: int | None, depth: int, overrides: dict[str, Any]) -> dict:
    mapper = inspect(model)
    values: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        if prop.key in overrides:
            continue
        column = prop.columns[0]
        if column.table is not mapper.local_table:
            continue
        if column.name == "location_id" and location_id is not None:
            values[prop.key] = location_id
            continue
        if column.name == "partner_id" and issubclass(model, PartnerMixin):
            continue  # stamped by the tenant guard from the scope's write location
        if not _needs_value(column):
            continue
        if column.foreign_keys:
            fk = next(iter(column.foreign_keys))
            target_table = fk.column.table
            target = model_for_table(target_table.name)
            if target is None:
                raise FactoryError(f"make_row: no model for table {target_table.name}")
            if target_table.name == "core_location":
                values[prop.key] = location_id if location_id is not None else _any_location(session, depth)
                continue
            parent = make_row(session, target, location_id=location_id if issubclass(target, TenantMixin) else None,
                              _depth=depth + 1)
            values[prop.key] = getattr(parent, inspect(target).get_property_by_column(fk.column).key)
            continue
        values[prop.key] = value_for(column, next(_counter))
    values.update(overrides)
    return values


def _any_location(session: Session, depth: int) -> int:
    from mango_core.tenancy.models import Location

    return make_row(session, Location, _depth=depth + 1).id
