"""Partner-owned rows (PartnerMixin), discovered automatically: shared by the partner's
locations, invisible and untouchable from another partner's locations."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from mango_core.db.base import PartnerMixin, TenantMixin
from mango_core.tenancy import TenancyError, location_scope, operator_scope, use_scope
from mango_core.testing.factories import make_row


def _partner_models(mango) -> list[type]:
    return [m for m in mango.models if issubclass(m, PartnerMixin)]


def test_at_least_one_partner_model_is_loaded(mango):
    assert "example_category" in {m.__tablename__ for m in _partner_models(mango)}


@pytest.fixture
def rows(mango, db, world):
    """For each partner model: a row of ALFA (made in PRG) and one of BETA (made in BRN)."""
    made = {}
    for model in _partner_models(mango):
        with location_scope(world.loc_a.id):
            alfa = make_row(db, model)
        with location_scope(world.loc_b.id):
            beta = make_row(db, model)
        assert (alfa.partner_id, beta.partner_id) == (world.partner_a.id, world.partner_b.id)
        made[model] = (alfa.id, beta.id)
    db.commit()
    return made


def test_shared_by_the_partners_locations_only(rows, db, world):
    for model, (alfa, beta) in rows.items():
        for loc in (world.loc_a.id, world.loc_a2.id):  # PRG and KLA both belong to ALFA
            with location_scope(loc):
                ids = set(db.scalars(select(model.id)))
                assert alfa in ids and beta not in ids, model
                assert db.get(model, beta) is None
                assert db.scalar(select(func.count()).select_from(model).where(model.id == beta)) == 0
        db.expunge_all()
        with location_scope(world.loc_b.id):
            assert db.get(model, alfa) is None and db.get(model, beta) is not None
        db.expunge_all()


def test_cannot_change_or_delete_another_partners_rows(rows, db, world):
    for model, (alfa, beta) in rows.items():
        with location_scope(world.loc_a.id):
            assert db.execute(update(model).where(model.id == beta).values(id=model.id)).rowcount == 0
            assert db.execute(delete(model).where(model.id == beta)).rowcount == 0
            with pytest.raises(TenancyError):
                db.execute(update(model).where(model.id == alfa).values(partner_id=world.partner_b.id))
        db.rollback()
        with operator_scope():
            assert db.get(model, beta) is not None


def test_cannot_create_for_another_partner(rows, db, world):
    for model in rows:
        with location_scope(world.loc_a.id), pytest.raises(TenancyError):
            make_row(db, model, partner_id=world.partner_b.id)
        db.rollback()


def test_another_location_of_the_partner_may_change_the_row(rows, db, world):
    for model, (alfa, _beta) in rows.items():
        with location_scope(world.loc_a2.id):
            row = db.get(model, alfa)
            db.delete(row)
            db.flush()
        db.rollback()


def test_nothing_runs_without_scope(rows, db):
    for model, (alfa, _beta) in rows.items():
        with use_scope(None), pytest.raises(TenancyError):
            db.execute(select(model).where(model.id == alfa))


def test_tenant_row_may_refer_only_to_its_partners_rows(mango, rows, db, world):
    """A note in PRG may use ALFA's category, never BETA's."""
    references = [
        (model, column, target)
        for model in mango.models if issubclass(model, TenantMixin)
        for column in model.__table__.columns
        for target in rows
        if any(fk.column.table is target.__table__ for fk in column.foreign_keys)
    ]
    assert references, "no tenant model refers to a partner model (example_note.category_id should)"
    for model, column, target in references:
        alfa, beta = rows[target]
        with location_scope(world.loc_a.id):
            assert getattr(make_row(db, model, **{column.key: alfa}), column.key) == alfa
            with pytest.raises(TenancyError):
                make_row(db, model, **{column.key: beta})
        db.rollback()


def test_partner_tables_scope_their_unique_constraints(mango):
    from sqlalchemy import UniqueConstraint

    for model in _partner_models(mango):
        table = model.__table__
        assert not table.c.partner_id.nullable
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                assert "partner_id" in constraint.columns, f"{table.name}: {constraint.name} lacks partner_id"
        for index in table.indexes:
            if index.unique:
                assert "partner_id" in index.columns, f"{table.name}: {index.name} lacks partner_id"
