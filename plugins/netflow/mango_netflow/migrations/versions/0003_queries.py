"""NetFlow queries tables.

Revision ID: netflow_0003
Revises: netflow_0002
Create Date: 2026-11-27 16:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types
from mango_core.db import append_only

revision: str = 'netflow_0003'
down_revision: str | Sequence[str] | None = 'netflow_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('netflow_query_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asked_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('operator', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('result_count', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('web', 'api', 'cli')", name=op.f('ck_netflow_query_log_channel')),
    sa.CheckConstraint("kind IN ('who', 'flows')", name=op.f('ck_netflow_query_log_kind')),
    sa.CheckConstraint('length(reference) > 0', name=op.f('ck_netflow_query_log_reference')),
    sa.CheckConstraint('result_count >= 0', name=op.f('ck_netflow_query_log_result_count')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_netflow_query_log_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_netflow_query_log_user_id_core_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_netflow_query_log'))
    )
    with op.batch_alter_table('netflow_query_log', schema=None) as batch_op:
        batch_op.create_index('ix_netflow_query_log_asked', ['location_id', 'asked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_netflow_query_log_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_netflow_query_log_reference', ['location_id', 'reference'], unique=False)
    # the audit log of data-retention queries is never changed or deleted
    append_only.create('netflow_query_log')


def downgrade() -> None:
    append_only.drop('netflow_query_log')
    with op.batch_alter_table('netflow_query_log', schema=None) as batch_op:
        batch_op.drop_index('ix_netflow_query_log_reference')
        batch_op.drop_index(batch_op.f('ix_netflow_query_log_location_id'))
        batch_op.drop_index('ix_netflow_query_log_asked')
    op.drop_table('netflow_query_log')
