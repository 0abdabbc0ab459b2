"""Session events that keep every ORM statement inside the current location scope.

* ``do_orm_execute``: SELECT, UPDATE and DELETE get ``location_id IN (scope)`` for every
  tenant-owned entity (``with_loader_criteria`` reaches joins, relationship loads and
  ORM-enabled bulk UPDATE/DELETE); with no scope the statement is refused before it runs.
* ``before_flush``: new rows get the scope's write location; a row may not be written into,
  moved to, or deleted from a location outside the scope, nor reference (by foreign key) a
  tenant-owned row of another location.
"""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.interfaces import MANYTOONE

from mango_core.db.base import TenantMixin
from mango_core.tenancy.context import TenancyError, TenantScope, scope_or_none

_installed = False


def install(_factory=None) -> None:  # noqa: ANN001
    """Install the guard on every SQLAlchemy Session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "do_orm_execute", _scope_statement)
    event.listen(Session, "before_flush", _check_flush)
    _installed = True


def _is_tenant_mapper(mapper) -> bool:  # noqa: ANN001
    return mapper is not None and issubclass(mapper.class_, TenantMixin)


def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    scope = scope_or_none()
    touches_tenant = any(_is_tenant_mapper(m) for m in state.all_mappers)
    if state.is_insert:
        if touches_tenant and not state.execution_options.get("mango_tenant_stamped"):
            raise TenancyError(
                "Bulk INSERT into a tenant-owned table bypasses the location check; use "
                "session.add(), or stamp location_id yourself and pass "
                "execution_options(mango_tenant_stamped=True)."
            )
        return
    if touches_tenant and state.is_update and _sets_location(state):
        raise TenancyError("A bulk UPDATE may not change location_id: rows never move between locations.")
    if not touches_tenant:
        # all_mappers misses entities that appear only in FROM/JOIN (select(func.count()).select_from(M)).
        entities, raw = _tenant_tables_in(state.statement)
        touches_tenant = bool(entities)
        if raw and not (scope is not None and scope.all_locations):
            raise TenancyError(
                f"A Core statement on tenant-owned table(s) {', '.join(sorted(raw))} cannot be limited to "
                "the location scope; query the ORM entity instead (or use operator_scope())."
            )
    if scope is None:
        if touches_tenant:
            raise TenancyError("No location scope is set; refusing to query tenant-owned data.")
        criteria = lambda cls: cls.location_id.is_(None)  # noqa: E731 - matches nothing
    elif scope.all_locations:
        return
    else:
        # Reads see every location of the scope; UPDATE and DELETE only the write location.
        ids = tuple(sorted(scope.location_ids)) if state.is_select else (scope.write_location_id,)
        criteria = lambda cls: cls.location_id.in_(ids)  # noqa: E731
    if (state.is_update or state.is_delete) and isinstance(state.parameters, list | tuple) and touches_tenant:
        # ORM bulk UPDATE/DELETE by primary key (a list of parameter rows) ignores loader criteria.
        raise TenancyError(
            "ORM bulk UPDATE/DELETE by primary key cannot be limited to the location scope; change the "
            "objects in the session or use update()/delete() with a WHERE clause."
        )
    state.statement = state.statement.options(
        with_loader_criteria(TenantMixin, criteria, include_aliases=True)
    )


def _sets_location(state: ORMExecuteState) -> bool:
    """Does an UPDATE (criteria or bulk by primary key) assign ``location_id``?"""
    stmt = state.statement
    keys = list(getattr(stmt, "_values", None) or {})
    keys += [k for k, _ in getattr(stmt, "_ordered_values", None) or ()]
    params = state.parameters
    for row in params if isinstance(params, list | tuple) else [params or {}]:
        if isinstance(row, dict):
            keys += list(row)
    return any((getattr(k, "key", None) or getattr(k, "name", None) or str(k)) == "location_id" for k in keys)


_tenant_table_cache: tuple[int, frozenset] = (-1, frozenset())


def _tenant_tables() -> frozenset:
    """Tables of tenant-owned models (cached until another model is mapped)."""
    global _tenant_table_cache
    from mango_core.db.base import Base

    mappers = Base.registry.mappers
    if _tenant_table_cache[0] != len(mappers):
        tables = frozenset(m.local_table for m in mappers if issubclass(m.class_, TenantMixin))
        _tenant_table_cache = (len(mappers), tables)
    return _tenant_table_cache[1]


def _tenant_tables_in(statement) -> tuple[set[str], set[str]]:  # noqa: ANN001
    """Tenant-owned tables in a statement: (named through their ORM entity, only as raw Core tables).

    ``visitors.iterate`` yields equal tables once, annotated (ORM) or not, whichever it meets
    first, so the ORM entities are read from the FROM list, where ``select_from(M)`` keeps them.
    """
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.schema import Table

    if not hasattr(statement, "get_children"):
        return set(), set()
    tenant = _tenant_tables()
    present = {
        element.name
        for element in visitors.iterate(statement)
        if isinstance(element, Table) and element._deannotate() in tenant  # noqa: SLF001
    }
    entities: set[str] = set()
    for from_ in getattr(statement, "get_final_froms", lambda: [])():
        for element in visitors.iterate(from_):
            if isinstance(element, Table) and "parententity" in getattr(element, "_annotations", {}):
                entities.add(element.name)
    entities &= present
    return entities, present - entities


def _check_flush(session: Session, _ctx, _instances) -> None:  # noqa: ANN001
    tenant_new = [o for o in session.new if isinstance(o, TenantMixin)]
    tenant_dirty = [o for o in session.dirty if isinstance(o, TenantMixin)]
    tenant_deleted = [o for o in session.deleted if isinstance(o, TenantMixin)]
    if not (tenant_new or tenant_dirty or tenant_deleted):
        return
    scope = scope_or_none()
    if scope is None:
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")
    for obj in tenant_new:
        if obj.location_id is None:
            if scope.write_location_id is None:
                raise TenancyError(f"No write location in scope for new {type(obj).__name__}.")
            obj.location_id = scope.write_location_id
        elif not scope.writable(obj.location_id):
            raise TenancyError(f"{type(obj).__name__} may not be created in location {obj.location_id}.")
        _check_references(session, obj, scope)
    for obj in tenant_dirty:
        hist = inspect(obj).attrs.location_id.history
        if hist.deleted:
            raise TenancyError(f"{type(obj).__name__} cannot be moved to another location.")
        if not scope.writable(obj.location_id):
            raise TenancyError(f"{type(obj).__name__} of location {obj.location_id} is out of scope.")
        _check_references(session, obj, scope)
    for obj in tenant_deleted:
        if not scope.writable(obj.location_id):
            raise TenancyError(f"{type(obj).__name__} of location {obj.location_id} is out of scope.")


def _check_references(session: Session, obj: TenantMixin, scope: TenantScope) -> None:
    """Refuse a foreign key from ``obj`` to a tenant-owned row of another location."""
    mapper = inspect(obj).mapper
    checked_columns = set()
    for rel in mapper.relationships:
        if rel.direction is not MANYTOONE or not _is_tenant_mapper(rel.mapper):
            continue
        target = inspect(obj).attrs[rel.key].loaded_value
        if not isinstance(target, TenantMixin):
            continue
        checked_columns.update(rel.local_columns)
        if target.location_id is not None and target.location_id != obj.location_id:
            raise TenancyError(
                f"{type(obj).__name__}.{rel.key} refers to a row of another location."
            )
    for column in mapper.local_table.columns:
        if column.name == "location_id" or column in checked_columns:
            continue
        for fk in column.foreign_keys:
            target_mapper = _mapper_for_table(fk.column.table, mapper.registry)
            if not _is_tenant_mapper(target_mapper):
                continue
            value = getattr(obj, mapper.get_property_by_column(column).key)
            if value is None:
                continue
            table = fk.column.table
            owner = session.connection().execute(
                select(table.c.location_id).where(fk.column == value)
            ).scalar_one_or_none()
            if owner is None or owner != obj.location_id or not scope.allows(owner):
                raise TenancyError(
                    f"{type(obj).__name__}.{column.name}={value} refers to no row of this location."
                )


def _mapper_for_table(table, registry=None):  # noqa: ANN001, ANN202
    from mango_core.db.base import Base

    for mapper in (registry or Base.registry).mappers:
        if mapper.local_table is table:
            return mapper
    return None
