"""Scheduling screens: the latest schedule as a Gantt per work center (server-rendered SVG), plan vs actual per
operation, and the reschedule a planner is offered when a machine went down or an operation runs late.

Thin: the schedule is made and read by handlers/mes/scheduling; this module only lays the bars out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taktflow.engine.errors import EngineError
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.scheduling import service as scheduling
from taktflow.handlers.mes.scheduling.models import PlannedOperation, Schedule
from taktflow.handlers.mes.scheduling.solver import OBJECTIVES
from taktflow.handlers.mes.work_center.service import list_work_centers
from taktflow.web.auth.service import OPERATE, WORK, Principal
from taktflow.web.pages.deps import csrf_protect, get_engine, is_htmx, render, require_page, see_other

router = APIRouter(prefix="/mes", include_in_schema=False)
WIDTH, LABEL, ROW, AXIS = 1000, 120, 28, 24  # the Gantt's geometry (SVG user units)
TICKS = (15, 30, 60, 120, 240, 480, 720, 1440, 2880, 10080)  # minutes between axis labels


@dataclass
class Bar:
    x: float
    width: float
    y: int
    planned: PlannedOperation
    op: Operation

    @property
    def tone(self) -> str:
        return {"running": "running", "confirmed": "done", "done": "done"}.get(self.op.state, "planned")


@dataclass
class Gantt:
    """One work center's machines as rows and its planned operations as bars on a shared time axis."""

    code: str
    name: str
    machines: list[str]
    bars: list[Bar]
    height: int


def _tick(span: int) -> int:
    return next((t for t in TICKS if span / t <= 12), TICKS[-1])


def gantts(session: Session, schedule: Schedule, now: datetime) -> tuple[list[Gantt], list[tuple[float, str]],
                                                                          float | None]:
    rows = scheduling.operations_of(session, schedule)
    begin = min([schedule.start, *(p.planned_start for p, _ in rows)])
    end = max([begin + timedelta(hours=1), *(p.planned_end for p, _ in rows)])
    span = (end - begin).total_seconds() / 60
    scale = (WIDTH - LABEL) / span

    def x(at: datetime) -> float:
        return round(LABEL + (at - begin).total_seconds() / 60 * scale, 2)

    charts = []
    for wc in list_work_centers(session):
        mine = [(p, op) for p, op in rows if op.work_center_id == wc.id]
        if not mine:
            continue
        machines = [m.code for m in wc.machines] or [wc.code]
        machines += sorted({p.machine_code for p, _ in mine if p.machine_code not in machines})
        bars = [Bar(x(p.planned_start), max(round((p.planned_end - p.planned_start).total_seconds() / 60 * scale, 2),
                                             1.5), AXIS + machines.index(p.machine_code) * ROW, p, op)
                for p, op in mine]
        charts.append(Gantt(wc.code, wc.name, machines, bars, AXIS + len(machines) * ROW))
    step = _tick(int(span))
    first = begin.replace(minute=0, second=0, microsecond=0)
    ticks = []
    at = first
    while at <= end:
        if at >= begin and x(at) < WIDTH - 60:  # the last label would be cut off at the right edge
            ticks.append((x(at), at.strftime("%a %H:%M" if step < 1440 else "%a %d %b")))
        at += timedelta(minutes=step)
    now_x = x(now) if begin <= now <= end else None
    return charts, ticks, now_x


def _context(session: Session, now: datetime, wc: str | None = None) -> dict[str, Any]:
    schedule = scheduling.latest_schedule(session)
    context: dict[str, Any] = {"schedule": schedule, "objectives": OBJECTIVES, "now": now,
                               "reasons": scheduling.reschedule_reasons(session, now, work_center=wc),
                               "width": WIDTH, "label": LABEL, "row": ROW, "axis": AXIS}
    if schedule is not None:
        context["charts"], context["ticks"], context["now_x"] = gantts(session, schedule, now)
    return context


@router.get("/schedule")
def schedule_page(request: Request, _: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        return render(request, "planning/schedule.html", {**_context(session, engine.clock.now()),
                                                          "message": request.query_params.get("msg")})


@router.post("/schedule", dependencies=[Depends(csrf_protect)])
async def make_schedule(request: Request, principal: Principal = Depends(require_page(OPERATE))) -> Response:
    """Solve now (from the page's form or a reschedule banner); the page shows the new schedule."""
    engine = get_engine(request)
    form = await request.form()
    objective = str(form.get("objective") or "makespan")
    failed, status_code = False, 200
    try:
        limit = float(str(form.get("timeLimitSeconds") or 10))
        schedule_id = await run_in_threadpool(scheduling.plan, engine, objective=objective, time_limit=limit,
                                              actor=principal.name)
        message = f"Schedule {schedule_id} made"
    except (ValueError, EngineError) as exc:
        message, failed, status_code = f"No schedule was made: {exc}", True, 422
    if not is_htmx(request) and not failed:
        return see_other("/mes/schedule?" + urlencode({"msg": message}))
    with engine.db.read() as session:
        context = {**_context(session, engine.clock.now()), "message": message, "failed": failed}
        return render(request, "planning/schedule.html", context, block="schedule" if is_htmx(request) else None,
                      status_code=status_code)


@router.get("/schedule/adherence")
def adherence_page(request: Request, _: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        schedule = scheduling.latest_schedule(session)
        rows = scheduling.adherence(session, schedule) if schedule is not None else []
        ended = [r for r in rows if r.end_lateness is not None]
        return render(request, "planning/schedule_adherence.html", {
            "schedule": schedule, "rows": rows, "ended": len(ended),
            "on_time": sum(1 for r in ended if r.end_lateness <= 0)})
