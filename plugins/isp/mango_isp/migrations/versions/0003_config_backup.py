"""NETCONF and config backup: NETCONF access of devices, device configuration versions.

Revision ID: isp_0003
Revises: isp_0002
Create Date: 2026-11-27 14:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'isp_0003'
down_revision: str | Sequence[str] | None = 'isp_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        'isp_netconf_access',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('port', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('secret_kind', sa.String(length=10), nullable=False),
        sa.Column('secret_token', sa.Text(), nullable=False),
        sa.Column('host_key', sa.Text(), nullable=False),
        sa.Column('template', sa.String(length=40), nullable=False),
        sa.Column('confirm_timeout', sa.Integer(), nullable=False),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('port BETWEEN 1 AND 65535', name=op.f('ck_isp_netconf_access_port')),
        sa.CheckConstraint("secret_kind IN ('password', 'key')", name=op.f('ck_isp_netconf_access_secret_kind')),
        _fk('isp_netconf_access', 'device_id', 'core_device', 'CASCADE'),
        _fk('isp_netconf_access', 'location_id', 'core_location', 'RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_netconf_access')),
        sa.UniqueConstraint('location_id', 'device_id', name=op.f('uq_isp_netconf_access_location_id_device_id')),
    )
    with op.batch_alter_table('isp_netconf_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_netconf_access_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_netconf_access_location_id'), ['location_id'], unique=False)

    op.create_table(
        'isp_device_config',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('trigger', sa.String(length=10), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', mango_core.db.types.UTCDateTime(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("source IN ('netconf', 'linux')", name=op.f('ck_isp_device_config_source')),
        sa.CheckConstraint("trigger IN ('manual', 'scheduled', 'restore')", name=op.f('ck_isp_device_config_trigger')),
        _fk('isp_device_config', 'created_by_id', 'core_user', 'SET NULL'),
        _fk('isp_device_config', 'device_id', 'core_device', 'CASCADE'),
        _fk('isp_device_config', 'location_id', 'core_location', 'RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_device_config')),
        sa.UniqueConstraint('location_id', 'device_id', 'version', name=op.f('uq_isp_device_config_location_id_device_id_version')),
    )
    with op.batch_alter_table('isp_device_config', schema=None) as batch_op:
        batch_op.create_index('ix_isp_device_config_device_sha', ['location_id', 'device_id', 'sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_device_config_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_device_config_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('isp_device_config', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_isp_device_config_location_id'))
        batch_op.drop_index(batch_op.f('ix_isp_device_config_device_id'))
        batch_op.drop_index('ix_isp_device_config_device_sha')
    op.drop_table('isp_device_config')
    with op.batch_alter_table('isp_netconf_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_isp_netconf_access_location_id'))
        batch_op.drop_index(batch_op.f('ix_isp_netconf_access_device_id'))
    op.drop_table('isp_netconf_access')
