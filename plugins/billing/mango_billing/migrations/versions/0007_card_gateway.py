"""Billing: online card payments through a payment gateway.

Revision ID: billing_0007
Revises: billing_0006
Create Date: 2026-11-27 19:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'billing_0007'
down_revision: str | Sequence[str] | None = 'billing_0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('billing_gateway_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('merchant', sa.String(length=60), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('secret_hint', sa.String(length=12), nullable=False),
    sa.Column('test_mode', sa.Boolean(), nullable=False),
    sa.Column('api_url', sa.String(length=200), nullable=True),
    sa.Column('method', sa.String(length=60), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("provider IN ('comgate')", name=op.f('ck_billing_gateway_settings_provider')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_billing_gateway_settings_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_billing_gateway_settings_updated_by_id_core_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_gateway_settings')),
    sa.UniqueConstraint('location_id', name=op.f('uq_billing_gateway_settings_location_id'))
    )
    with op.batch_alter_table('billing_gateway_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_gateway_settings_location_id'), ['location_id'], unique=False)

    op.create_table('billing_online_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('trans_id', sa.String(length=64), nullable=True),
    sa.Column('redirect_url', sa.Text(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', mango_core.db.types.Money(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('gateway_state', sa.String(length=20), nullable=True),
    sa.Column('test', sa.Boolean(), nullable=False),
    sa.Column('billing_payment_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('notifications', sa.Integer(), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('checked_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('decided_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('new', 'pending', 'paid', 'cancelled', 'failed', 'mismatch')", name=op.f('ck_billing_online_payment_state')),
    sa.CheckConstraint("provider IN ('comgate')", name=op.f('ck_billing_online_payment_provider')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_online_payment_amount')),
    sa.ForeignKeyConstraint(['billing_payment_id'], ['billing_payment.id'], name=op.f('fk_billing_online_payment_billing_payment_id_billing_payment'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_billing_online_payment_customer_id_core_customer'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoice.id'], name=op.f('fk_billing_online_payment_invoice_id_billing_invoice'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_billing_online_payment_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_online_payment')),
    sa.UniqueConstraint('location_id', 'provider', 'trans_id', name=op.f('uq_billing_online_payment_location_id_provider_trans_id')),
    sa.UniqueConstraint('location_id', 'reference', name=op.f('uq_billing_online_payment_location_id_reference'))
    )
    with op.batch_alter_table('billing_online_payment', schema=None) as batch_op:
        batch_op.create_index('ix_billing_online_payment_invoice', ['location_id', 'invoice_id'], unique=False)
        batch_op.create_index('ix_billing_online_payment_state', ['location_id', 'state', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_online_payment_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_online_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_online_payment_location_id'))
        batch_op.drop_index('ix_billing_online_payment_state')
        batch_op.drop_index('ix_billing_online_payment_invoice')
    op.drop_table('billing_online_payment')
    with op.batch_alter_table('billing_gateway_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_gateway_settings_location_id'))
    op.drop_table('billing_gateway_settings')
