"""Print: orders with advance invoices and online payment.

``print_order.advance_invoice_id``: the advance invoice (zálohová faktura, billing's
``mango_billing.advances``) issued on approval of an order whose product asks for an advance;
``invoice_id`` is then the final invoice that deducts it.

Revision ID: print_0002
Revises: print_0001
Create Date: 2026-11-27 19:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'print_0002'
down_revision: str | Sequence[str] | None = 'print_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FK = 'fk_print_order_advance_invoice_id_billing_invoice'
CONSTRAINT = f'CONSTRAINT {FK} FOREIGN KEY(advance_invoice_id) REFERENCES billing_invoice (id) ON DELETE RESTRICT'


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _set_sqlite_definition(change) -> None:  # noqa: ANN001
    """Rewrite print_order's CREATE TABLE text (SQLite's documented in-place schema change, as billing_0006)."""
    conn = op.get_bind()
    version = conn.exec_driver_sql('PRAGMA schema_version').scalar()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'print_order'").scalar()
    conn.exec_driver_sql('PRAGMA writable_schema=ON')
    try:
        conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'print_order'",
                             (change(sql),))
        conn.exec_driver_sql(f'PRAGMA schema_version={int(version) + 1}')
    finally:
        conn.exec_driver_sql('PRAGMA writable_schema=OFF')
    if conn.exec_driver_sql('PRAGMA integrity_check').scalar() != 'ok':  # pragma: no cover
        raise RuntimeError('the database is not consistent after the schema edit')


def _add_constraint(sql: str) -> str:
    body = sql.rstrip()
    if not body.endswith(')'):  # pragma: no cover
        raise RuntimeError('unexpected definition of print_order')
    return f'{body[:-1].rstrip()}, \n\t{CONSTRAINT}\n)'


def _drop_constraint(sql: str) -> str:
    if sql.count(f', \n\t{CONSTRAINT}') != 1:  # pragma: no cover
        raise RuntimeError('print_order: the constraint of print_0002 is not where it was put')
    return sql.replace(f', \n\t{CONSTRAINT}', '')


def upgrade() -> None:
    if _sqlite():
        # a plain ADD COLUMN and the foreign key added to the definition: a batch rebuild would drop
        # print_order, and with foreign keys enforced that cascades to the orders' files and events.
        # The new column is empty, so the constraint holds for every row.
        op.execute('ALTER TABLE print_order ADD COLUMN advance_invoice_id INTEGER')
        _set_sqlite_definition(_add_constraint)
        return
    op.add_column('print_order', sa.Column('advance_invoice_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f(FK), 'print_order', 'billing_invoice', ['advance_invoice_id'], ['id'],
                          ondelete='RESTRICT')


def downgrade() -> None:
    if _sqlite():
        _set_sqlite_definition(_drop_constraint)
        op.execute('ALTER TABLE print_order DROP COLUMN advance_invoice_id')  # SQLite 3.35+
        return
    op.drop_constraint(op.f(FK), 'print_order', type_='foreignkey')
    op.drop_column('print_order', 'advance_invoice_id')
