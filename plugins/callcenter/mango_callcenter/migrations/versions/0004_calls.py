"""Call centre: calls tables.

Revision ID: callcenter_0004
Revises: callcenter_0003
Create Date: 2026-11-27 16:35:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'callcenter_0004'
down_revision: str | Sequence[str] | None = 'callcenter_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callcenter_call_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('click_to_call_url', sa.String(length=500), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_call_settings_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_call_settings')),
    sa.UniqueConstraint('location_id', name=op.f('uq_callcenter_call_settings_location_id'))
    )
    with op.batch_alter_table('callcenter_call_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_call_settings_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pbx_call_id', sa.String(length=100), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=False),
    sa.Column('caller_phone', sa.String(length=20), nullable=False),
    sa.Column('called_line', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('received_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("source IN ('webhook', 'ami', 'manual')", name=op.f('ck_callcenter_call_source')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_callcenter_call_customer_id_core_customer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_call_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_ticket.id'], name=op.f('fk_callcenter_call_ticket_id_callcenter_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_call')),
    sa.UniqueConstraint('location_id', 'pbx_call_id', name=op.f('uq_callcenter_call_location_id_pbx_call_id'))
    )
    with op.batch_alter_table('callcenter_call', schema=None) as batch_op:
        batch_op.create_index('ix_callcenter_call_customer', ['location_id', 'customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_call_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_callcenter_call_received', ['location_id', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callcenter_call', schema=None) as batch_op:
        batch_op.drop_index('ix_callcenter_call_received')
        batch_op.drop_index(batch_op.f('ix_callcenter_call_location_id'))
        batch_op.drop_index('ix_callcenter_call_customer')

    op.drop_table('callcenter_call')
    with op.batch_alter_table('callcenter_call_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_call_settings_location_id'))

    op.drop_table('callcenter_call_settings')
