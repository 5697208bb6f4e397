"""hardening: API tokens carry candidate groups, so a worker token sees only its groups' tasks

Revision ID: hard_0002
Revises: hard_0001
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = 'hard_0002'
down_revision = 'hard_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_token') as batch:
        batch.add_column(sa.Column('groups', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_token') as batch:
        batch.drop_column('groups')
