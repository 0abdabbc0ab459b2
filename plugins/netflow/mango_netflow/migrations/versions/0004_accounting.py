"""NetFlow accounting tables.

Revision ID: netflow_0004
Revises: netflow_0003
Create Date: 2026-11-27 16:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'netflow_0004'
down_revision: str | Sequence[str] | None = 'netflow_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('netflow_accounting_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('done_until', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_netflow_accounting_state_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_netflow_accounting_state')),
    sa.UniqueConstraint('location_id', name=op.f('uq_netflow_accounting_state_location_id'))
    )
    with op.batch_alter_table('netflow_accounting_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_netflow_accounting_state_location_id'), ['location_id'], unique=False)

    op.create_table('netflow_traffic_hour',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('hour', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('bytes_in', sa.BigInteger(), nullable=False),
    sa.Column('bytes_out', sa.BigInteger(), nullable=False),
    sa.Column('flows', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('bytes_in >= 0 AND bytes_out >= 0 AND flows >= 0', name=op.f('ck_netflow_traffic_hour_positive')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_netflow_traffic_hour_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['core_service.id'], name=op.f('fk_netflow_traffic_hour_service_id_core_service'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_netflow_traffic_hour')),
    sa.UniqueConstraint('location_id', 'service_id', 'hour', name=op.f('uq_netflow_traffic_hour_location_id_service_id_hour'))
    )
    with op.batch_alter_table('netflow_traffic_hour', schema=None) as batch_op:
        batch_op.create_index('ix_netflow_traffic_hour_hour', ['location_id', 'hour'], unique=False)
        batch_op.create_index(batch_op.f('ix_netflow_traffic_hour_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('netflow_traffic_hour', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_netflow_traffic_hour_location_id'))
        batch_op.drop_index('ix_netflow_traffic_hour_hour')
    op.drop_table('netflow_traffic_hour')
    with op.batch_alter_table('netflow_accounting_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_netflow_accounting_state_location_id'))
    op.drop_table('netflow_accounting_state')
