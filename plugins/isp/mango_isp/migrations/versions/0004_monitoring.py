"""Monitoring: device states and their history, latency samples, alerts, per-location settings.

Revision ID: isp_0004
Revises: isp_0003
Create Date: 2026-11-27 14:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'isp_0004'
down_revision: str | Sequence[str] | None = 'isp_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('isp_monitor_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_email', sa.String(length=500), nullable=False),
    sa.Column('down_after', sa.Integer(), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('down_after >= 1 AND down_after <= 100', name=op.f('ck_isp_monitor_config_down_after')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_monitor_config_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_monitor_config')),
    sa.UniqueConstraint('location_id', name=op.f('uq_isp_monitor_config_location_id'))
    )
    with op.batch_alter_table('isp_monitor_config', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_monitor_config_location_id'), ['location_id'], unique=False)

    op.create_table('isp_monitor_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('opened_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('down_since', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('services', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('open', 'resolved')", name=op.f('ck_isp_monitor_alert_state')),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_isp_monitor_alert_device_id_core_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_monitor_alert_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_monitor_alert'))
    )
    with op.batch_alter_table('isp_monitor_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_monitor_alert_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_monitor_alert_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_isp_monitor_alert_state', ['location_id', 'state', 'opened_at'], unique=False)
        batch_op.create_index('uq_isp_monitor_alert_open', ['location_id', 'device_id'], unique=True, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))

    op.create_table('isp_monitor_interval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('started_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('ended_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('up', 'down', 'unknown')", name=op.f('ck_isp_monitor_interval_state')),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_isp_monitor_interval_order')),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_isp_monitor_interval_device_id_core_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_monitor_interval_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_monitor_interval'))
    )
    with op.batch_alter_table('isp_monitor_interval', schema=None) as batch_op:
        batch_op.create_index('ix_isp_monitor_interval_device', ['location_id', 'device_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_monitor_interval_location_id'), ['location_id'], unique=False)
        batch_op.create_index('uq_isp_monitor_interval_open', ['location_id', 'device_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('isp_monitor_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('rtt_sum_ms', sa.Float(), nullable=False),
    sa.Column('rtt_max_ms', sa.Float(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('answered <= checks AND received <= sent', name=op.f('ck_isp_monitor_sample_counts')),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_isp_monitor_sample_device_id_core_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_monitor_sample_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_monitor_sample')),
    sa.UniqueConstraint('location_id', 'device_id', 'at', name=op.f('uq_isp_monitor_sample_location_id_device_id_at'))
    )
    with op.batch_alter_table('isp_monitor_sample', schema=None) as batch_op:
        batch_op.create_index('ix_isp_monitor_sample_at', ['location_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_monitor_sample_location_id'), ['location_id'], unique=False)

    op.create_table('isp_monitor_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('since', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('failing_since', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('last_check_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_rtt_ms', sa.Float(), nullable=True),
    sa.Column('last_loss_pct', sa.SmallInteger(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('up', 'down', 'unknown')", name=op.f('ck_isp_monitor_status_state')),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_isp_monitor_status_device_id_core_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_monitor_status_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_monitor_status')),
    sa.UniqueConstraint('location_id', 'device_id', name=op.f('uq_isp_monitor_status_location_id_device_id'))
    )
    with op.batch_alter_table('isp_monitor_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_monitor_status_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_isp_monitor_status_state', ['location_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('isp_monitor_status', schema=None) as batch_op:
        batch_op.drop_index('ix_isp_monitor_status_state')
        batch_op.drop_index(batch_op.f('ix_isp_monitor_status_location_id'))

    op.drop_table('isp_monitor_status')
    with op.batch_alter_table('isp_monitor_sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_isp_monitor_sample_location_id'))
        batch_op.drop_index('ix_isp_monitor_sample_at')

    op.drop_table('isp_monitor_sample')
    with op.batch_alter_table('isp_monitor_interval', schema=None) as batch_op:
        batch_op.drop_index('uq_isp_monitor_interval_open', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_isp_monitor_interval_location_id'))
        batch_op.drop_index('ix_isp_monitor_interval_device')

    op.drop_table('isp_monitor_interval')
    with op.batch_alter_table('isp_monitor_alert', schema=None) as batch_op:
        batch_op.drop_index('uq_isp_monitor_alert_open', sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
        batch_op.drop_index('ix_isp_monitor_alert_state')
        batch_op.drop_index(batch_op.f('ix_isp_monitor_alert_location_id'))
        batch_op.drop_index(batch_op.f('ix_isp_monitor_alert_device_id'))

    op.drop_table('isp_monitor_alert')
    with op.batch_alter_table('isp_monitor_config', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_isp_monitor_config_location_id'))

    op.drop_table('isp_monitor_config')
