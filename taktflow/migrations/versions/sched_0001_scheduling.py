"""scheduling: calendars, learned run times, schedules

Revision ID: sched_0001
Revises: mes_0002
Create Date: 2026-12-05 16:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'sched_0001'
down_revision = 'mes_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sched_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sched_calendar')),
    sa.UniqueConstraint('code', name=op.f('uq_sched_calendar_code'))
    )
    op.create_table('sched_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('objective', sa.String(length=40), nullable=False),
    sa.Column('time_limit_seconds', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('makespan_minutes', sa.Integer(), nullable=False),
    sa.Column('weighted_tardiness', sa.Integer(), nullable=False),
    sa.Column('solve_seconds', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sched_schedule'))
    )
    op.create_table('sched_holiday',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['sched_calendar.id'], name=op.f('fk_sched_holiday_calendar_id_sched_calendar')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sched_holiday')),
    sa.UniqueConstraint('calendar_id', 'day', name=op.f('uq_sched_holiday_calendar_id'))
    )
    with op.batch_alter_table('sched_holiday', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sched_holiday_calendar_id'), ['calendar_id'], unique=False)

    op.create_table('sched_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['sched_calendar.id'], name=op.f('fk_sched_shift_calendar_id_sched_calendar')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sched_shift'))
    )
    with op.batch_alter_table('sched_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sched_shift_calendar_id'), ['calendar_id'], unique=False)

    op.create_table('sched_work_center_calendar',
    sa.Column('work_center_id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['sched_calendar.id'], name=op.f('fk_sched_work_center_calendar_calendar_id_sched_calendar')),
    sa.ForeignKeyConstraint(['work_center_id'], ['mes_work_center.id'], name=op.f('fk_sched_work_center_calendar_work_center_id_mes_work_center')),
    sa.PrimaryKeyConstraint('work_center_id', name=op.f('pk_sched_work_center_calendar'))
    )
    with op.batch_alter_table('sched_work_center_calendar', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sched_work_center_calendar_calendar_id'), ['calendar_id'], unique=False)

    op.create_table('sched_routing_time',
    sa.Column('routing_operation_id', sa.Integer(), nullable=False),
    sa.Column('seconds_per_unit', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['routing_operation_id'], ['mes_routing_operation.id'], name=op.f('fk_sched_routing_time_routing_operation_id_mes_routing_operation')),
    sa.PrimaryKeyConstraint('routing_operation_id', name=op.f('pk_sched_routing_time'))
    )
    op.create_table('sched_planned_operation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('machine_code', sa.String(length=80), nullable=True),
    sa.Column('planned_start', sa.DateTime(), nullable=False),
    sa.Column('planned_end', sa.DateTime(), nullable=False),
    sa.Column('fixed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['mes_operation.id'], name=op.f('fk_sched_planned_operation_operation_id_mes_operation')),
    sa.ForeignKeyConstraint(['schedule_id'], ['sched_schedule.id'], name=op.f('fk_sched_planned_operation_schedule_id_sched_schedule')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sched_planned_operation')),
    sa.UniqueConstraint('schedule_id', 'operation_id', name=op.f('uq_sched_planned_operation_schedule_id'))
    )
    with op.batch_alter_table('sched_planned_operation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sched_planned_operation_operation_id'), ['operation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sched_planned_operation_schedule_id'), ['schedule_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sched_planned_operation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sched_planned_operation_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_sched_planned_operation_operation_id'))

    op.drop_table('sched_planned_operation')
    op.drop_table('sched_routing_time')
    with op.batch_alter_table('sched_work_center_calendar', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sched_work_center_calendar_calendar_id'))

    op.drop_table('sched_work_center_calendar')
    with op.batch_alter_table('sched_shift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sched_shift_calendar_id'))

    op.drop_table('sched_shift')
    with op.batch_alter_table('sched_holiday', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sched_holiday_calendar_id'))

    op.drop_table('sched_holiday')
    op.drop_table('sched_schedule')
    op.drop_table('sched_calendar')
