"""NetFlow store tables.

On PostgreSQL ``netflow_block`` is range-partitioned by ``t_first`` (ms): daily partitions in the
schema ``netflow_part`` are created by the writer and the retention job; the default partition made
here takes blocks far from the present. Compressed columns are stored EXTERNAL (no second
compression by TOAST).

Revision ID: netflow_0002
Revises: netflow_0001
Create Date: 2026-11-27 16:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types  # noqa: F401

revision: str = 'netflow_0002'
down_revision: str | Sequence[str] | None = 'netflow_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        'netflow_block',
        sa.Column('id', sa.BigInteger(), autoincrement=postgres, nullable=False),  # SQLite: numbered by the writer
        sa.Column('t_first', sa.BigInteger(), nullable=False),
        sa.Column('t_last', sa.BigInteger(), nullable=False),
        sa.Column('exporter_id', sa.Integer(), nullable=False),
        sa.Column('flows', sa.Integer(), nullable=False),
        sa.Column('format', sa.SmallInteger(), nullable=False),
        sa.Column('bloom', sa.LargeBinary(), nullable=False),
        sa.Column('bloom_words', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_netflow_block_location_id_core_location'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', 't_first', name=op.f('pk_netflow_block')),
        postgresql_partition_by='RANGE (t_first)',
    )
    with op.batch_alter_table('netflow_block', schema=None) as batch_op:
        batch_op.create_index('ix_netflow_block_location_id_t_first', ['location_id', 't_first'], unique=False)
        batch_op.create_index(batch_op.f('ix_netflow_block_location_id'), ['location_id'], unique=False)
    if postgres:
        op.execute("ALTER TABLE netflow_block ALTER COLUMN data SET STORAGE EXTERNAL, "
                   "ALTER COLUMN bloom SET STORAGE EXTERNAL")
        op.execute("CREATE SCHEMA IF NOT EXISTS netflow_part")
        op.execute("CREATE TABLE netflow_part.block_default PARTITION OF netflow_block DEFAULT")

    op.create_table(
        'netflow_store_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('retention_months', sa.Integer(), nullable=False),
        sa.Column('longest_block_ms', sa.BigInteger(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'],
                                name=op.f('fk_netflow_store_settings_location_id_core_location'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_netflow_store_settings')),
        sa.UniqueConstraint('location_id', name=op.f('uq_netflow_store_settings_location_id')),
    )
    with op.batch_alter_table('netflow_store_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_netflow_store_settings_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    op.drop_table('netflow_store_settings')
    op.drop_table('netflow_block')  # its partitions go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS netflow_part")
