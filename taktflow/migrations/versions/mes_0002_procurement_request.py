"""mes: procurement requests (component shortages handed to procure-to-pay)

Revision ID: mes_0002
Revises: mes_0001
Create Date: 2026-11-26 05:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'mes_0002'
down_revision = 'mes_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mes_procurement_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('component_code', sa.String(length=80), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=False),
    sa.Column('requisition_number', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['mes_work_order.id'], name=op.f('fk_mes_procurement_request_work_order_id_mes_work_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mes_procurement_request'))
    )
    with op.batch_alter_table('mes_procurement_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mes_procurement_request_requisition_id'), ['requisition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mes_procurement_request_work_order_id'), ['work_order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mes_procurement_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mes_procurement_request_work_order_id'))
        batch_op.drop_index(batch_op.f('ix_mes_procurement_request_requisition_id'))
    op.drop_table('mes_procurement_request')
