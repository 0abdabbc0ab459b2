"""Billing payments: the payment audit trail and Fio API links (encrypted tokens).

Revision ID: billing_0003
Revises: billing_0002
Create Date: 2026-11-27 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import mango_core.db.types

# revision identifiers, used by Alembic.
revision: str = 'billing_0003'
down_revision: str | Sequence[str] | None = 'billing_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('billing_payment_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("action IN ('imported', 'matched', 'paired', 'ignored', 'refunded', 'reversed', 'recorded')", name=op.f('ck_billing_payment_event_action')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_billing_payment_event_customer_id_core_customer'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_billing_payment_event_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payment_id'], ['billing_payment.id'], name=op.f('fk_billing_payment_event_payment_id_billing_payment'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_billing_payment_event_user_id_core_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payment_event'))
    )
    with op.batch_alter_table('billing_payment_event', schema=None) as batch_op:
        batch_op.create_index('ix_billing_payment_event_payment', ['location_id', 'payment_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_payment_event_location_id'), ['location_id'], unique=False)

    op.create_table('billing_fio_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_account_id', sa.Integer(), nullable=False),
    sa.Column('token_encrypted', sa.Text(), nullable=False),
    sa.Column('token_hint', sa.String(length=12), nullable=False),
    sa.Column('base_url', sa.String(length=200), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('rate_state', sa.JSON(), nullable=False),
    sa.Column('last_run_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_result', sa.Text(), nullable=True),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bank_account_id'], ['core_bank_account.id'], name=op.f('fk_billing_fio_link_bank_account_id_core_bank_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_billing_fio_link_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_fio_link')),
    sa.UniqueConstraint('location_id', 'bank_account_id', name=op.f('uq_billing_fio_link_location_id_bank_account_id'))
    )
    with op.batch_alter_table('billing_fio_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_fio_link_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_fio_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_fio_link_location_id'))
    op.drop_table('billing_fio_link')
    with op.batch_alter_table('billing_payment_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_payment_event_location_id'))
        batch_op.drop_index('ix_billing_payment_event_payment')
    op.drop_table('billing_payment_event')
