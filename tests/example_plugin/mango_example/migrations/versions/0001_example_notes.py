"""Example plugin: notes per location.

Revision ID: example_0001
Revises:
Create Date: 2026-11-27 06:01:04.035429

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

# revision identifiers, used by Alembic.
revision: str = 'example_0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('example_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('reply_to_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['core_user.id'], name=op.f('fk_example_note_author_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reply_to_id'], ['example_note.id'], name=op.f('fk_example_note_reply_to_id_example_note'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_example_note_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_example_note'))
    )
    with op.batch_alter_table('example_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_example_note_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('example_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_example_note_location_id'))

    op.drop_table('example_note')
