"""scale: inbox index, so the first page of an inbox reads index order instead of sorting every open task

Revision ID: scale_0001
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = 'scale_0001'
down_revision = '0001'
branch_labels = ('scale',)
depends_on = None


def upgrade() -> None:
    op.create_index('ix_user_task_inbox', 'user_task', [sa.text('priority DESC'), 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_user_task_inbox', table_name='user_task')
