"""iXpos: cashdesk tables.

Revision ID: ixpos_0001
Revises:
Create Date: 2026-11-27 16:15:00

"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import mango_core.db.types  # noqa: F401

revision: str = 'ixpos_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
