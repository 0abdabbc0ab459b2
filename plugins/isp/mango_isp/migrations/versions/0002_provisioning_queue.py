"""Provisioning: the durable task queue, routers' subscriber numbers and encrypted device credentials.

Revision ID: isp_0002
Revises: isp_0001
Create Date: 2026-11-27 14:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'isp_0002'
down_revision: str | Sequence[str] | None = 'isp_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("activate", "block", "unblock", "terminate", "params", "change_product", "transfer", "devices",
         "ipam", "retry", "sync")


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _location(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['location_id'], ['core_location.id'],
                                   name=op.f(f'fk_{table}_location_id_core_location'), ondelete='RESTRICT')


def upgrade() -> None:
    op.create_table(
        'isp_provision_task',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('router_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('requests', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('claimed_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('result', sa.String(length=300), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('finished_at', mango_core.db.types.UTCDateTime(), nullable=True),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint(_in('state', ('queued', 'running', 'done', 'failed')),
                           name=op.f('ck_isp_provision_task_state')),
        sa.CheckConstraint(_in('kind', KINDS), name=op.f('ck_isp_provision_task_kind')),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_isp_provision_task_attempts')),
        sa.ForeignKeyConstraint(['router_id'], ['core_device.id'],
                                name=op.f('fk_isp_provision_task_router_id_core_device'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['service_id'], ['core_service.id'],
                                name=op.f('fk_isp_provision_task_service_id_core_service'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'],
                                name=op.f('fk_isp_provision_task_created_by_id_core_user'), ondelete='SET NULL'),
        _location('isp_provision_task'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_provision_task')),
    )
    with op.batch_alter_table('isp_provision_task') as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_provision_task_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_isp_provision_task_due', ['state', 'next_attempt_at', 'id'], unique=False)
        batch_op.create_index('ix_isp_provision_task_router', ['location_id', 'router_id', 'id'], unique=False)
        batch_op.create_index('ix_isp_provision_task_service', ['location_id', 'service_id', 'id'], unique=False)

    op.create_table(
        'isp_router_subscriber',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('router_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('applied', sa.JSON(), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('number >= 2 AND number <= 65534', name=op.f('ck_isp_router_subscriber_number')),
        sa.ForeignKeyConstraint(['router_id'], ['core_device.id'],
                                name=op.f('fk_isp_router_subscriber_router_id_core_device'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['service_id'], ['core_service.id'],
                                name=op.f('fk_isp_router_subscriber_service_id_core_service'), ondelete='CASCADE'),
        _location('isp_router_subscriber'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_router_subscriber')),
        sa.UniqueConstraint('location_id', 'router_id', 'number',
                            name=op.f('uq_isp_router_subscriber_location_id_router_id_number')),
        sa.UniqueConstraint('location_id', 'router_id', 'service_id',
                            name=op.f('uq_isp_router_subscriber_location_id_router_id_service_id')),
    )
    with op.batch_alter_table('isp_router_subscriber') as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_router_subscriber_location_id'), ['location_id'], unique=False)
        batch_op.create_index('ix_isp_router_subscriber_service', ['location_id', 'service_id'], unique=False)

    op.create_table(
        'isp_device_credential',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['core_device.id'],
                                name=op.f('fk_isp_device_credential_device_id_core_device'), ondelete='CASCADE'),
        _location('isp_device_credential'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_device_credential')),
        sa.UniqueConstraint('location_id', 'device_id', name=op.f('uq_isp_device_credential_location_id_device_id')),
    )
    with op.batch_alter_table('isp_device_credential') as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_device_credential_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    op.drop_table('isp_device_credential')
    op.drop_table('isp_router_subscriber')
    op.drop_table('isp_provision_task')
