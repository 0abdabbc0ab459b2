"""Import speed: drop the single-column location indexes of billing_payment and billing_ledger.

Every other index of both tables (and their unique constraints) starts with ``location_id``, so a
query by location alone, and the foreign key check when a location is deleted, use one of those;
the separate index only cost one more index entry per imported payment and per ledger entry
(measured on a 50,000-line statement: about 5 % of the database's work).

Revision ID: billing_0004
Revises: billing_0003
Create Date: 2026-11-27 10:20:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'billing_0004'
down_revision: str | Sequence[str] | None = 'billing_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('billing_payment', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_payment_location_id'))
    with op.batch_alter_table('billing_ledger', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_ledger_location_id'))


def downgrade() -> None:
    with op.batch_alter_table('billing_ledger', schema=None, recreate='never') as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_ledger_location_id'), ['location_id'], unique=False)
    with op.batch_alter_table('billing_payment', schema=None, recreate='never') as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_payment_location_id'), ['location_id'], unique=False)
