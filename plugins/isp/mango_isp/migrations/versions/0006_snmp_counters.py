"""ISP: SNMP interface counters: per-device agent settings, interfaces, traffic samples.

Revision ID: isp_0006
Revises: isp_0005
Create Date: 2026-11-27 16:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types

revision: str = 'isp_0006'
down_revision: str | Sequence[str] | None = 'isp_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('isp_snmp_agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.String(length=2), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('community_secret', sa.Text(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('auth_protocol', sa.String(length=8), nullable=False),
    sa.Column('auth_secret', sa.Text(), nullable=True),
    sa.Column('priv_protocol', sa.String(length=8), nullable=False),
    sa.Column('priv_secret', sa.Text(), nullable=True),
    sa.Column('last_poll_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_ok_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('sys_uptime', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("version IN ('2c', '3')", name=op.f('ck_isp_snmp_agent_version')),
    sa.CheckConstraint("auth_protocol IN ('', 'md5', 'sha', 'sha256', 'sha512')", name=op.f('ck_isp_snmp_agent_auth_protocol')),
    sa.CheckConstraint("priv_protocol IN ('', 'des', 'aes', 'aes256')", name=op.f('ck_isp_snmp_agent_priv_protocol')),
    sa.CheckConstraint('port >= 1 AND port <= 65535', name=op.f('ck_isp_snmp_agent_port')),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_isp_snmp_agent_device_id_core_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_snmp_agent_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_snmp_agent')),
    sa.UniqueConstraint('location_id', 'device_id', name=op.f('uq_isp_snmp_agent_location_id_device_id'))
    )
    with op.batch_alter_table('isp_snmp_agent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_snmp_agent_location_id'), ['location_id'], unique=False)

    op.create_table('isp_snmp_interface',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('if_index', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('descr', sa.String(length=255), nullable=False),
    sa.Column('interface_id', sa.Integer(), nullable=True),
    sa.Column('oper_status', sa.SmallInteger(), nullable=True),
    sa.Column('speed_mbps', sa.Integer(), nullable=True),
    sa.Column('hc', sa.Boolean(), nullable=False),
    sa.Column('in_octets', sa.BigInteger(), nullable=True),
    sa.Column('out_octets', sa.BigInteger(), nullable=True),
    sa.Column('in_bps', sa.Float(), nullable=True),
    sa.Column('out_bps', sa.Float(), nullable=True),
    sa.Column('last_seen_at', mango_core.db.types.UTCDateTime(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_isp_snmp_interface_device_id_core_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interface_id'], ['isp_interface.id'], name=op.f('fk_isp_snmp_interface_interface_id_isp_interface'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_snmp_interface_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_snmp_interface')),
    sa.UniqueConstraint('location_id', 'device_id', 'if_index', name=op.f('uq_isp_snmp_interface_location_id_device_id_if_index'))
    )
    with op.batch_alter_table('isp_snmp_interface', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_isp_snmp_interface_interface_id'), ['interface_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_snmp_interface_location_id'), ['location_id'], unique=False)

    op.create_table('isp_snmp_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('interface_id', sa.Integer(), nullable=False),
    sa.Column('at', mango_core.db.types.UTCDateTime(), nullable=False),
    sa.Column('sys_uptime', sa.BigInteger(), nullable=True),
    sa.Column('in_octets', sa.BigInteger(), nullable=False),
    sa.Column('out_octets', sa.BigInteger(), nullable=False),
    sa.Column('in_bps', sa.Float(), nullable=True),
    sa.Column('out_bps', sa.Float(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['core_device.id'], name=op.f('fk_isp_snmp_sample_device_id_core_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interface_id'], ['isp_snmp_interface.id'], name=op.f('fk_isp_snmp_sample_interface_id_isp_snmp_interface'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['core_location.id'], name=op.f('fk_isp_snmp_sample_location_id_core_location'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_isp_snmp_sample'))
    )
    with op.batch_alter_table('isp_snmp_sample', schema=None) as batch_op:
        batch_op.create_index('ix_isp_snmp_sample_at', ['location_id', 'at'], unique=False)
        batch_op.create_index('ix_isp_snmp_sample_interface', ['location_id', 'interface_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_isp_snmp_sample_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('isp_snmp_sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_isp_snmp_sample_location_id'))
        batch_op.drop_index('ix_isp_snmp_sample_interface')
        batch_op.drop_index('ix_isp_snmp_sample_at')

    op.drop_table('isp_snmp_sample')
    with op.batch_alter_table('isp_snmp_interface', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_isp_snmp_interface_location_id'))
        batch_op.drop_index(batch_op.f('ix_isp_snmp_interface_interface_id'))

    op.drop_table('isp_snmp_interface')
    with op.batch_alter_table('isp_snmp_agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_isp_snmp_agent_location_id'))

    op.drop_table('isp_snmp_agent')
