"""mrp: item planning parameters, forecast, MRP runs and their proposals

Revision ID: mrp_0001
Revises: erp_0001
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = 'mrp_0001'
down_revision = 'erp_0001'
branch_labels = ('mrp',)
depends_on = None

QUANTITY = sa.Numeric(18, 4)


def upgrade() -> None:
    op.create_table(
        'erp_item_planning',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('lead_time_days', sa.Integer(), nullable=False),
        sa.Column('safety_stock', QUANTITY, nullable=False),
        sa.Column('lot_sizing', sa.String(length=20), nullable=False),
        sa.Column('lot_size', QUANTITY, nullable=False),
        sa.Column('min_lot', QUANTITY, nullable=False),
        sa.Column('lot_multiple', QUANTITY, nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_item_planning_item_id_erp_item')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_item_planning')),
        sa.UniqueConstraint('item_id', name=op.f('uq_erp_item_planning_item_id')),
    )
    op.create_table(
        'erp_forecast',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('quantity', QUANTITY, nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_forecast_item_id_erp_item')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_forecast')),
    )
    op.create_index(op.f('ix_erp_forecast_item_id'), 'erp_forecast', ['item_id'])
    op.create_table(
        'erp_mrp_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('planned_at', sa.DateTime(), nullable=False),
        sa.Column('planning_date', sa.Date(), nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=True),
        sa.Column('exceptions', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_mrp_run')),
        sa.UniqueConstraint('number', name=op.f('uq_erp_mrp_run_number')),
    )
    op.create_index(op.f('ix_erp_mrp_run_instance_id'), 'erp_mrp_run', ['instance_id'])
    op.create_table(
        'erp_mrp_proposal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('item_code', sa.String(length=40), nullable=False),
        sa.Column('quantity', QUANTITY, nullable=False),
        sa.Column('release_date', sa.Date(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('pegging', sa.JSON(), nullable=False),
        sa.Column('firmed_instance_id', sa.String(length=36), nullable=True),
        sa.Column('firmed_document', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['erp_mrp_run.id'], name=op.f('fk_erp_mrp_proposal_run_id_erp_mrp_run')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_mrp_proposal')),
        sa.UniqueConstraint('number', name=op.f('uq_erp_mrp_proposal_number')),
    )
    op.create_index(op.f('ix_erp_mrp_proposal_run_id'), 'erp_mrp_proposal', ['run_id'])


def downgrade() -> None:
    op.drop_table('erp_mrp_proposal')
    op.drop_table('erp_mrp_run')
    op.drop_table('erp_forecast')
    op.drop_table('erp_item_planning')
