"""REST API: personal API tokens and idempotency keys.

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-11-27 13:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'core_0009'
down_revision: str | Sequence[str] | None = 'core_0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'core_api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=20), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('last_used_ip', sa.String(length=45), nullable=True),
        sa.Column('revoked_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['core_user.id'],
                                name=op.f('fk_core_api_token_user_id_core_user'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'],
                                name=op.f('fk_core_api_token_location_id_core_location'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'],
                                name=op.f('fk_core_api_token_created_by_id_core_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['core_user.id'],
                                name=op.f('fk_core_api_token_revoked_by_id_core_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_core_api_token_token_hash')),
    )
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.create_index('ix_core_api_token_user', ['user_id', 'revoked_at'], unique=False)

    op.create_table(
        'core_api_idempotency_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('location_header', sa.String(length=500), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['token_id'], ['core_api_token.id'],
                                name=op.f('fk_core_api_idempotency_key_token_id_core_api_token'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'],
                                name=op.f('fk_core_api_idempotency_key_location_id_core_location'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_idempotency_key')),
        sa.UniqueConstraint('location_id', 'token_id', 'key',
                            name=op.f('uq_core_api_idempotency_key_location_id_token_id_key')),
    )
    with op.batch_alter_table('core_api_idempotency_key', schema=None) as batch_op:
        batch_op.create_index('ix_core_api_idempotency_key_created', ['location_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_api_idempotency_key_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_api_idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_api_idempotency_key_location_id'))
        batch_op.drop_index('ix_core_api_idempotency_key_created')
    op.drop_table('core_api_idempotency_key')
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.drop_index('ix_core_api_token_user')
    op.drop_table('core_api_token')
