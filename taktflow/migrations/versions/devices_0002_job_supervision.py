"""devices: a job's quantity basis and silence supervision (machine.silent raised by the watchdog)

Revision ID: devices_0002
Revises: devices_0001
Create Date: 2026-11-26 06:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'devices_0002'
down_revision = 'devices_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_quantity_basis', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('job_silence_seconds', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('job_active_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('job_silent_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('job_silent_at')
        batch_op.drop_column('job_active_at')
        batch_op.drop_column('job_silence_seconds')
        batch_op.drop_column('job_quantity_basis')
