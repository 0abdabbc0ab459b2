"""Selfcare: registration of new customers.

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-11-27 19:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'core_0012'
down_revision: str | Sequence[str] | None = 'core_0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'core_selfcare_registration_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('allow_person', sa.Boolean(), nullable=False),
        sa.Column('allow_company', sa.Boolean(), nullable=False),
        sa.Column('terms_text', sa.Text(), nullable=True),
        sa.Column('terms_url', sa.String(length=500), nullable=True),
        sa.Column('terms_version', sa.Integer(), nullable=False),
        sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_core_selfcare_registration_settings_location_id_core_location'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_core_selfcare_registration_settings_updated_by_id_core_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_selfcare_registration_settings')),
        sa.UniqueConstraint('location_id', name=op.f('uq_core_selfcare_registration_settings_location_id')),
    )
    with op.batch_alter_table('core_selfcare_registration_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_selfcare_registration_settings_location_id'), ['location_id'], unique=False)

    op.create_table(
        'core_selfcare_registration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('locale', sa.String(length=5), nullable=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('first_name', sa.String(length=100), nullable=True),
        sa.Column('last_name', sa.String(length=100), nullable=True),
        sa.Column('company_name', sa.String(length=200), nullable=True),
        sa.Column('ico', sa.String(length=8), nullable=True),
        sa.Column('dic', sa.String(length=14), nullable=True),
        sa.Column('phone', sa.String(length=40), nullable=True),
        sa.Column('street', sa.String(length=200), nullable=True),
        sa.Column('city', sa.String(length=100), nullable=True),
        sa.Column('postal_code', sa.String(length=10), nullable=True),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('terms_version', sa.Integer(), nullable=True),
        sa.Column('terms_accepted_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('next_path', sa.String(length=300), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('expires_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('confirmed_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('person', 'company')", name=op.f('ck_core_selfcare_registration_kind')),
        sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_core_selfcare_registration_customer_id_core_customer'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_core_selfcare_registration_location_id_core_location'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_selfcare_registration')),
        sa.UniqueConstraint('location_id', 'token_hash', name=op.f('uq_core_selfcare_registration_location_id_token_hash')),
    )
    with op.batch_alter_table('core_selfcare_registration', schema=None) as batch_op:
        batch_op.create_index('ix_core_selfcare_registration_email', ['location_id', 'email'], unique=False)
        batch_op.create_index('ix_core_selfcare_registration_expires', ['location_id', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_selfcare_registration_location_id'), ['location_id'], unique=False)

    with op.batch_alter_table('core_selfcare_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registered_at', mango_core.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('terms_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('terms_accepted_at', mango_core.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('core_selfcare_account', schema=None) as batch_op:
        batch_op.drop_column('terms_accepted_at')
        batch_op.drop_column('terms_version')
        batch_op.drop_column('registered_at')

    with op.batch_alter_table('core_selfcare_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_selfcare_registration_location_id'))
        batch_op.drop_index('ix_core_selfcare_registration_expires')
        batch_op.drop_index('ix_core_selfcare_registration_email')
    op.drop_table('core_selfcare_registration')

    with op.batch_alter_table('core_selfcare_registration_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_selfcare_registration_settings_location_id'))
    op.drop_table('core_selfcare_registration_settings')
