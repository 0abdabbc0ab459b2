"""NetFlow collector tables: exporters (with their counters) and unknown sources.

Revision ID: netflow_0001
Revises: None
Create Date: 2026-11-27 16:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'netflow_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'netflow_exporter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('address', sa.String(length=45), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('packets', sa.BigInteger(), nullable=False),
        sa.Column('flows', sa.BigInteger(), nullable=False),
        sa.Column('malformed', sa.BigInteger(), nullable=False),
        sa.Column('irregular', sa.BigInteger(), nullable=False),
        sa.Column('missing_template', sa.BigInteger(), nullable=False),
        sa.Column('templates', sa.Integer(), nullable=False),
        sa.Column('last_packet_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['core_device.id'],
                                name=op.f('fk_netflow_exporter_device_id_core_device'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'],
                                name=op.f('fk_netflow_exporter_location_id_core_location'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_netflow_exporter')),
        sa.UniqueConstraint('location_id', 'address', name=op.f('uq_netflow_exporter_location_id_address')),
        sa.UniqueConstraint('location_id', 'name', name=op.f('uq_netflow_exporter_location_id_name')),
    )
    with op.batch_alter_table('netflow_exporter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_netflow_exporter_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_netflow_exporter_location_id'), ['location_id'], unique=False)

    op.create_table(
        'netflow_unknown_source',
        sa.Column('address', sa.String(length=45), nullable=False),
        sa.Column('packets', sa.BigInteger(), nullable=False),
        sa.Column('first_seen_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('address', name=op.f('pk_netflow_unknown_source')),
    )


def downgrade() -> None:
    op.drop_table('netflow_unknown_source')
    with op.batch_alter_table('netflow_exporter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_netflow_exporter_location_id'))
        batch_op.drop_index(batch_op.f('ix_netflow_exporter_device_id'))
    op.drop_table('netflow_exporter')
