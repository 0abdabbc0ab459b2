"""Call centre: calls tables.

Revision ID: callcenter_0004
Revises: callcenter_0003
Create Date: 2026-11-27 16:35:00

"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import mango_core.db.types  # noqa: F401

revision: str = 'callcenter_0004'
down_revision: str | Sequence[str] | None = 'callcenter_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
