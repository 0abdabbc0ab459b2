"""Session events that keep every ORM statement inside the current location scope.

Two kinds of owned rows:

* tenant-owned (:class:`TenantMixin`, ``location_id``): visible in their location only;
* partner-owned (:class:`PartnerMixin`, ``partner_id``): shared by the partner's locations
  (service classes, products, partner-defined forms).

* ``do_orm_execute``: SELECT gets ``location_id IN (scope)`` / ``partner_id IN (partners of the
  scope)`` for every owned entity (``with_loader_criteria`` reaches joins, relationship loads
  and ORM-enabled bulk UPDATE/DELETE); UPDATE and DELETE are limited to the write location (and
  its partner); with no scope the statement is refused before it runs.
* ``before_flush``: new rows get the write location (or its partner); a row may not be written
  into, moved to, or deleted from another location or partner, nor reference (by foreign key)
  a row of another location (tenant to tenant) or of another partner (otherwise).
"""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.interfaces import MANYTOONE

from mango_core.db.base import PartnerMixin, TenantMixin
from mango_core.tenancy.context import TenancyError, TenantScope, scope_or_none

OWNED = (TenantMixin, PartnerMixin)
_installed = False


def install(_factory=None) -> None:  # noqa: ANN001
    """Install the guard on every SQLAlchemy Session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "do_orm_execute", _scope_statement)
    event.listen(Session, "before_flush", _check_flush)
    _installed = True


class GuardedSession(Session):
    """A session whose ``get`` answers only within the scope, even from its identity map.

    ``Session.get`` returns a row already loaded without any SQL, so ``do_orm_execute`` never sees
    it: a job that loaded a row in location A and then works in location B with the same session
    would get A's row back. Here it gets None (no such row in B), and no scope refuses as a query does.
    """

    def get(self, entity, ident, **kw):  # noqa: ANN001, ANN003, ANN201
        return self._in_scope(super().get(entity, ident, **kw))

    def get_one(self, entity, ident, **kw):  # noqa: ANN001, ANN003, ANN201
        from sqlalchemy.exc import NoResultFound

        found = self.get(entity, ident, **kw)
        if found is None:
            raise NoResultFound("No row was found when one was required")
        return found

    def _in_scope(self, obj):  # noqa: ANN001, ANN202
        if obj is None or not isinstance(obj, OWNED):
            return obj
        scope = scope_or_none()
        if scope is None:
            raise TenancyError("No location scope is set; refusing to read tenant-owned data.")
        if scope.all_locations:
            return obj
        if isinstance(obj, TenantMixin):
            return obj if scope.allows(obj.location_id) else None
        return obj if obj.partner_id in partners_of(self, tuple(sorted(scope.location_ids))) else None


def _is_owned_mapper(mapper) -> bool:  # noqa: ANN001
    return mapper is not None and issubclass(mapper.class_, OWNED)


def partners_of(session: Session, location_ids) -> tuple[int, ...]:  # noqa: ANN001
    """Partners of the given locations (a plain Core query: it does not pass this guard again).

    Cached per session: a location never changes its partner, and a session is short-lived.
    """
    _partner_of_location = session.info.setdefault("mango_partner_of_location", {})
    missing = [i for i in location_ids if i is not None and i not in _partner_of_location]
    if missing:
        from mango_core.tenancy.models import Location

        table = Location.__table__
        rows = session.connection().execute(
            select(table.c.id, table.c.partner_id).where(table.c.id.in_(missing))
        )
        _partner_of_location.update({location_id: partner_id for location_id, partner_id in rows})
    return tuple(sorted({_partner_of_location[i] for i in location_ids if i in _partner_of_location}))


def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    scope = scope_or_none()
    touches = any(_is_owned_mapper(m) for m in state.all_mappers)
    if state.is_insert:
        if touches and not state.execution_options.get("mango_tenant_stamped"):
            raise TenancyError(
                "Bulk INSERT into a tenant- or partner-owned table bypasses the location check; use "
                "session.add(), or stamp location_id/partner_id yourself and pass "
                "execution_options(mango_tenant_stamped=True)."
            )
        return
    if touches and state.is_update and _sets_owner(state):
        raise TenancyError("A bulk UPDATE may not change location_id or partner_id: rows never move.")
    if not touches:
        # all_mappers misses entities that appear only in FROM/JOIN (select(func.count()).select_from(M)).
        entities, raw = _owned_tables_in_cached(state.statement)
        touches = bool(entities)
        if raw and not (scope is not None and scope.all_locations):
            raise TenancyError(
                f"A Core statement on owned table(s) {', '.join(sorted(raw))} cannot be limited to "
                "the location scope; query the ORM entity instead (or use operator_scope())."
            )
    if scope is None:
        if touches:
            raise TenancyError("No location scope is set; refusing to query tenant-owned data.")
        location_ids: tuple = ()
        partner_ids: tuple = ()
    elif scope.all_locations:
        return
    else:
        # Reads see every location of the scope; UPDATE and DELETE only the write location.
        location_ids = tuple(sorted(scope.location_ids)) if state.is_select else (scope.write_location_id,)
        partner_ids = partners_of(state.session, location_ids)
    if (state.is_update or state.is_delete) and isinstance(state.parameters, list | tuple) and touches:
        # ORM bulk UPDATE/DELETE by primary key (a list of parameter rows) ignores loader criteria.
        raise TenancyError(
            "ORM bulk UPDATE/DELETE by primary key cannot be limited to the location scope; change the "
            "objects in the session or use update()/delete() with a WHERE clause."
        )
    state.statement = state.statement.options(
        with_loader_criteria(TenantMixin, lambda cls: cls.location_id.in_(location_ids), include_aliases=True),
        with_loader_criteria(PartnerMixin, lambda cls: cls.partner_id.in_(partner_ids), include_aliases=True),
    )


def _sets_owner(state: ORMExecuteState) -> bool:
    """Does an UPDATE (criteria or bulk by primary key) assign ``location_id`` or ``partner_id``?"""
    stmt = state.statement
    keys = list(getattr(stmt, "_values", None) or {})
    keys += [k for k, _ in getattr(stmt, "_ordered_values", None) or ()]
    params = state.parameters
    for row in params if isinstance(params, list | tuple) else [params or {}]:
        if isinstance(row, dict):
            keys += list(row)
    names = {getattr(k, "key", None) or getattr(k, "name", None) or str(k) for k in keys}
    return bool(names & {"location_id", "partner_id"})


_owned_table_cache: tuple[int, frozenset] = (-1, frozenset())


def _owned_tables() -> frozenset:
    """Tables of tenant- and partner-owned models (cached until another model is mapped)."""
    global _owned_table_cache
    from mango_core.db.base import Base

    mappers = Base.registry.mappers
    if _owned_table_cache[0] != len(mappers):
        tables = frozenset(m.local_table for m in mappers if issubclass(m.class_, OWNED))
        _owned_table_cache = (len(mappers), tables)
    return _owned_table_cache[1]


_seen_statements: OrderedDict = OrderedDict()
_SEEN_MAX = 4096


def _owned_tables_in_cached(statement):  # noqa: ANN001, ANN202
    """Walking a statement costs milliseconds; the answer depends only on its structure, which
    SQLAlchemy's cache key captures (the same key it uses for its compiled-SQL cache)."""
    cache_key = statement._generate_cache_key() if hasattr(statement, "_generate_cache_key") else None  # noqa: SLF001
    if cache_key is None:
        return _owned_tables_in(statement)
    key = (cache_key.key, len(_owned_tables()))
    found = _seen_statements.get(key)
    if found is None:
        found = _owned_tables_in(statement)
        _seen_statements[key] = found
        if len(_seen_statements) > _SEEN_MAX:
            _seen_statements.popitem(last=False)
    return found


def _owned_tables_in(statement) -> tuple[set[str], set[str]]:  # noqa: ANN001
    """Owned tables in a statement: (named through their ORM entity, only as raw Core tables).

    ``visitors.iterate`` yields equal tables once, annotated (ORM) or not, whichever it meets
    first, so the ORM entities are read from the FROM list, where ``select_from(M)`` keeps them.
    """
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.schema import Table

    if not hasattr(statement, "get_children"):
        return set(), set()
    owned = _owned_tables()
    present = {
        element.name
        for element in visitors.iterate(statement)
        if isinstance(element, Table) and element._deannotate() in owned  # noqa: SLF001
    }
    entities: set[str] = set()
    for from_ in getattr(statement, "get_final_froms", lambda: [])():
        for element in visitors.iterate(from_):
            if isinstance(element, Table) and "parententity" in getattr(element, "_annotations", {}):
                entities.add(element.name)
    entities &= present
    return entities, present - entities


def _check_flush(session: Session, _ctx, _instances) -> None:  # noqa: ANN001
    new = [o for o in session.new if isinstance(o, OWNED)]
    dirty = [o for o in session.dirty if isinstance(o, OWNED)]
    deleted = [o for o in session.deleted if isinstance(o, OWNED)]
    if not (new or dirty or deleted):
        return
    scope = scope_or_none()
    if scope is None:
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")
    for obj in new:
        _stamp(session, obj, scope)
        _check_references(session, obj)
    for obj in dirty:
        for attr in ("location_id", "partner_id"):
            if hasattr(obj, attr) and getattr(inspect(obj).attrs, attr).history.deleted:
                raise TenancyError(f"{type(obj).__name__} cannot be moved to another location or partner.")
        _check_writable(session, obj, scope)
        _check_references(session, obj)
    for obj in deleted:
        _check_writable(session, obj, scope)


def _write_partner(session: Session, scope: TenantScope) -> int | None:
    found = partners_of(session, (scope.write_location_id,)) if scope.write_location_id else ()
    return found[0] if found else None


def _stamp(session: Session, obj: object, scope: TenantScope) -> None:
    name = type(obj).__name__
    if isinstance(obj, TenantMixin):
        if obj.location_id is None:
            if scope.write_location_id is None:
                raise TenancyError(f"No write location in scope for new {name}.")
            obj.location_id = scope.write_location_id
        elif not scope.writable(obj.location_id):
            raise TenancyError(f"{name} may not be created in location {obj.location_id}.")
    else:
        if obj.partner_id is None:
            obj.partner_id = _write_partner(session, scope)
            if obj.partner_id is None:
                raise TenancyError(f"No write location (and so no partner) in scope for new {name}.")
        _check_writable(session, obj, scope)


def _check_writable(session: Session, obj: object, scope: TenantScope) -> None:
    if scope.all_locations:
        return
    if isinstance(obj, TenantMixin):
        if not scope.writable(obj.location_id):
            raise TenancyError(f"{type(obj).__name__} of location {obj.location_id} is out of scope.")
    elif obj.partner_id != _write_partner(session, scope):
        raise TenancyError(f"{type(obj).__name__} of partner {obj.partner_id} is out of scope.")


def _partner_of(session: Session, obj: object) -> int | None:
    if isinstance(obj, PartnerMixin):
        return obj.partner_id
    found = partners_of(session, (obj.location_id,))
    return found[0] if found else None


def _same_owner(session: Session, source: object, target_location: int | None, target_partner: int | None) -> bool:
    """Tenant rows refer within their location; anything else within the partner."""
    if isinstance(source, TenantMixin) and target_location is not None:
        return target_location == source.location_id
    if target_partner is None and target_location is not None:
        target_partner = (partners_of(session, (target_location,)) or (None,))[0]
    return target_partner is not None and target_partner == _partner_of(session, source)


def _check_references(session: Session, obj: object) -> None:
    """Refuse a foreign key from ``obj`` to an owned row of another location or partner."""
    mapper = inspect(obj).mapper
    checked_columns = set()
    for rel in mapper.relationships:
        if rel.direction is not MANYTOONE or not _is_owned_mapper(rel.mapper):
            continue
        target = inspect(obj).attrs[rel.key].loaded_value
        if not isinstance(target, OWNED):
            continue
        checked_columns.update(rel.local_columns)
        t_loc, t_partner = getattr(target, "location_id", None), getattr(target, "partner_id", None)
        if (t_loc, t_partner) == (None, None):
            continue  # a new row in the same flush: it is stamped from the same scope
        if not _same_owner(session, obj, t_loc, t_partner):
            raise TenancyError(f"{type(obj).__name__}.{rel.key} refers to a row of another location or partner.")
    for column in mapper.local_table.columns:
        if column.name in ("location_id", "partner_id") or column in checked_columns:
            continue
        for fk in column.foreign_keys:
            target_mapper = _mapper_for_table(fk.column.table, mapper.registry)
            if not _is_owned_mapper(target_mapper):
                continue
            value = getattr(obj, mapper.get_property_by_column(column).key)
            if value is None:
                continue
            table = fk.column.table
            owner_col = table.c.location_id if issubclass(target_mapper.class_, TenantMixin) else table.c.partner_id
            owner = session.connection().execute(select(owner_col).where(fk.column == value)).scalar_one_or_none()
            if owner is None:
                ok = False
            elif owner_col.name == "location_id":
                ok = _same_owner(session, obj, owner, None)
            else:
                ok = _same_owner(session, obj, None, owner)
            if not ok:
                raise TenancyError(
                    f"{type(obj).__name__}.{column.name}={value} refers to no row of this location or partner."
                )


def _mapper_for_table(table, registry=None):  # noqa: ANN001, ANN202
    from mango_core.db.base import Base

    for mapper in (registry or Base.registry).mappers:
        if mapper.local_table is table:
            return mapper
    return None
