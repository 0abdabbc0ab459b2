"""ISP: netconf provisioning — a device's NETCONF access says whether the queue provisions it.

Revision ID: isp_0005
Revises: isp_0004
Create Date: 2026-11-27 16:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import mango_core.db.types  # noqa: F401

revision: str = 'isp_0005'
down_revision: str | Sequence[str] | None = 'isp_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing accesses stay backup-only: provisioning pushes the whole template, an explicit choice
    with op.batch_alter_table('isp_netconf_access', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provision', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('isp_netconf_access', schema=None) as batch_op:
        batch_op.drop_column('provision')
