"""Finite-capacity scheduling: work-center calendars, learned run times, and the schedules the solver made."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.mes.common import Quantity


class Calendar(Base):
    """Working time of a work center (Odoo's resource calendar): weekly shifts minus holidays."""

    __tablename__ = "sched_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    shifts: Mapped[list[Shift]] = relationship(order_by="(Shift.weekday, Shift.start_minute)", lazy="selectin",
                                               cascade="all, delete-orphan")
    holidays: Mapped[list[Holiday]] = relationship(order_by="Holiday.day", lazy="selectin",
                                                   cascade="all, delete-orphan")


class Shift(Base):
    """One shift on a weekday (0 = Monday), minutes after midnight; an end past 1440 runs into the next day."""

    __tablename__ = "sched_shift"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sched_calendar.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class Holiday(Base):
    __tablename__ = "sched_holiday"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sched_calendar.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200), default="")


class WorkCenterCalendar(Base):
    """Which calendar a work center works by; a work center without one works around the clock."""

    __tablename__ = "sched_work_center_calendar"

    work_center_id: Mapped[int] = mapped_column(ForeignKey("mes_work_center.id"), primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sched_calendar.id"), index=True)

    calendar: Mapped[Calendar] = relationship(lazy="joined")


class RoutingTime(Base):
    """The planned run time per unit of a routing step, learned from confirmed operations (exponential
    moving average); the ideal cycle time stays as it is, since OEE's performance is measured against it."""

    __tablename__ = "sched_routing_time"

    routing_operation_id: Mapped[int] = mapped_column(ForeignKey("mes_routing_operation.id"), primary_key=True)
    seconds_per_unit: Mapped[Decimal] = mapped_column(Quantity)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class Schedule(Base):
    """One solver run: its inputs (start, objective, time limit) and what came out."""

    __tablename__ = "sched_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[datetime]
    objective: Mapped[str] = mapped_column(String(40))
    time_limit_seconds: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))  # OPTIMAL | FEASIBLE (CP-SAT's words)
    makespan_minutes: Mapped[int] = mapped_column(Integer)
    weighted_tardiness: Mapped[int] = mapped_column(Integer, default=0)
    solve_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(200))

    operations: Mapped[list[PlannedOperation]] = relationship(
        order_by="(PlannedOperation.planned_start, PlannedOperation.id)", lazy="selectin",
        cascade="all, delete-orphan")


class PlannedOperation(Base):
    __tablename__ = "sched_planned_operation"
    __table_args__ = (UniqueConstraint("schedule_id", "operation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("sched_schedule.id"), index=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("mes_operation.id"), index=True)
    machine_code: Mapped[str | None] = mapped_column(String(80))
    planned_start: Mapped[datetime]
    planned_end: Mapped[datetime]
    fixed: Mapped[bool] = mapped_column(Boolean, default=False)  # started already: kept at its actual start
