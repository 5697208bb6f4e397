"""devices: parts a machine counts while no job runs on it (kept out of OEE, the machine is flagged)

Revision ID: mes15_0002
Revises: devices_0002
Create Date: 2026-12-06 04:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'mes15_0002'
down_revision = 'devices_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unassigned_count', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('unassigned_since', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('unassigned_since')
        batch_op.drop_column('unassigned_count')
