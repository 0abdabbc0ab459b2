"""Contract of tenant-owned tables, checked over every loaded model (core and plugins)."""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint

from mango_core.db.base import Base, TenantMixin
from mango_core.tenancy.models import Location


def _model_of(table):  # noqa: ANN001, ANN202
    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            return mapper.class_
    return None


def test_every_location_id_column_is_tenant_owned_or_exempt(mango):
    problems = []
    for table in Base.metadata.sorted_tables:
        if "location_id" not in table.c:
            continue
        model = _model_of(table)
        if model is None:
            problems.append(f"{table.name}: a table with location_id but no model")
        elif issubclass(model, TenantMixin):
            continue
        elif not (isinstance(getattr(model, "__tenant_exempt__", None), str) and model.__tenant_exempt__.strip()):
            problems.append(f"{table.name}: inherit TenantMixin or declare __tenant_exempt__ = '<reason>'")
    assert not problems, "\n".join(problems)


def test_tenant_tables_have_not_null_location_and_scoped_uniques(mango):
    problems = []
    tenant_models = [m for m in mango.models if issubclass(m, TenantMixin)]
    assert tenant_models
    for model in tenant_models:
        table = model.__table__
        col = table.c.location_id
        if col.nullable:
            problems.append(f"{table.name}.location_id is nullable")
        if not any(fk.column.table is Location.__table__ for fk in col.foreign_keys):
            problems.append(f"{table.name}.location_id does not refer to core_location")
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint) and "location_id" not in constraint.columns:
                problems.append(f"{table.name}: unique constraint {constraint.name} lacks location_id")
        for index in table.indexes:
            if isinstance(index, Index) and index.unique and "location_id" not in index.columns:
                problems.append(f"{table.name}: unique index {index.name} lacks location_id")
        for column in table.columns:
            if column.unique and column.name != "location_id":
                problems.append(f"{table.name}.{column.name} is unique across locations")
    assert not problems, "\n".join(problems)


def test_tenant_tables_have_no_foreign_key_to_other_locations_data(mango):
    """Foreign keys from tenant tables go to tenant tables (checked per row) or operator-level data."""
    for model in mango.models:
        if not issubclass(model, TenantMixin):
            continue
        for fk in model.__table__.foreign_keys:
            target = _model_of(fk.column.table)
            assert target is not None, f"{model.__tablename__} refers to unmapped {fk.column.table.name}"
            if fk.parent.name == "location_id":
                assert target is Location
