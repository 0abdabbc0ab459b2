"""Call centre: event notices per channel (e-mail, SMS), automatic notices of outages, the author of a
message written on the customer card, per-location SMS gateways and delivery reports.

Revision ID: callcenter_0006
Revises: callcenter_0005
Create Date: 2026-11-27 19:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'callcenter_0006'
down_revision: str | Sequence[str] | None = 'callcenter_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callcenter_event_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('recipients', sa.String(length=500), nullable=False),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_callcenter_event_notice_channel')),
    sa.CheckConstraint("outcome IN ('queued', 'no_contact')", name=op.f('ck_callcenter_event_notice_outcome')),
    sa.CheckConstraint("stage IN ('announce', 'end')", name=op.f('ck_callcenter_event_notice_stage')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_callcenter_event_notice_customer_id_core_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['callcenter_event.id'], name=op.f('fk_callcenter_event_notice_event_id_callcenter_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_event_notice_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_event_notice')),
    sa.UniqueConstraint('location_id', 'event_id', 'stage', 'channel', 'customer_id', name='uq_callcenter_event_notice_once')
    )
    with op.batch_alter_table('callcenter_event_notice', schema=None) as batch_op:
        batch_op.create_index('ix_callcenter_event_notice_customer', ['location_id', 'customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_notice_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_notice_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_event_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('auto_notify', sa.Boolean(), nullable=False),
    sa.Column('auto_delay_minutes', sa.Integer(), nullable=False),
    sa.Column('auto_email', sa.Boolean(), nullable=False),
    sa.Column('auto_sms', sa.Boolean(), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('auto_delay_minutes >= 0', name=op.f('ck_callcenter_event_settings_auto_delay_minutes')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_event_settings_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_event_settings')),
    sa.UniqueConstraint('location_id', name=op.f('uq_callcenter_event_settings_location_id'))
    )
    with op.batch_alter_table('callcenter_event_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_event_settings_location_id'), ['location_id'], unique=False)

    with op.batch_alter_table('callcenter_comm_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_callcenter_comm_log_created_by_id_core_user'), 'core_user',
                                    ['created_by_id'], ['id'], ondelete='SET NULL')

    op.create_table('callcenter_sms_gateway',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('driver', sa.String(length=10), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('auth', sa.String(length=10), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=False),
    sa.Column('report_token_sha256', sa.String(length=64), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("auth IN ('none', 'basic', 'bearer')", name=op.f('ck_callcenter_sms_gateway_auth')),
    sa.CheckConstraint("driver IN ('log', 'http')", name=op.f('ck_callcenter_sms_gateway_driver')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_sms_gateway_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_sms_gateway')),
    sa.UniqueConstraint('location_id', name=op.f('uq_callcenter_sms_gateway_location_id'))
    )
    with op.batch_alter_table('callcenter_sms_gateway', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_sms_gateway_location_id'), ['location_id'], unique=False)

    with op.batch_alter_table('callcenter_sms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', mango_core.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=50), nullable=False, server_default=''))
        batch_op.alter_column('state', existing_type=sa.String(length=10), type_=sa.String(length=12),
                              existing_nullable=False)
        batch_op.drop_constraint(batch_op.f('ck_callcenter_sms_state'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_callcenter_sms_state'),
                                         "state IN ('queued', 'sent', 'failed', 'delivered', 'undelivered')")
        batch_op.create_index('ix_callcenter_sms_provider_ref', ['location_id', 'provider_ref'], unique=False)
    with op.batch_alter_table('callcenter_sms', schema=None) as batch_op:
        batch_op.alter_column('delivery_status', server_default=None)


def downgrade() -> None:
    op.execute("UPDATE callcenter_sms SET state = 'sent' WHERE state IN ('delivered', 'undelivered')")
    with op.batch_alter_table('callcenter_sms', schema=None) as batch_op:
        batch_op.drop_index('ix_callcenter_sms_provider_ref')
        batch_op.drop_constraint(batch_op.f('ck_callcenter_sms_state'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_callcenter_sms_state'), "state IN ('queued', 'sent', 'failed')")
        batch_op.alter_column('state', existing_type=sa.String(length=12), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.drop_column('delivery_status')
        batch_op.drop_column('delivered_at')
    with op.batch_alter_table('callcenter_sms_gateway', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_sms_gateway_location_id'))
    op.drop_table('callcenter_sms_gateway')
    with op.batch_alter_table('callcenter_comm_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_callcenter_comm_log_created_by_id_core_user'), type_='foreignkey')
        batch_op.drop_column('created_by_id')
    with op.batch_alter_table('callcenter_event_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_event_settings_location_id'))
    op.drop_table('callcenter_event_settings')
    with op.batch_alter_table('callcenter_event_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_event_notice_location_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_event_notice_event_id'))
        batch_op.drop_index('ix_callcenter_event_notice_customer')
    op.drop_table('callcenter_event_notice')
