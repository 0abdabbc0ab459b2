"""Call centre: comms tables (mail sources, incoming mail, templates, SMS queue, communication log).

Revision ID: callcenter_0002
Revises: callcenter_0001
Create Date: 2026-11-27 16:35:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'callcenter_0002'
down_revision: str | Sequence[str] | None = 'callcenter_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callcenter_mail_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('port', sa.Integer(), nullable=True),
    sa.Column('security', sa.String(length=10), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('password_enc', sa.Text(), nullable=False),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_fetch_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=2000), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('imap', 'maildir')", name=op.f('ck_callcenter_mail_source_kind')),
    sa.CheckConstraint("security IN ('ssl', 'starttls', 'none')", name=op.f('ck_callcenter_mail_source_security')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_mail_source_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_mail_source')),
    sa.UniqueConstraint('location_id', 'name', name=op.f('uq_callcenter_mail_source_location_id_name'))
    )
    with op.batch_alter_table('callcenter_mail_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_mail_source_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_callcenter_template_channel')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_template_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_template')),
    sa.UniqueConstraint('location_id', 'channel', 'code', name=op.f('uq_callcenter_template_location_id_channel_code'))
    )
    with op.batch_alter_table('callcenter_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_template_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_comm_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('entity', sa.String(length=50), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_callcenter_comm_log_channel')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_callcenter_comm_log_customer_id_core_customer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_comm_log_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_comm_log'))
    )
    with op.batch_alter_table('callcenter_comm_log', schema=None) as batch_op:
        batch_op.create_index('ix_callcenter_comm_log_customer', ['location_id', 'customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_comm_log_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_sms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('dedup_key', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=2000), nullable=False),
    sa.Column('provider_ref', sa.String(length=200), nullable=False),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('queued', 'sent', 'failed')", name=op.f('ck_callcenter_sms_state')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_callcenter_sms_customer_id_core_customer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_sms_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_sms')),
    sa.UniqueConstraint('location_id', 'dedup_key', name=op.f('uq_callcenter_sms_location_id_dedup_key'))
    )
    with op.batch_alter_table('callcenter_sms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_sms_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_callcenter_sms_due', ['location_id', 'state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_sms_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_inbound_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('received_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("outcome IN ('threaded', 'created', 'ignored', 'rejected')", name=op.f('ck_callcenter_inbound_mail_outcome')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_inbound_mail_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['source_id'], ['callcenter_mail_source.id'], name=op.f('fk_callcenter_inbound_mail_source_id_callcenter_mail_source'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_ticket.id'], name=op.f('fk_callcenter_inbound_mail_ticket_id_callcenter_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_inbound_mail')),
    sa.UniqueConstraint('location_id', 'message_id', name=op.f('uq_callcenter_inbound_mail_location_id_message_id'))
    )
    with op.batch_alter_table('callcenter_inbound_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_inbound_mail_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_inbound_mail_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_inbound_mail_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callcenter_inbound_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_inbound_mail_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_inbound_mail_source_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_inbound_mail_location_id'))

    op.drop_table('callcenter_inbound_mail')
    with op.batch_alter_table('callcenter_sms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_sms_location_id'))
        batch_op.drop_index('ix_callcenter_sms_due')
        batch_op.drop_index(batch_op.f('ix_callcenter_sms_customer_id'))

    op.drop_table('callcenter_sms')
    with op.batch_alter_table('callcenter_comm_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_comm_log_location_id'))
        batch_op.drop_index('ix_callcenter_comm_log_customer')

    op.drop_table('callcenter_comm_log')
    with op.batch_alter_table('callcenter_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_template_location_id'))

    op.drop_table('callcenter_template')
    with op.batch_alter_table('callcenter_mail_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_mail_source_location_id'))

    op.drop_table('callcenter_mail_source')
