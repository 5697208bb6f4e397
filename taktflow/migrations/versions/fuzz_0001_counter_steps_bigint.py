"""devices: counter steps as BIGINT (a 64-bit PLC counter can jump by more than INTEGER holds)

Revision ID: fuzz_0001
Revises: devices_0002
Create Date: 2026-12-06 04:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'fuzz_0001'
down_revision = 'devices_0002'
branch_labels = None
depends_on = None

COLUMNS = (("device", "scrap_unreported"), ("device_signal", "delta_count"), ("device_signal", "delta_scrap"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite's INTEGER is 64 bits already
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
