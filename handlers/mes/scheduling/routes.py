"""Scheduling REST: solve a finite-capacity schedule, read the latest one, and the work centers' calendars."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.mes.common import as_number
from taktflow.handlers.mes.scheduling import service
from taktflow.handlers.mes.scheduling.models import Calendar
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(tags=["mes: scheduling"])


class ScheduleIn(BaseModel):
    start: datetime | None = None  # default: now
    timeLimitSeconds: float = 10  # noqa: N815 - API names
    objective: str = "makespan"  # makespan | weighted_tardiness


class ShiftIn(BaseModel):
    weekday: int = Field(ge=0, le=6)  # 0 = Monday
    start: str  # HH:MM
    end: str


class HolidayIn(BaseModel):
    date: date
    name: str = ""


class CalendarIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(default="", max_length=200)
    shifts: list[ShiftIn] = Field(min_length=1)
    holidays: list[HolidayIn] = Field(default_factory=list)


class CalendarAssignmentIn(BaseModel):
    calendar: str | None  # None: the work center works around the clock


def calendar_out(calendar: Calendar) -> dict[str, Any]:
    return {"code": calendar.code, "name": calendar.name,
            "shifts": [{"weekday": s.weekday, "start": f"{s.start_minute // 60:02d}:{s.start_minute % 60:02d}",
                        "end": f"{s.end_minute % 1440 // 60:02d}:{s.end_minute % 60:02d}"} for s in calendar.shifts],
            "holidays": [{"date": h.day, "name": h.name} for h in calendar.holidays]}


@router.post("/schedules", status_code=201,
             responses={422: {"description": "bad objective or time limit, or no capacity for an operation"}})
def create_schedule(body: ScheduleIn, engine: Engine = Depends(get_engine),
                    principal: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    """Schedule every active work order's open operations on its work centers' machines (OR-Tools CP-SAT)."""
    schedule_id = service.plan(engine, start=body.start, objective=body.objective,
                               time_limit=body.timeLimitSeconds, actor=principal.name)
    with engine.db.read() as session:
        return service.schedule_out(session, service.get_schedule(session, schedule_id))


@router.get("/schedules/latest", responses={404: {"description": "no schedule yet"}})
def latest_schedule(engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        out = service.schedule_out(session, service.get_schedule(session))
        out["rescheduleReasons"] = service.reschedule_reasons(session, engine.clock.now())
        return out


@router.get("/schedules/{schedule_id}", responses={404: {"description": "unknown schedule"}})
def read_schedule(schedule_id: RowId, engine: Engine = Depends(get_engine),
                  _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return service.schedule_out(session, service.get_schedule(session, schedule_id))


@router.get("/routing-times")
def routing_times(engine: Engine = Depends(get_engine),
                  _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    """The planned run time per unit of every routing step the schedule uses: learned from confirmed operations
    (exponential moving average), else the ideal cycle time."""
    with engine.db.read() as session:
        return [{"itemCode": step.routing.item_code, "seq": step.seq, "workCenter": step.work_center.code,
                 "idealCycleSeconds": as_number(step.ideal_cycle_seconds),
                 "plannedSecondsPerUnit": as_number(learned.seconds_per_unit if learned else step.ideal_cycle_seconds),
                 "samples": learned.samples if learned else 0, "updatedAt": learned.updated_at if learned else None}
                for step, learned in service.routing_times(session)]


@router.get("/calendars")
def list_calendars(engine: Engine = Depends(get_engine),
                   _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [calendar_out(c) for c in service.list_calendars(session)]


@router.post("/calendars", status_code=201, responses={422: {"description": "invalid or duplicate calendar"}})
def create_calendar(body: CalendarIn, engine: Engine = Depends(get_engine),
                    _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    return engine.command(lambda session: calendar_out(service.create_calendar(
        session, code=body.code, name=body.name, shifts=[s.model_dump() for s in body.shifts],
        holidays=[h.model_dump() for h in body.holidays])))


@router.put("/work-centers/{code}/calendar", responses={404: {"description": "unknown work center or calendar"}})
def assign_calendar(code: str, body: CalendarAssignmentIn, engine: Engine = Depends(get_engine),
                    _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        wc = service.assign_calendar(session, code, body.calendar)
        return {"workCenter": wc.code, "calendar": body.calendar}

    return engine.command(work)
