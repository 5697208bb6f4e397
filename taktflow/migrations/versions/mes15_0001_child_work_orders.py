"""mes: child work orders (a make-item shortage of a work order is made by a child order)

Revision ID: mes15_0001
Revises: sched_0001
Create Date: 2026-12-06 04:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'mes15_0001'
down_revision = 'sched_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mes_work_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_mes_work_order_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_mes_work_order_parent_id_mes_work_order'), 'mes_work_order',
                                    ['parent_id'], ['id'])
    with op.batch_alter_table('mes_downtime', schema=None) as batch_op:
        batch_op.alter_column('operation_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('category', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mes_downtime', schema=None) as batch_op:
        batch_op.drop_column('category')
        batch_op.alter_column('operation_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('mes_work_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_mes_work_order_parent_id_mes_work_order'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_mes_work_order_parent_id'))
        batch_op.drop_column('parent_id')
