"""Print: the lowest image resolution preflight accepts, per product.

Revision ID: print_0003
Revises: print_0002
Create Date: 2026-11-27 20:25:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'print_0003'
down_revision: str | Sequence[str] | None = 'print_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('print_spec', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_dpi', sa.Integer(), server_default='150', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_print_spec_min_dpi'), 'min_dpi >= 1')


def downgrade() -> None:
    with op.batch_alter_table('print_spec', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_print_spec_min_dpi'), type_='check')
        batch_op.drop_column('min_dpi')
