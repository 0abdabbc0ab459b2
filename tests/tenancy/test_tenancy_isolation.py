"""Tenant isolation matrix: every tenant-owned model (core and plugins), discovered automatically.

For each model a row is made in location A (PRG, partner ALFA) and one in location B (BRN,
partner BETA) with the generic row factory. In A's scope nothing of B can be read, updated,
deleted or referenced; without a scope nothing runs at all; the operator's scope sees both.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points

import pytest
from sqlalchemy import ForeignKey, String, UniqueConstraint, delete, func, inspect, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship

from mango_core.db.base import TenantMixin
from mango_core.plugins.manager import CORE_MODULES, ENTRY_POINT_GROUP
from mango_core.tenancy import TenancyError, location_scope, operator_scope, use_scope
from mango_core.tenancy.models import Location
from mango_core.testing.factories import make_row, value_for


def _discover() -> dict[str, type]:
    """Tenant-owned models of the core and of every installed plugin (at collection time)."""
    modules = [importlib.import_module(name) for name in CORE_MODULES]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = ep.load()
            meta = getattr(module, "PLUGIN", None)
            modules += [module, *(importlib.import_module(part) for part in getattr(meta, "parts", ()))]
        except Exception:  # noqa: BLE001 - a broken plugin fails its own tests, not the matrix
            continue
    found: dict[str, type] = {}
    for module in modules:
        hook = getattr(module, "mango_models", None)
        if hook is None:
            continue
        for model in hook():
            if issubclass(model, TenantMixin):
                found[model.__tablename__] = model
    return found


DISCOVERED = _discover()
TABLES = sorted(DISCOVERED)


def test_matrix_covers_every_loaded_tenant_model(mango):
    loaded = {m.__tablename__ for m in mango.models if issubclass(m, TenantMixin)}
    assert loaded, "no tenant-owned model is loaded"
    assert loaded <= set(TABLES), f"tenant models missing from the matrix: {loaded - set(TABLES)}"
    assert {"core_bank_account", "core_job_run"} <= loaded


@dataclass
class Pair:
    model: type
    a: tuple  # primary key identity of the row in location A
    b: tuple
    loc_a: int
    loc_b: int

    def where(self, identity: tuple):  # noqa: ANN201
        cols = inspect(self.model).primary_key
        return [c == v for c, v in zip(cols, identity, strict=True)]


def _identity(obj) -> tuple:  # noqa: ANN001
    return inspect(obj).identity


@pytest.fixture(params=TABLES)
def pair(request, mango, db, world) -> Pair:
    table = request.param
    model = next((m for m in mango.models if m.__tablename__ == table), None)
    if model is None:
        pytest.skip(f"{table}: its plugin is not loaded in this test run")
    with location_scope(world.loc_a.id):
        a = make_row(db, model)
    with location_scope(world.loc_b.id):
        b = make_row(db, model)
    assert (a.location_id, b.location_id) == (world.loc_a.id, world.loc_b.id)
    pair = Pair(model, _identity(a), _identity(b), world.loc_a.id, world.loc_b.id)
    db.commit()
    return pair


@pytest.fixture
def fresh(mango) -> Iterator[Session]:
    """A new session (empty identity map) on the test's transaction."""
    session = mango.db.Session()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def _mutable_attr(model: type) -> tuple[str, object]:
    """A plain column (not key, not foreign key) and a new value for it."""
    mapper = inspect(model)
    for prop in mapper.column_attrs:
        col = prop.columns[0]
        if col.primary_key or col.foreign_keys or col.name == "location_id" or col.table is not mapper.local_table:
            continue
        return prop.key, value_for(col, 99999)
    pytest.skip(f"{model.__name__} has no plain column to change")


def _count_in(session: Session, model: type, location_id: int) -> int:
    with operator_scope():
        return session.scalar(select(func.count()).select_from(model).where(model.location_id == location_id))


def test_cannot_read_other_location(pair: Pair, fresh: Session):
    m = pair.model
    expected = _count_in(fresh, m, pair.loc_a)
    with location_scope(pair.loc_a):
        rows = fresh.scalars(select(m)).all()
        assert rows and {r.location_id for r in rows} == {pair.loc_a}
        assert pair.b not in {_identity(r) for r in rows}
        assert fresh.get(m, pair.b) is None
        assert fresh.get(m, pair.a) is not None
        assert fresh.scalar(select(m).where(*pair.where(pair.b))) is None
        assert fresh.scalar(select(func.count()).select_from(m)) == expected
        assert fresh.scalar(select(func.count(m.location_id))) == expected
        # joins from operator-level data and from an alias of the model itself
        codes = set(fresh.scalars(select(Location.code).join(m, m.location_id == Location.id)))
        assert codes == {"PRG"}
        other = aliased(m)
        joined = fresh.execute(select(m.location_id, other.location_id).join(other, other.location_id != m.location_id)).all()
        assert joined == []
        assert set(fresh.scalars(select(m.location_id).distinct())) == {pair.loc_a}
        # the raw table cannot be read around the filter
        with pytest.raises(TenancyError):
            fresh.execute(select(m.__table__))


def test_cannot_update_other_location(pair: Pair, fresh: Session):
    m = pair.model
    key, value = _mutable_attr(m)
    with operator_scope():
        row_b = fresh.get(m, pair.b)
        before = getattr(row_b, key)
    with location_scope(pair.loc_a):
        setattr(row_b, key, value)
        with pytest.raises(TenancyError):
            fresh.flush()
    fresh.rollback()
    with location_scope(pair.loc_a):
        result = fresh.execute(update(m).where(*pair.where(pair.b)).values({key: value}))
        assert result.rowcount == 0
        with pytest.raises(TenancyError):  # bulk UPDATE by primary key would skip the filter
            fresh.execute(update(m), [{**dict(zip([c.key for c in inspect(m).primary_key], pair.b, strict=True)), key: value}])
        with pytest.raises(TenancyError):  # and no row moves to another location
            fresh.execute(update(m).where(*pair.where(pair.a)).values(location_id=pair.loc_b))
    fresh.rollback()
    with operator_scope():
        fresh.expire_all()
        assert getattr(fresh.get(m, pair.b), key) == before
        assert fresh.get(m, pair.a).location_id == pair.loc_a


def test_cannot_delete_other_location(pair: Pair, fresh: Session):
    m = pair.model
    with operator_scope():
        row_b = fresh.get(m, pair.b)
    with location_scope(pair.loc_a):
        fresh.delete(row_b)
        with pytest.raises(TenancyError):
            fresh.flush()
    fresh.rollback()
    with location_scope(pair.loc_a):
        assert fresh.execute(delete(m).where(*pair.where(pair.b))).rowcount == 0
        assert fresh.execute(delete(m).where(m.location_id == pair.loc_b)).rowcount == 0
    with operator_scope():
        fresh.expire_all()
        assert fresh.get(m, pair.b) is not None


def _one_row_per_location(model: type) -> bool:
    """A settings table: unique on ``location_id`` alone."""
    return any(isinstance(c, UniqueConstraint) and [col.name for col in c.columns] == ["location_id"]
               for c in model.__table__.constraints)


def test_cannot_insert_into_other_location(pair: Pair, fresh: Session):
    with location_scope(pair.loc_a), pytest.raises(TenancyError):
        make_row(fresh, pair.model, location_id=pair.loc_b)
    fresh.rollback()
    with location_scope(pair.loc_a):
        if _one_row_per_location(pair.model):  # the pair's own row of A makes room (rolled back after)
            fresh.execute(delete(pair.model))
        row = make_row(fresh, pair.model)  # stamped with the scope's location
        assert row.location_id == pair.loc_a


def _references() -> list[tuple[str, str, str]]:
    """(referring table, column, referred table) for every FK between tenant-owned tables."""
    found = []
    for table in TABLES:
        for column in DISCOVERED[table].__table__.columns:
            for fk in column.foreign_keys:
                if fk.column.table.name in DISCOVERED and column.name != "location_id":
                    found.append((table, column.name, fk.column.table.name))
    return found


REFERENCES = _references()


def test_the_reference_matrix_is_not_empty():
    """The example plugin's reply_to_id keeps at least one real tenant-to-tenant reference here."""
    assert ("example_note", "reply_to_id", "example_note") in REFERENCES


@pytest.mark.parametrize(("source", "column_name", "target"), REFERENCES)
def test_cannot_reference_other_location(source, column_name, target, mango, db, world):
    """A foreign key from a tenant-owned row in A to a row of B is refused."""
    models = {m.__tablename__: m for m in mango.models}
    if source not in models or target not in models:
        pytest.skip(f"{source} -> {target}: plugin not loaded in this test run")
    source_model, target_model = models[source], models[target]
    with location_scope(world.loc_b.id):
        b_row = make_row(db, target_model)
    db.commit()
    column = source_model.__table__.c[column_name]
    fk = next(iter(column.foreign_keys))
    value = getattr(b_row, inspect(target_model).get_property_by_column(fk.column).key)
    key = inspect(source_model).get_property_by_column(column).key
    with location_scope(world.loc_a.id), pytest.raises(TenancyError):
        make_row(db, source_model, **{key: value})
    db.rollback()
    with location_scope(world.loc_b.id):  # the same reference inside B is fine
        assert make_row(db, source_model, **{key: value}).location_id == world.loc_b.id
    db.rollback()


def test_nothing_runs_without_scope(pair: Pair, fresh: Session):
    m = pair.model
    with use_scope(None):
        for statement in (select(m), select(func.count()).select_from(m), update(m).values(location_id=m.location_id),
                          delete(m), select(m.__table__)):
            with pytest.raises(TenancyError):
                fresh.execute(statement)
        with pytest.raises(TenancyError):
            fresh.get(m, pair.a)
        with pytest.raises(TenancyError):
            make_row(fresh, m, location_id=pair.loc_a)
    fresh.rollback()


def test_operator_scope_sees_both(pair: Pair, fresh: Session):
    m = pair.model
    with operator_scope():
        ids = {_identity(r) for r in fresh.scalars(select(m))}
        assert {pair.a, pair.b} <= ids
        assert {pair.loc_a, pair.loc_b} <= set(fresh.scalars(select(m.location_id)))


def test_read_scope_of_two_locations_writes_one(pair: Pair, fresh: Session):
    """``also_read`` widens reads, never writes."""
    m = pair.model
    with location_scope(pair.loc_a, also_read=[pair.loc_b]):
        assert fresh.get(m, pair.b) is not None
        with pytest.raises(TenancyError):
            make_row(fresh, m, location_id=pair.loc_b)
    fresh.rollback()


# --- references, proven on a pair of probe models (no core model refers to another yet) -------


class ProbeBase(DeclarativeBase):
    pass


Location.__table__.to_metadata(ProbeBase.metadata)


class ProbeParent(TenantMixin, ProbeBase):
    __tablename__ = "probe_parent"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class ProbeChild(TenantMixin, ProbeBase):
    __tablename__ = "probe_child"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("probe_parent.id"))
    parent: Mapped[ProbeParent] = relationship()


class ProbeLink(TenantMixin, ProbeBase):
    """A foreign key without a relationship: the guard looks the row up itself."""

    __tablename__ = "probe_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("probe_parent.id"))


@pytest.fixture
def probe_tables(db, world):
    tables = [ProbeParent.__table__, ProbeChild.__table__, ProbeLink.__table__]
    ProbeBase.metadata.create_all(db.connection(), tables=tables)
    yield
    db.rollback()


def test_guard_refuses_references(probe_tables, db, world):
    with location_scope(world.loc_b.id):
        parent_b = ProbeParent(name="B")
        db.add(parent_b)
        db.flush()
    with location_scope(world.loc_a.id):
        parent_a = ProbeParent(name="A")
        db.add(parent_a)
        db.flush()
        db.add(ProbeChild(parent=parent_a))
        db.add(ProbeLink(parent_id=parent_a.id))
        db.flush()  # same location: fine
        db.add(ProbeChild(parent=parent_b))
        with pytest.raises(TenancyError, match="another location"):
            db.flush()
    db.rollback()


def test_guard_refuses_foreign_key_values(probe_tables, db, world):
    with location_scope(world.loc_b.id):
        parent_b = ProbeParent(name="B")
        db.add(parent_b)
        db.flush()
        b_id = parent_b.id
    db.expunge_all()
    with location_scope(world.loc_a.id):
        db.add(ProbeLink(parent_id=b_id))
        with pytest.raises(TenancyError, match="no row of this location"):
            db.flush()
    db.rollback()


def test_filtered_count_through_the_entity_is_scoped(mango, db, world):
    """select(func.count()).select_from(M).where(M.col ...) names M's columns in WHERE too."""
    m = next(m for m in mango.models if m.__tablename__ == "core_job_run")
    for loc in (world.loc_a.id, world.loc_b.id):
        with location_scope(loc):
            make_row(db, m, status="failed")
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(m).where(m.status == "failed")) == 1
        with pytest.raises(TenancyError):
            db.execute(select(m.__table__.c.id).where(m.__table__.c.status == "failed"))
    db.rollback()
