"""Mail outbox: In-Reply-To and References, so that answers can be threaded (the helpdesk).

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-11-27 16:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'core_0011'
down_revision: str | Sequence[str] | None = 'core_0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('core_mail_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_reply_to', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('thread_ids', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('core_mail_outbox', schema=None) as batch_op:
        batch_op.drop_column('thread_ids')
        batch_op.drop_column('in_reply_to')
