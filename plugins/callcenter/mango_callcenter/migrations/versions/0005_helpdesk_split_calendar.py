"""Call centre: ticket split, SLA business-hours calendar and pause, message-id look-up index.

Revision ID: callcenter_0005
Revises: callcenter_0004
Create Date: 2026-11-27 19:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types
from mango_core.db import append_only

revision: str = 'callcenter_0005'
down_revision: str | Sequence[str] | None = 'callcenter_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callcenter_business_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Integer(), nullable=False),
    sa.Column('closes', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('opens >= 0 AND opens < closes AND closes <= 1440', name=op.f('ck_callcenter_business_hours_interval')),
    sa.CheckConstraint('weekday >= 0 AND weekday <= 6', name=op.f('ck_callcenter_business_hours_weekday')),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_business_hours_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_business_hours')),
    sa.UniqueConstraint('location_id', 'weekday', name=op.f('uq_callcenter_business_hours_location_id_weekday'))
    )
    with op.batch_alter_table('callcenter_business_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_business_hours_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_closed_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_closed_day_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_closed_day')),
    sa.UniqueConstraint('location_id', 'day', name=op.f('uq_callcenter_closed_day_location_id_day'))
    )
    with op.batch_alter_table('callcenter_closed_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_closed_day_location_id'), ['location_id'], unique=False)

    with op.batch_alter_table('callcenter_sla', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock', sa.String(length=10), server_default='24x7', nullable=False))
        batch_op.create_check_constraint(op.f('ck_callcenter_sla_clock'), "clock IN ('24x7', 'business')")

    with op.batch_alter_table('callcenter_ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', mango_core.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_seconds', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('callcenter_message', schema=None) as batch_op:
        batch_op.create_index('ix_callcenter_message_email_id', ['location_id', 'email_message_id'], unique=False)

    _event_kinds(KINDS + ("split_to", "split_from"))


KINDS = ('created', 'state', 'assignee', 'priority', 'queue', 'merged', 'merged_from', 'response_breach',
         'resolution_breach')


def _event_kinds(kinds: tuple[str, ...]) -> None:
    """Replace the event log's kind check (SQLite copies the table: its append-only triggers are made again)."""
    append_only.drop('callcenter_ticket_event')
    with op.batch_alter_table('callcenter_ticket_event', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_callcenter_ticket_event_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_callcenter_ticket_event_kind'),
                                         "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")
    append_only.create('callcenter_ticket_event')


def downgrade() -> None:
    # the event log keeps its wider kind check: it is append-only, and split events may be in it
    with op.batch_alter_table('callcenter_message', schema=None) as batch_op:
        batch_op.drop_index('ix_callcenter_message_email_id')
    with op.batch_alter_table('callcenter_ticket', schema=None) as batch_op:
        batch_op.drop_column('sla_paused_seconds')
        batch_op.drop_column('waiting_since')
    with op.batch_alter_table('callcenter_sla', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_callcenter_sla_clock'), type_='check')
        batch_op.drop_column('clock')
    with op.batch_alter_table('callcenter_closed_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_closed_day_location_id'))
    op.drop_table('callcenter_closed_day')
    with op.batch_alter_table('callcenter_business_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_business_hours_location_id'))
    op.drop_table('callcenter_business_hours')
