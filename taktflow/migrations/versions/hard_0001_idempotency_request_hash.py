"""hardening: keep the hash of the request an Idempotency-Key was first used with

Revision ID: hard_0001
Revises: 0001
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = 'hard_0001'
down_revision = '0001'
branch_labels = ('hardening',)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_instance') as batch:
        batch.add_column(sa.Column('idempotency_request_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_column('idempotency_request_hash')
