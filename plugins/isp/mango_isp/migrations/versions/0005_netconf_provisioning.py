"""ISP: netconf provisioning.

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
    pass


def downgrade() -> None:
    pass
