"""Mail outbox: drop the single-column location index (the unique (location_id, dedup_key) covers it).

With statistics from before a billing run, the planner took that index for the look-up of known
dedup keys and read every message of the location once per batch.

Revision ID: core_0013
Revises: core_0012
Create Date: 2026-11-27 19:20:00

"""
from collections.abc import Sequence

from alembic import op

revision: str = 'core_0013'
down_revision: str | Sequence[str] | None = 'core_0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('core_mail_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_mail_outbox_location_id'))


def downgrade() -> None:
    with op.batch_alter_table('core_mail_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_mail_outbox_location_id'), ['location_id'], unique=False)
