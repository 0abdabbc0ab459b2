"""Mail: the per-location outbox (``core_mail_outbox``) and its attachments (``core_mail_attachment``).

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-11-28 10:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'core_0008'
down_revision: str | Sequence[str] | None = 'core_0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'core_mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('html', sa.Text(), nullable=True),
        sa.Column('reply_to', sa.String(length=254), nullable=True),
        sa.Column('entity', sa.String(length=40), nullable=True),
        sa.Column('entity_id', sa.Integer(), nullable=True),
        sa.Column('dedup_key', sa.String(length=200), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('message_id', sa.String(length=300), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('prepared_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('sent_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('preparing', 'queued', 'sent', 'failed')", name=op.f('ck_core_mail_outbox_state')),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_core_mail_outbox_attempts')),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'],
                                name=op.f('fk_core_mail_outbox_location_id_core_location'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_mail_outbox')),
        sa.UniqueConstraint('location_id', 'dedup_key', name=op.f('uq_core_mail_outbox_location_id_dedup_key')),
    )
    with op.batch_alter_table('core_mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_core_mail_outbox_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_core_mail_outbox_entity', ['location_id', 'entity', 'entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_mail_outbox_location_id'), ['location_id'], unique=False)

    op.create_table(
        'core_mail_attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('size >= 0', name=op.f('ck_core_mail_attachment_size')),
        sa.ForeignKeyConstraint(['location_id'], ['core_location.id'],
                                name=op.f('fk_core_mail_attachment_location_id_core_location'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['message_id'], ['core_mail_outbox.id'],
                                name=op.f('fk_core_mail_attachment_message_id_core_mail_outbox'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_core_mail_attachment')),
    )
    with op.batch_alter_table('core_mail_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_mail_attachment_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_mail_attachment_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_mail_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_mail_attachment_message_id'))
        batch_op.drop_index(batch_op.f('ix_core_mail_attachment_location_id'))
    op.drop_table('core_mail_attachment')
    with op.batch_alter_table('core_mail_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_mail_outbox_location_id'))
        batch_op.drop_index('ix_core_mail_outbox_entity')
        batch_op.drop_index('ix_core_mail_outbox_due')
    op.drop_table('core_mail_outbox')
