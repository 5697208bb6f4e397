"""Finite-capacity scheduling of released work orders: calendars, the solver run, the latest schedule, plan vs
actual, reschedule offers, and the run times learned from the shop floor.

Times are the plant's (UTC, as the engine clock). An operation's planned duration is its routing step's setup
plus its quantity × the planned run time per unit (learned, else the ideal cycle time), rounded up to minutes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.engine.core import Engine
from taktflow.engine.errors import NotFound
from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.packml import State
from taktflow.handlers.mes.common import MesError, qty
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.routing.models import RoutingOperation
from taktflow.handlers.mes.scheduling import solver
from taktflow.handlers.mes.scheduling.models import (
    Calendar,
    Holiday,
    PlannedOperation,
    RoutingTime,
    Schedule,
    Shift,
    WorkCenterCalendar,
)
from taktflow.handlers.mes.work_center.models import WorkCenter
from taktflow.handlers.mes.work_center.service import work_center_by_code
from taktflow.handlers.mes.work_order.models import WorkOrder

ACTIVE_ORDERS = ("released", "waiting_material", "staged", "in_progress")
TO_PLAN = ("planned", "queued", "running")  # confirmed / done operations hold no machine any more
HORIZON_DAYS = 366  # calendars are unrolled this far; an order that fits nowhere in it is refused
TIME_LIMIT = (1, 300)
DOWN_STATES = (State.STOPPED, State.ABORTED, State.HELD)
# Exponential moving average of the actual run time per unit: each confirmation moves the planned time 30 % of
# the way to what the shop floor did, so one odd run does not upset the plan and a lasting change shows in a
# few runs. The ideal cycle time is the starting value.
LEARNING_RATE = Decimal("0.3")


# --- calendars -------------------------------------------------------------------------------------------------


def _minutes(value: str | int) -> int:
    if isinstance(value, int):
        return value
    try:
        hours, minutes = value.split(":")
        return int(hours) * 60 + int(minutes)
    except ValueError:
        raise MesError(f"shift time {value!r} is not HH:MM") from None


def create_calendar(session: Session, *, code: str, name: str, shifts: Iterable[dict[str, Any]],
                    holidays: Iterable[dict[str, Any]] = ()) -> Calendar:
    """`shifts`: [{"weekday": 0..6 (Monday 0), "start": "06:00", "end": "14:00"}] (an end before the start runs
    past midnight); `holidays`: [{"date": "2026-01-06", "name": ...}]."""
    code = (code or "").strip()
    if not code:
        raise MesError("a calendar needs a code")
    if session.scalar(select(Calendar.id).where(Calendar.code == code)) is not None:
        raise MesError(f"a calendar with code {code} exists already")
    calendar = Calendar(code=code, name=(name or code).strip())
    for shift in shifts:
        weekday, start, end = int(shift["weekday"]), _minutes(shift["start"]), _minutes(shift["end"])
        if not 0 <= weekday <= 6 or not 0 <= start < 1440 or not 0 <= end <= 1440 or start == end:
            raise MesError(f"calendar {code}: shift {shift} needs a weekday 0-6 and start ≠ end within the day")
        end = end if end > start else end + 1440  # a night shift ends the next morning
        calendar.shifts.append(Shift(weekday=weekday, start_minute=start, end_minute=end))
    if not calendar.shifts:
        raise MesError(f"calendar {code} needs at least one shift")
    days = set()
    for holiday in holidays:
        day = holiday["date"] if isinstance(holiday["date"], date) else date.fromisoformat(str(holiday["date"]))
        if day in days:
            raise MesError(f"calendar {code} names holiday {day} twice")
        days.add(day)
        calendar.holidays.append(Holiday(day=day, name=holiday.get("name", "")))
    session.add(calendar)
    session.flush()
    return calendar


def calendar_by_code(session: Session, code: str) -> Calendar:
    calendar = session.scalar(select(Calendar).where(Calendar.code == code))
    if calendar is None:
        raise NotFound(f"calendar {code} does not exist")
    return calendar


def list_calendars(session: Session) -> list[Calendar]:
    return list(session.scalars(select(Calendar).order_by(Calendar.code)))


def assign_calendar(session: Session, work_center: str, calendar: str | None) -> WorkCenter:
    """The calendar a work center works by (None: around the clock)."""
    wc = work_center_by_code(session, work_center)
    row = session.get(WorkCenterCalendar, wc.id)
    if calendar is None:
        if row is not None:
            session.delete(row)
    else:
        cal = calendar_by_code(session, calendar)
        if row is None:
            session.add(WorkCenterCalendar(work_center_id=wc.id, calendar_id=cal.id))
        else:
            row.calendar_id = cal.id
    session.flush()
    return wc


def calendar_of(session: Session, wc: WorkCenter) -> Calendar | None:
    row = session.get(WorkCenterCalendar, wc.id)
    return row.calendar if row is not None else None


def working_windows(calendar: Calendar | None, start: datetime, days: int = HORIZON_DAYS) -> list[tuple[int, int]]:
    """Working stretches in minutes from `start`, adjacent shifts merged, holidays left out."""
    if calendar is None:
        return [(-days * 1440, days * 1440)]
    holidays = {h.day for h in calendar.holidays}
    midnight = datetime.combine(start.date(), time(), tzinfo=start.tzinfo or UTC)
    offset = int((midnight - start).total_seconds() // 60)
    raw: list[tuple[int, int]] = []
    for n in range(-1, days):
        day = start.date() + timedelta(days=n)
        if day in holidays:
            continue
        for shift in calendar.shifts:
            if shift.weekday == day.weekday():
                base = offset + n * 1440
                raw.append((base + shift.start_minute, base + shift.end_minute))
    merged: list[tuple[int, int]] = []
    for w_start, w_end in sorted(raw):
        if merged and w_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], w_end))
        else:
            merged.append((w_start, w_end))
    return merged


# --- learned run times -----------------------------------------------------------------------------------------


def planned_seconds_per_unit(session: Session, step: RoutingOperation) -> Decimal:
    learned = session.get(RoutingTime, step.id)
    return learned.seconds_per_unit if learned is not None else step.ideal_cycle_seconds


def learn_run_time(session: Session, step: RoutingOperation, *, run_seconds: Decimal, units: Decimal,
                   first_round: bool, now: datetime) -> RoutingTime | None:
    """An operation's quantities were confirmed: its actual run time per unit (setup taken off on the first
    round) moves the routing step's planned time (exponential moving average)."""
    if units <= 0 or run_seconds <= 0:
        return None
    actual = max(run_seconds - (step.setup_minutes * 60 if first_round else 0), Decimal(0)) / units
    row = session.get(RoutingTime, step.id)
    if row is None:
        row = RoutingTime(routing_operation_id=step.id, seconds_per_unit=step.ideal_cycle_seconds, samples=0,
                          updated_at=now)
        session.add(row)
    row.seconds_per_unit = qty(row.seconds_per_unit + LEARNING_RATE * (actual - row.seconds_per_unit))
    row.samples += 1
    row.updated_at = now
    session.flush()
    return row


def routing_times(session: Session) -> list[tuple[RoutingOperation, RoutingTime | None]]:
    """Every routing step with what was learned of it (None: planned at its ideal cycle time so far)."""
    learned = {r.routing_operation_id: r for r in session.scalars(select(RoutingTime))}
    steps = session.scalars(select(RoutingOperation).order_by(RoutingOperation.routing_id, RoutingOperation.seq))
    return [(step, learned.get(step.id)) for step in steps]


def planned_minutes(session: Session, op: Operation, step: RoutingOperation) -> int:
    seconds = step.setup_minutes * 60 + op.input_qty * planned_seconds_per_unit(session, step)
    return max(math.ceil(seconds / 60), 1)


# --- the problem from the data -------------------------------------------------------------------------------


@dataclass
class Inputs:
    problem: solver.Problem
    operations: dict[int, Operation]


def _minutes_from(start: datetime, at: datetime) -> int:
    return math.floor((at - start).total_seconds() / 60)


def down_machines(session: Session) -> dict[str, Device]:
    """Machines whose PackML state is Stopped, Aborted or Held, by code."""
    return {d.id: d for d in session.scalars(select(Device).where(Device.state.in_([int(s) for s in DOWN_STATES])))}


def gather(session: Session, start: datetime) -> Inputs:
    """The operations still to run of every active work order, as the solver's problem."""
    open_ops = list(session.scalars(select(Operation).join(WorkOrder, WorkOrder.id == Operation.work_order_id).where(
        WorkOrder.state.in_(ACTIVE_ORDERS), Operation.state.in_(TO_PLAN)).order_by(WorkOrder.id, Operation.seq)))
    by_order: dict[int, list[Operation]] = {}
    for op in open_ops:
        by_order.setdefault(op.work_order_id, []).append(op)
    steps = {r.id: r for r in session.scalars(select(RoutingOperation).where(
        RoutingOperation.id.in_({op.routing_operation_id for op in open_ops})))} if open_ops else {}
    down = down_machines(session)
    windows: dict[str, list[tuple[int, int]]] = {}
    machines_of: dict[int, list[str]] = {}
    jobs: list[solver.Job] = []
    operations: dict[int, Operation] = {}
    for ops in by_order.values():
        wo = ops[0].work_order
        tasks: list[solver.Task] = []
        for op in ops:
            wc = op.work_center
            if wc.id not in machines_of:
                codes = [m.code for m in wc.machines] or [wc.code]  # no machines: the work center is one unit
                stretch = working_windows(calendar_of(session, wc), start)
                if not stretch:
                    raise MesError(f"work center {wc.code} has no calendar capacity within {HORIZON_DAYS} days of "
                                   f"{start:%Y-%m-%d}: its calendar has no working time there")
                for code in codes:
                    windows[code] = stretch
                machines_of[wc.id] = codes
            codes = machines_of[wc.id]
            step = steps[op.routing_operation_id]
            task = solver.Task(key=op.id, label=op.number, work_center=wc.code,
                               duration=planned_minutes(session, op, step),
                               machines=[c for c in codes if c not in down] or codes)
            if op.state == "running" and op.started_at is not None:
                # Started operations stay where they are: at their actual start, on their machine.
                task.fixed_start = _minutes_from(start, op.started_at)
                task.fixed_machine = op.machine_code if op.machine_code in codes else codes[0]
                task.fixed_end = max(task.fixed_start + task.duration, 1)
            tasks.append(task)
            operations[op.id] = op
        due = None
        if wo.due_date is not None:
            due = _minutes_from(start, datetime.combine(wo.due_date + timedelta(days=1), time(), tzinfo=UTC))
        jobs.append(solver.Job(key=wo.id, tasks=tasks, due=due, weight=max(wo.priority, 1)))
    return Inputs(solver.Problem(jobs, windows), operations)


# --- running and reading schedules ---------------------------------------------------------------------------


START_WITHIN = timedelta(days=36525)


def check_request(objective: str, time_limit: float) -> None:
    if objective not in solver.OBJECTIVES:
        raise MesError(f"unknown objective {objective!r}: one of {', '.join(solver.OBJECTIVES)}")
    if not TIME_LIMIT[0] <= time_limit <= TIME_LIMIT[1]:
        raise MesError(f"timeLimitSeconds must be between {TIME_LIMIT[0]} and {TIME_LIMIT[1]}, not {time_limit}")


def plan(engine: Engine, *, start: datetime | None = None, objective: str = "makespan", time_limit: float = 10,
         actor: str | None = None) -> int:
    """Solve with the data as it is now and store the schedule; returns its id. The solver runs outside any
    transaction (it may take the whole time limit); the schedule is stored in one command."""
    check_request(objective, time_limit)
    start = start or engine.clock.now()
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if abs(start - engine.clock.now()) > START_WITHIN:  # 9999-12-31 plus the plan's minutes is past datetime.max
        raise MesError(f"start {start.date()} is out of range: a schedule starts within 100 years of today")
    with engine.db.read() as session:
        inputs = gather(session, start)
    try:
        solution = solver.solve(inputs.problem, objective=objective, time_limit=time_limit)
    except solver.Infeasible as exc:
        raise MesError(str(exc)) from None

    def store(session: Session) -> int:
        schedule = Schedule(start=start, objective=objective, time_limit_seconds=time_limit, status=solution.status,
                            makespan_minutes=solution.makespan, weighted_tardiness=solution.weighted_tardiness,
                            solve_seconds=round(solution.seconds, 3), created_at=engine.clock.now(), created_by=actor)
        fixed = {t.key for job in inputs.problem.jobs for t in job.tasks if t.fixed_start is not None}
        for key, placed in solution.placements.items():
            schedule.operations.append(PlannedOperation(
                operation_id=key, machine_code=placed.machine, fixed=key in fixed,
                planned_start=start + timedelta(minutes=placed.start),
                planned_end=start + timedelta(minutes=placed.end)))
        session.add(schedule)
        session.flush()
        return schedule.id

    return engine.command(store)


def latest_schedule_id(session: Session) -> int | None:
    return session.scalar(select(func.max(Schedule.id)))


def get_schedule(session: Session, schedule_id: int | None = None) -> Schedule:
    schedule_id = schedule_id if schedule_id is not None else latest_schedule_id(session)
    schedule = session.get(Schedule, schedule_id) if schedule_id is not None else None
    if schedule is None:
        raise NotFound("no schedule has been made yet" if schedule_id is None
                       else f"schedule {schedule_id} does not exist")
    return schedule


def latest_schedule(session: Session) -> Schedule | None:
    schedule_id = latest_schedule_id(session)
    return session.get(Schedule, schedule_id) if schedule_id is not None else None


def planned_by_operation(session: Session, operation_ids: Iterable[int]) -> dict[int, PlannedOperation]:
    """Where the latest schedule plans these operations (those it plans)."""
    latest, ids = latest_schedule_id(session), list(operation_ids)
    if latest is None or not ids:
        return {}
    return {p.operation_id: p for p in session.scalars(select(PlannedOperation).where(
        PlannedOperation.schedule_id == latest, PlannedOperation.operation_id.in_(ids)))}


def operations_of(session: Session, schedule: Schedule) -> list[tuple[PlannedOperation, Operation]]:
    ops = {op.id: op for op in session.scalars(select(Operation).where(
        Operation.id.in_([p.operation_id for p in schedule.operations])))}
    return [(p, ops[p.operation_id]) for p in schedule.operations]


@dataclass
class Adherence:
    """Plan vs actual of one operation."""

    planned: PlannedOperation
    op: Operation

    @property
    def start_lateness(self) -> int | None:
        if self.op.started_at is None:
            return None
        return round((self.op.started_at - self.planned.planned_start).total_seconds() / 60)

    @property
    def end_lateness(self) -> int | None:
        if self.op.ended_at is None:
            return None
        return round((self.op.ended_at - self.planned.planned_end).total_seconds() / 60)

    @property
    def adherence(self) -> float | None:
        """Planned ÷ actual duration in % (100: as planned; below: took longer), once it ended."""
        if self.op.started_at is None or self.op.ended_at is None:
            return None
        actual = (self.op.ended_at - self.op.started_at).total_seconds()
        planned = (self.planned.planned_end - self.planned.planned_start).total_seconds()
        return round(100 * planned / actual, 1) if actual > 0 else 100.0


def adherence(session: Session, schedule: Schedule) -> list[Adherence]:
    return [Adherence(p, op) for p, op in operations_of(session, schedule)]


def reschedule_reasons(session: Session, now: datetime, *, work_center: str | None = None) -> list[str]:
    """Why the latest schedule no longer holds (read from the data, nothing runs in the background): a machine it
    plans on went down, an operation runs past its planned end, or active operations the schedule does not know."""
    schedule = latest_schedule(session)
    if schedule is None:
        return []
    reasons: list[str] = []
    rows = [(p, op) for p, op in operations_of(session, schedule)
            if work_center is None or op.work_center.code == work_center]
    down = down_machines(session)
    for machine, device in sorted(down.items()):
        if device.state_since is not None and device.state_since < schedule.created_at:
            continue  # down already when the schedule was made: it planned around it
        waiting = [op for p, op in rows if p.machine_code == machine and op.state in ("planned", "queued")]
        if waiting:
            reasons.append(f"machine {machine} is {State(device.state).name.title()}: {len(waiting)} planned operation"
                           f"{'s' if len(waiting) != 1 else ''} wait for it")
    for p, op in rows:
        if op.state in TO_PLAN and p.planned_end < now:
            reasons.append(f"operation {op.number} runs past its planned end {p.planned_end:%Y-%m-%d %H:%M}")
    planned = select(PlannedOperation.operation_id).where(PlannedOperation.schedule_id == schedule.id)
    stmt = select(func.count()).select_from(Operation).join(WorkOrder, WorkOrder.id == Operation.work_order_id).where(
        WorkOrder.state.in_(ACTIVE_ORDERS), Operation.state.in_(TO_PLAN), Operation.id.not_in(planned))
    if work_center is not None:
        stmt = stmt.where(Operation.work_center_id == work_center_by_code(session, work_center).id)
    unplanned = session.scalar(stmt) or 0
    if unplanned:
        reasons.append(f"{unplanned} operation{'s' if unplanned != 1 else ''} to run "
                       f"{'are' if unplanned != 1 else 'is'} not in the schedule")
    return reasons


def schedule_out(session: Session, schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id, "start": schedule.start, "objective": schedule.objective, "status": schedule.status,
        "timeLimitSeconds": schedule.time_limit_seconds, "solveSeconds": schedule.solve_seconds,
        "makespanMinutes": schedule.makespan_minutes, "weightedTardiness": schedule.weighted_tardiness,
        "createdAt": schedule.created_at,
        "operations": [{"operationId": op.id, "workOrder": op.work_order.number, "seq": op.seq,
                        "workCenter": op.work_center.code, "machine": p.machine_code, "plannedStart": p.planned_start,
                        "plannedEnd": p.planned_end, "fixed": p.fixed} for p, op in operations_of(session, schedule)],
    }
