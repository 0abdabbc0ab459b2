"""Selfcare: customers' portal accounts, their one-time password links, sessions, tariff requests.

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-11-28 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'core_0010'
down_revision: str | Sequence[str] | None = 'core_0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'core_selfcare_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('locale', sa.String(length=5), nullable=True),
        sa.Column('invited_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('password_set_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('last_login_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('disabled_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_core_selfcare_account_customer_id_core_customer'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_core_selfcare_account_location_id_core_location'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_selfcare_account')),
        sa.UniqueConstraint('location_id', 'customer_id', name=op.f('uq_core_selfcare_account_location_id_customer_id')),
        sa.UniqueConstraint('location_id', 'email', name=op.f('uq_core_selfcare_account_location_id_email')),
    )
    with op.batch_alter_table('core_selfcare_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_selfcare_account_location_id'), ['location_id'], unique=False)

    op.create_table(
        'core_selfcare_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('ended_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('end_reason', sa.String(length=30), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('user_agent', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['core_selfcare_account.id'], name=op.f('fk_core_selfcare_session_account_id_core_selfcare_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_core_selfcare_session_customer_id_core_customer'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_core_selfcare_session_location_id_core_location'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_selfcare_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_core_selfcare_session_token_hash')),
    )
    with op.batch_alter_table('core_selfcare_session', schema=None) as batch_op:
        batch_op.create_index('ix_core_selfcare_session_account_active', ['account_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_selfcare_session_location_id'), ['location_id'], unique=False)

    op.create_table(
        'core_selfcare_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=10), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('expires_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('used_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("purpose IN ('invite', 'reset')", name=op.f('ck_core_selfcare_token_purpose')),
        sa.ForeignKeyConstraint(['account_id'], ['core_selfcare_account.id'], name=op.f('fk_core_selfcare_token_account_id_core_selfcare_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_core_selfcare_token_created_by_id_core_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_core_selfcare_token_location_id_core_location'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_selfcare_token')),
        sa.UniqueConstraint('location_id', 'token_hash', name=op.f('uq_core_selfcare_token_location_id_token_hash')),
    )
    with op.batch_alter_table('core_selfcare_token', schema=None) as batch_op:
        batch_op.create_index('ix_core_selfcare_token_account', ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_selfcare_token_location_id'), ['location_id'], unique=False)

    op.create_table(
        'core_selfcare_tariff_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('from_product_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('decided_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('effective', sa.Date(), nullable=True),
        sa.Column('change_id', sa.Integer(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'approved', 'rejected', 'cancelled')", name=op.f('ck_core_selfcare_tariff_request_state')),
        sa.ForeignKeyConstraint(['change_id'], ['core_service_change.id'], name=op.f('fk_core_selfcare_tariff_request_change_id_core_service_change'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_core_selfcare_tariff_request_customer_id_core_customer'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['core_user.id'], name=op.f('fk_core_selfcare_tariff_request_decided_by_id_core_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['from_product_id'], ['core_product.id'], name=op.f('fk_core_selfcare_tariff_request_from_product_id_core_product'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_core_selfcare_tariff_request_location_id_core_location'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_core_selfcare_tariff_request_product_id_core_product'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['service_id'], ['core_service.id'], name=op.f('fk_core_selfcare_tariff_request_service_id_core_service'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_selfcare_tariff_request')),
    )
    with op.batch_alter_table('core_selfcare_tariff_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_selfcare_tariff_request_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_selfcare_tariff_request_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_core_selfcare_tariff_request_service', ['service_id', 'id'], unique=False)
        batch_op.create_index('ix_core_selfcare_tariff_request_state', ['location_id', 'state', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_selfcare_tariff_request', schema=None) as batch_op:
        batch_op.drop_index('ix_core_selfcare_tariff_request_state')
        batch_op.drop_index('ix_core_selfcare_tariff_request_service')
        batch_op.drop_index(batch_op.f('ix_core_selfcare_tariff_request_location_id'))
        batch_op.drop_index(batch_op.f('ix_core_selfcare_tariff_request_customer_id'))

    op.drop_table('core_selfcare_tariff_request')
    with op.batch_alter_table('core_selfcare_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_selfcare_token_location_id'))
        batch_op.drop_index('ix_core_selfcare_token_account')

    op.drop_table('core_selfcare_token')
    with op.batch_alter_table('core_selfcare_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_selfcare_session_location_id'))
        batch_op.drop_index('ix_core_selfcare_session_account_active')

    op.drop_table('core_selfcare_session')
    with op.batch_alter_table('core_selfcare_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_selfcare_account_location_id'))

    op.drop_table('core_selfcare_account')
