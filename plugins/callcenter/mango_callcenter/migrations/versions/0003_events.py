"""Call centre: events tables.

Revision ID: callcenter_0003
Revises: callcenter_0002
Create Date: 2026-11-27 16:35:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'callcenter_0003'
down_revision: str | Sequence[str] | None = 'callcenter_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callcenter_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('starts_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('ends_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('planned', 'outage')", name=op.f('ck_callcenter_event_kind')),
    sa.CheckConstraint("scope IN ('topology', 'manual', 'product', 'all')", name=op.f('ck_callcenter_event_scope')),
    sa.CheckConstraint("state IN ('planned', 'ongoing', 'finished', 'cancelled')", name=op.f('ck_callcenter_event_state')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at >= starts_at', name=op.f('ck_callcenter_event_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_callcenter_event_created_by_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_event_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_callcenter_event_product_id_core_product'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_event'))
    )
    with op.batch_alter_table('callcenter_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_event_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_callcenter_event_state', ['location_id', 'state', 'starts_at'], unique=False)
        batch_op.create_index('uq_callcenter_event_alert', ['location_id', 'alert_id'], unique=True, sqlite_where=sa.text('alert_id IS NOT NULL'), postgresql_where=sa.text('alert_id IS NOT NULL'))

    op.create_table('callcenter_event_customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('notified_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('finished_notified_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_callcenter_event_customer_customer_id_core_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['callcenter_event.id'], name=op.f('fk_callcenter_event_customer_event_id_callcenter_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_event_customer_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_event_customer')),
    sa.UniqueConstraint('location_id', 'event_id', 'customer_id', name=op.f('uq_callcenter_event_customer_location_id_event_id_customer_id'))
    )
    with op.batch_alter_table('callcenter_event_customer', schema=None) as batch_op:
        batch_op.create_index('ix_callcenter_event_customer_customer', ['location_id', 'customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_customer_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_customer_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_event_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_callcenter_event_device_device_id_core_device'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['event_id'], ['callcenter_event.id'], name=op.f('fk_callcenter_event_device_event_id_callcenter_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_event_device_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_event_device')),
    sa.UniqueConstraint('location_id', 'event_id', 'device_id', name=op.f('uq_callcenter_event_device_location_id_event_id_device_id'))
    )
    with op.batch_alter_table('callcenter_event_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_event_device_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_device_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_device_location_id'), ['location_id'], unique=False)

    op.create_table('callcenter_event_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("source IN ('topology', 'manual', 'product', 'all')", name=op.f('ck_callcenter_event_service_source')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_callcenter_event_service_customer_id_core_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['callcenter_event.id'], name=op.f('fk_callcenter_event_service_event_id_callcenter_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_event_service_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['core_service.id'], name=op.f('fk_callcenter_event_service_service_id_core_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_event_service')),
    sa.UniqueConstraint('location_id', 'event_id', 'service_id', name=op.f('uq_callcenter_event_service_location_id_event_id_service_id'))
    )
    with op.batch_alter_table('callcenter_event_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callcenter_event_service_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_service_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_service_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_event_service_service_id'), ['service_id'], unique=False)

    op.create_table('callcenter_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('ends_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('finished_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('scheduled', 'done', 'failed', 'cancelled')", name=op.f('ck_callcenter_visit_state')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_callcenter_visit_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_callcenter_visit_created_by_id_core_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['core_customer.id'], name=op.f('fk_callcenter_visit_customer_id_core_customer'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_callcenter_visit_device_id_core_device'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['callcenter_event.id'], name=op.f('fk_callcenter_visit_event_id_callcenter_event'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_callcenter_visit_location_id_core_location'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['core_service.id'], name=op.f('fk_callcenter_visit_service_id_core_service'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['technician_id'], ['core_user.id'], name=op.f('fk_callcenter_visit_technician_id_core_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ticket_id'], ['callcenter_ticket.id'], name=op.f('fk_callcenter_visit_ticket_id_callcenter_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callcenter_visit'))
    )
    with op.batch_alter_table('callcenter_visit', schema=None) as batch_op:
        batch_op.create_index('ix_callcenter_visit_calendar', ['location_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_visit_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callcenter_visit_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_callcenter_visit_technician', ['location_id', 'technician_id', 'starts_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('callcenter_visit', schema=None) as batch_op:
        batch_op.drop_index('ix_callcenter_visit_technician')
        batch_op.drop_index(batch_op.f('ix_callcenter_visit_location_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_visit_customer_id'))
        batch_op.drop_index('ix_callcenter_visit_calendar')

    op.drop_table('callcenter_visit')
    with op.batch_alter_table('callcenter_event_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_event_service_service_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_event_service_location_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_event_service_event_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_event_service_customer_id'))

    op.drop_table('callcenter_event_service')
    with op.batch_alter_table('callcenter_event_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_event_device_location_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_event_device_event_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_event_device_device_id'))

    op.drop_table('callcenter_event_device')
    with op.batch_alter_table('callcenter_event_customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callcenter_event_customer_location_id'))
        batch_op.drop_index(batch_op.f('ix_callcenter_event_customer_event_id'))
        batch_op.drop_index('ix_callcenter_event_customer_customer')

    op.drop_table('callcenter_event_customer')
    with op.batch_alter_table('callcenter_event', schema=None) as batch_op:
        batch_op.drop_index('uq_callcenter_event_alert', sqlite_where=sa.text('alert_id IS NOT NULL'), postgresql_where=sa.text('alert_id IS NOT NULL'))
        batch_op.drop_index('ix_callcenter_event_state')
        batch_op.drop_index(batch_op.f('ix_callcenter_event_location_id'))

    op.drop_table('callcenter_event')
