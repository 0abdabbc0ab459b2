"""Billing: advance invoices (zálohové faktury) and their settlement.

* The document kind ``advance_tax`` (daňový doklad k přijaté platbě), the line kinds ``advance`` and
  ``deduction``, the ledger account ``advance`` and the entry kind ``settlement`` join the CHECK
  constraints; an advance invoice has no DUZP (``taxable_supply_date`` becomes nullable).
* ``billing_advance`` (the state of an advance) and ``billing_advance_payment`` (payments received on
  it, each with its tax document).

The CHECK constraints only accept more values and a NOT NULL is only dropped, so no stored row can
break them. SQLite cannot alter a constraint in place, and rebuilding ``billing_invoice`` (which many
tables reference, with foreign keys enforced) would fail on a populated database: the table
definitions are edited in ``sqlite_schema`` instead — the procedure SQLite documents for removing
or relaxing constraints (https://sqlite.org/lang_altertable.html, "making other kinds of table
schema changes"), with the schema version bumped so every connection reloads the schema.

Revision ID: billing_0006
Revises: billing_0005
Create Date: 2026-11-27 19:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'billing_0006'
down_revision: str | Sequence[str] | None = 'billing_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


OLD_DOCUMENT_KINDS = ('invoice', 'credit_note', 'advance')
NEW_DOCUMENT_KINDS = OLD_DOCUMENT_KINDS + ('advance_tax',)
OLD_LINE_KINDS = ('recurring', 'usage', 'one_off', 'discount', 'correction')
NEW_LINE_KINDS = OLD_LINE_KINDS + ('advance', 'deduction')
OLD_ACCOUNTS = ('receivable', 'prepaid')
NEW_ACCOUNTS = OLD_ACCOUNTS + ('advance',)
OLD_ENTRY_KINDS = ('invoice', 'credit_note', 'payment', 'refund', 'reversal', 'topup', 'draw', 'return', 'adjustment')
NEW_ENTRY_KINDS = OLD_ENTRY_KINDS + ('settlement',)
# (table, constraint name, column, old values, new values)
CHECKS = (
    ('billing_series', 'ck_billing_series_kind', 'kind', OLD_DOCUMENT_KINDS, NEW_DOCUMENT_KINDS),
    ('billing_invoice', 'ck_billing_invoice_kind', 'kind', OLD_DOCUMENT_KINDS, NEW_DOCUMENT_KINDS),
    ('billing_invoice_line', 'ck_billing_invoice_line_kind', 'kind', OLD_LINE_KINDS, NEW_LINE_KINDS),
    ('billing_ledger', 'ck_billing_ledger_account', 'account', OLD_ACCOUNTS, NEW_ACCOUNTS),
    ('billing_ledger', 'ck_billing_ledger_kind', 'kind', OLD_ENTRY_KINDS, NEW_ENTRY_KINDS),
)
DUZP_NOT_NULL = 'taxable_supply_date DATE NOT NULL'
DUZP_NULL = 'taxable_supply_date DATE'


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _edit_sqlite_schema(replacements: dict[str, list[tuple[str, str]]]) -> None:
    """Rewrite the CREATE TABLE text of tables (each old text must occur exactly once)."""
    conn = op.get_bind()
    version = conn.exec_driver_sql('PRAGMA schema_version').scalar()
    conn.exec_driver_sql('PRAGMA writable_schema=ON')
    try:
        for table, pairs in replacements.items():
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                       (table,)).scalar()
            for old, new in pairs:
                if sql.count(old) != 1:
                    raise RuntimeError(f'{table}: expected {old!r} once in its definition')
                sql = sql.replace(old, new)
            conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
        conn.exec_driver_sql(f'PRAGMA schema_version={int(version) + 1}')
    finally:
        conn.exec_driver_sql('PRAGMA writable_schema=OFF')
    if conn.exec_driver_sql('PRAGMA integrity_check').scalar() != 'ok':  # pragma: no cover
        raise RuntimeError('the database is not consistent after the schema edit')


def _checks(upgrade: bool) -> None:
    if _sqlite():
        replacements: dict[str, list[tuple[str, str]]] = {}
        for table, _name, column, old, new in CHECKS:
            before, after = (_in(column, old), _in(column, new)) if upgrade else (_in(column, new), _in(column, old))
            replacements.setdefault(table, []).append((before, after))
        replacements['billing_invoice'].append((DUZP_NOT_NULL, DUZP_NULL) if upgrade else (DUZP_NULL, DUZP_NOT_NULL))
        _edit_sqlite_schema(replacements)
        return
    for table, name, column, old, new in CHECKS:
        op.drop_constraint(op.f(name), table, type_='check')
        op.create_check_constraint(op.f(name), table, _in(column, new if upgrade else old))
    op.alter_column('billing_invoice', 'taxable_supply_date', existing_type=sa.Date(), nullable=upgrade)


def upgrade() -> None:
    _checks(upgrade=True)
    op.create_table('billing_advance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('paid', mango_core.db.types.Money(scale=2, precision=18), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('final_invoice_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('open', 'paid', 'settled', 'cancelled')", name=op.f('ck_billing_advance_state')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['core_user.id'], name=op.f('fk_billing_advance_cancelled_by_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_billing_advance_customer_id_core_customer'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['final_invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_advance_final_invoice_id_billing_invoice'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_advance_invoice_id_billing_invoice'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_billing_advance_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_advance')),
    sa.UniqueConstraint('location_id', 'final_invoice_id', name=op.f('uq_billing_advance_location_id_final_invoice_id')),
    sa.UniqueConstraint('location_id', 'invoice_id', name=op.f('uq_billing_advance_location_id_invoice_id')),
    sa.UniqueConstraint('location_id', 'source', name=op.f('uq_billing_advance_location_id_source'))
    )
    with op.batch_alter_table('billing_advance', schema=None) as batch_op:
        batch_op.create_index('ix_billing_advance_customer', ['location_id', 'customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_advance_location_id'), ['location_id'], unique=False)

    op.create_table('billing_advance_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('advance_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('amount', mango_core.db.types.Money(scale=2, precision=18), nullable=False),
    sa.Column('taxed', mango_core.db.types.Money(scale=2, precision=18), nullable=False),
    sa.Column('tax_document_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['advance_id'], ['billing_advance.id'], name=op.f('fk_billing_advance_payment_advance_id_billing_advance'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_billing_advance_payment_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payment_id'], ['billing_payment.id'], name=op.f('fk_billing_advance_payment_payment_id_billing_payment'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tax_document_id'], ['billing_invoice.id'], name=op.f('fk_billing_advance_payment_tax_document_id_billing_invoice'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_advance_payment')),
    sa.UniqueConstraint('location_id', 'payment_id', name=op.f('uq_billing_advance_payment_location_id_payment_id'))
    )
    with op.batch_alter_table('billing_advance_payment', schema=None) as batch_op:
        batch_op.create_index('ix_billing_advance_payment_advance', ['location_id', 'advance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_advance_payment_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    op.drop_table('billing_advance_payment')
    op.drop_table('billing_advance')
    _checks(upgrade=False)
