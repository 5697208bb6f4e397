"""devices: machines, signals, machine event log (PackML state intervals), anomalies

Revision ID: devices_0001
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = 'devices_0001'
down_revision = '0001'
branch_labels = ('devices',)
depends_on = None


def upgrade() -> None:
    op.create_table('device',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('work_center', sa.String(length=64), nullable=False),
    sa.Column('ideal_cycle_seconds', sa.Float(), nullable=False),
    sa.Column('counter_limit', sa.BigInteger(), nullable=False),
    sa.Column('mqtt_topic', sa.String(length=300), nullable=True),
    sa.Column('sparkplug_id', sa.String(length=300), nullable=True),
    sa.Column('opcua_endpoint', sa.String(length=300), nullable=True),
    sa.Column('opcua_namespace', sa.String(length=300), nullable=True),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('state_since', sa.DateTime(), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=True),
    sa.Column('stop_reason', sa.String(length=200), nullable=True),
    sa.Column('processed_raw', sa.BigInteger(), nullable=True),
    sa.Column('defective_raw', sa.BigInteger(), nullable=True),
    sa.Column('processed_total', sa.BigInteger(), nullable=False),
    sa.Column('defective_total', sa.BigInteger(), nullable=False),
    sa.Column('scrap_unreported', sa.Integer(), nullable=False),
    sa.Column('last_sequence', sa.BigInteger(), nullable=True),
    sa.Column('sequence_base', sa.BigInteger(), nullable=False),
    sa.Column('born_at', sa.DateTime(), nullable=True),
    sa.Column('last_signal_at', sa.DateTime(), nullable=True),
    sa.Column('job_operation_id', sa.String(length=100), nullable=True),
    sa.Column('job_quantity', sa.Integer(), nullable=True),
    sa.Column('job_processed_start', sa.BigInteger(), nullable=False),
    sa.Column('job_defective_start', sa.BigInteger(), nullable=False),
    sa.Column('job_reached', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device')),
    sa.UniqueConstraint('mqtt_topic', name=op.f('uq_device_mqtt_topic')),
    sa.UniqueConstraint('sparkplug_id', name=op.f('uq_device_sparkplug_id'))
    )
    op.create_index(op.f('ix_device_work_center'), 'device', ['work_center'], unique=False)
    op.create_table('device_anomaly',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=300), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('signal', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_anomaly'))
    )
    op.create_index('ix_device_anomaly_device_at', 'device_anomaly', ['device_id', 'at'], unique=False)
    op.create_table('device_signal',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('machine_ts', sa.DateTime(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('delta_count', sa.Integer(), nullable=True),
    sa.Column('delta_scrap', sa.Integer(), nullable=True),
    sa.Column('messages', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_device_signal_device_id_device')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_signal')),
    sa.UniqueConstraint('device_id', 'sequence', 'kind', name='uq_device_signal_device_sequence')
    )
    op.create_index('ix_device_signal_device_time', 'device_signal', ['device_id', 'machine_ts'], unique=False)
    op.create_table('device_state_interval',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_device_state_interval_device_id_device')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_state_interval'))
    )
    op.create_index('ix_device_state_interval_device_start', 'device_state_interval', ['device_id', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_device_state_interval_device_start', table_name='device_state_interval')
    op.drop_table('device_state_interval')
    op.drop_index('ix_device_signal_device_time', table_name='device_signal')
    op.drop_table('device_signal')
    op.drop_index('ix_device_anomaly_device_at', table_name='device_anomaly')
    op.drop_table('device_anomaly')
    op.drop_index(op.f('ix_device_work_center'), table_name='device')
    op.drop_table('device')
