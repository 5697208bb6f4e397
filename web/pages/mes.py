"""MES screens: work orders, the dispatch board per work center, live machines, OEE, lot genealogy.

Thin: pages read through the MES and devices services (handlers/mes, handlers/devices); starting and
confirming an operation completes the work-order process's user task through the engine, like the inbox.
Live panels are server-sent events carrying HTML rendered from the same templates the page includes.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taktflow.engine import instances, tasks
from taktflow.engine.errors import Conflict, EngineError, InvalidVariables, NotFound
from taktflow.engine.store.models import UserTask
from taktflow.handlers.devices import oee as oee_service
from taktflow.handlers.devices import service as devices
from taktflow.handlers.devices.packml import State
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.mes.genealogy import service as genealogy
from taktflow.handlers.mes.operation import service as operations
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.routing.service import list_routings
from taktflow.handlers.mes.scheduling import service as scheduling
from taktflow.handlers.mes.work_center.models import WorkCenter
from taktflow.handlers.mes.work_center.service import work_center_by_code
from taktflow.handlers.mes.work_order import process as work_order_process
from taktflow.handlers.mes.work_order import service as work_orders
from taktflow.web.api.params import RowId
from taktflow.web.auth.access import RELEASE_REFUSED, may_release_work_orders, may_work_on
from taktflow.web.auth.service import OPERATE, WORK, Principal
from taktflow.web.pages.deps import csrf_protect, get_engine, is_htmx, navigate, render, require_page, see_other
from taktflow.web.pages.mes_query import (
    consumed_lots,
    count_work_orders,
    item_codes_with_work_orders,
    lots_by_code,
    machine_panels,
    may_see_work_center,
    open_tasks_of,
    operations_at_hand,
    recently_finished,
    visible_work_centers,
)

router = APIRouter(prefix="/mes", include_in_schema=False)
PER_PAGE = 50
WORK_ORDER_STATES = ("released", "waiting_material", "staged", "in_progress", "completed", "scrapped", "closed")
POLL_SECONDS = 1.0  # how often a live stream looks at the database
KEEPALIVE_SECONDS = 15.0  # a comment line now and then: proxies keep the stream, a gone browser is noticed
# A stream ends after this and the browser reconnects (EventSource does, sending the last event id): a server
# shutting down never waits long for open streams.
STREAM_SECONDS = 25.0
RUNNING = ("running", "confirmed")


# --- work orders -----------------------------------------------------------------------------------------


@router.get("")
def mes_home(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    """An operator goes straight to their board; everybody else to the list of boards."""
    with get_engine(request).db.read() as session:
        centers = visible_work_centers(session, principal)
    if len(centers) == 1 and not principal.may(OPERATE):
        return see_other(f"/mes/work-centers/{centers[0].code}")
    return see_other("/mes/work-centers")


@router.get("/work-orders")
def work_order_list(request: Request, state: str = "", item: str = "", page: int = 1,
                    principal: Principal = Depends(require_page(WORK))) -> Response:
    state = state if state in WORK_ORDER_STATES else ""
    page = max(page, 1)
    engine = get_engine(request)
    with engine.db.read() as session:
        total = count_work_orders(session, state=state or None, item_code=item or None)
        orders = work_orders.list_work_orders(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                                              state=state or None, item_code=item or None)
        at_hand = operations_at_hand(session, [wo.id for wo in orders])
        return render(request, "mes/work_orders.html", {
            "orders": orders, "at_hand": at_hand, "state": state, "item": item, "states": WORK_ORDER_STATES,
            "may_release": may_release_work_orders(principal),
            "items": item_codes_with_work_orders(session), "page": page, "total": total,
            "pages": max((total + PER_PAGE - 1) // PER_PAGE, 1), "today": engine.clock.now().date(),
            "base": "/mes/work-orders?" + urlencode({k: v for k, v in (("state", state), ("item", item)) if v}) + "&",
        })


def _new_work_order_page(request: Request, *, values: Any = None, problem: str | None = None,
                         status_code: int = 200) -> Response:
    with get_engine(request).db.read() as session:
        routings = list_routings(session)
    block = "form" if is_htmx(request) and request.method == "POST" else None
    return render(request, "mes/work_order_new.html", {"routings": routings, "values": values or {},
                                                       "problem": problem}, block=block, status_code=status_code)


def _may_release(principal: Principal) -> None:
    if not may_release_work_orders(principal):
        raise HTTPException(status.HTTP_403_FORBIDDEN, RELEASE_REFUSED)


@router.get("/work-orders/new")
def new_work_order(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    _may_release(principal)
    return _new_work_order_page(request)


@router.post("/work-orders/new", dependencies=[Depends(csrf_protect)])
async def release_work_order(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    """Release a work order from the page: the same one command as the API (order and process, or neither)."""
    _may_release(principal)
    form = await request.form()
    item, quantity = str(form.get("item") or "").strip(), str(form.get("quantity") or "").strip()
    due, priority = str(form.get("due_date") or "").strip(), str(form.get("priority") or "50").strip()
    problem = ("choose the item to make" if not item else "enter the quantity" if not quantity
               else None if priority.isdecimal() and 0 <= int(priority) <= 100 else "priority is 0 to 100")
    if problem is None:
        try:
            wo = work_order_process.release(get_engine(request), item_code=item, quantity=quantity,
                                            due_date=due or None, priority=int(priority), actor=principal.name)
        except EngineError as exc:
            if exc.status_code >= 500:
                raise
            problem = str(exc)
        else:
            return navigate(request, f"/mes/work-orders/{wo.number}")
    return _new_work_order_page(request, values=form, problem=problem, status_code=422)


@router.get("/work-orders/{number}")
def work_order_page(request: Request, number: str, _: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        wo = work_orders.get_work_order(session, number)
        ops = work_orders.operations_of(session, wo)
        open_task = open_tasks_of(session, {wo.instance_id} if wo.instance_id else set()).get(wo.instance_id or "")
        return render(request, "mes/work_order.html", {
            "wo": wo, "operations": ops, "requirements": wo.requirements, "consumed": consumed_lots(session, wo),
            "shortages": work_orders.shortages(session, wo) if wo.state in ("released", "waiting_material") else [],
            "procurement": work_orders.procurement_requests(session, wo), "open_task": open_task,
            "children": work_orders.children_of(session, wo),
            "downtimes": {op.id: operations.downtimes(session, operation_id=op.id) for op in ops},
            "alerts": {op.id: operations.alerts(session, operation_id=op.id) for op in ops},
            "today": engine.clock.now().date(),
        })


# --- dispatch boards -------------------------------------------------------------------------------------


@dataclass
class BoardRow:
    """One operation on the board with the task a person completes next and whether this person may."""

    op: Operation
    task: UserTask | None
    may_act: bool
    startable: bool
    refusal: str | None = None  # why the last confirmation was sent back (the process asks again)

    @property
    def action(self) -> str | None:
        if self.task is None or not self.may_act:
            return None
        if self.task.element_id == "start_operation" and self.op.state == "queued" and self.startable:
            return "start"
        if self.task.element_id == "confirm_quantities" and self.op.state == "running":
            return "confirm"
        if self.task.element_id == "inspect" and self.op.state == "confirmed":
            return "inspect"
        return None

    @property
    def waiting_for(self) -> str:
        if self.op.state == "planned":
            return "previous operation"
        if self.op.state == "running":
            return "machine"
        if self.op.state == "confirmed":
            return "inspection"
        if self.op.state == "queued":
            return "operator"
        return ""


def _work_center(session: Session, principal: Principal, code: str) -> WorkCenter:
    wc = work_center_by_code(session, code)
    if not may_see_work_center(principal, wc):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"the board of {wc.code} is for its operators ({wc.operator_group}) and planners")
    return wc


def _refusal(session: Session, op: Operation) -> str | None:
    if not op.work_order.instance_id:
        return None
    return (instances.get(session, op.work_order.instance_id).variables or {}).get("confirmationError")


def _board(session: Session, principal: Principal, wc: WorkCenter) -> dict[str, Any]:
    ops = operations.dispatch_list(session, wc.code, include_done=False)
    open_tasks = open_tasks_of(session, {op.work_order.instance_id for op in ops if op.work_order.instance_id})
    rows = []
    for op in ops:
        task = open_tasks.get(op.work_order.instance_id or "") if op.state in ("queued", *RUNNING) else None
        refusal = _refusal(session, op) if task is not None and task.element_id == "confirm_quantities" else None
        rows.append(BoardRow(op, task, task is not None and may_work_on(principal, task),
                             operations.startable(session, op), refusal))
    return {"wc": wc, "running": [r for r in rows if r.op.state in RUNNING],
            "queued": [r for r in rows if r.op.state not in RUNNING],
            "planned": scheduling.planned_by_operation(session, [op.id for op in ops]),
            "done": recently_finished(session, wc), "machines": [m.code for m in wc.machines]}


@router.get("/work-centers")
def board_list(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        centers = visible_work_centers(session, principal)
        counts = {}
        for wc in centers:
            ops = operations.dispatch_list(session, wc.code, include_done=False)
            counts[wc.code] = {s: sum(1 for op in ops if op.state in states)
                               for s, states in (("running", RUNNING), ("queued", ("queued",)),
                                                 ("planned", ("planned",)))}
        panels = machine_panels(session, [wc.code for wc in centers])
        return render(request, "mes/boards.html", {"centers": centers, "counts": counts, "panels": panels})


def _board_context(session: Session, principal: Principal, code: str) -> dict[str, Any]:
    wc = _work_center(session, principal, code)
    return {**_board(session, principal, wc), "panels": machine_panels(session, [wc.code])}


@router.get("/work-centers/{code}")
def board_page(request: Request, code: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        context = _board_context(session, principal, code)
        # The schedule's reschedule offer for this work center (read from the data, like everything here).
        offer = {"schedule": scheduling.latest_schedule(session), "reasons": scheduling.reschedule_reasons(
            session, engine.clock.now(), work_center=code)}
        down = operations.downtimes(session, machines=[p.device.id for p in context["panels"]], latest=10)
        return render(request, "mes/board.html", {**context, **offer, "downtimes": down,
                                                  "message": request.query_params.get("msg")})


async def _operation_action(request: Request, principal: Principal, operation_id: int, element: str,
                            fields: tuple[str, ...]) -> Response:
    """Complete the operation's open task (start: `start_operation`, confirm: `confirm_quantities`)."""
    engine = get_engine(request)
    form = await request.form()
    submitted = {f: str(form.get(f) or "").strip() for f in fields}
    with engine.db.read() as session:
        op = operations.get_operation(session, operation_id)
        code = _work_center(session, principal, op.work_center.code).code
        task = open_tasks_of(session, {op.work_order.instance_id} if op.work_order.instance_id else set()).get(
            op.work_order.instance_id or "")
        number = op.number
    errors: dict[str, str] = {}
    status_code = 200
    if task is None or task.element_id != element:
        message, status_code = f"{number} has no open “{element.replace('_', ' ')}” step any more", 409
    elif not may_work_on(principal, task):
        message, status_code = f"{number}: this step is for {', '.join(task.candidate_groups)}", 403
    else:
        try:
            tasks.complete(engine, task.id, {k: v for k, v in submitted.items() if v != ""}, actor=principal.name,
                           user=principal.name)
            message = f"{'Started' if element == 'start_operation' else 'Confirmed'}: {number}"
            with engine.db.read() as session:
                op = operations.get_operation(session, operation_id)
                refusal = _refusal(session, op) if element == "confirm_quantities" and op.state == "running" else None
            if refusal:  # the booking refused the quantities: the process asks the operator again
                errors = {"goodQuantity": refusal}
                message, status_code = f"{number} was not confirmed: {refusal}", 422
        except InvalidVariables as exc:
            errors = {e.field: e.message for e in exc.errors}
            message, status_code = f"{number} was not confirmed: {exc}", 422
        except (Conflict, NotFound) as exc:
            message, status_code = str(exc), 409
    if status_code == 200 and not is_htmx(request):
        return see_other(f"/mes/work-centers/{code}?" + urlencode({"msg": message}))
    with engine.db.read() as session:
        context = {**_board_context(session, principal, code), "message": message, "failed": status_code != 200,
                   "form_errors": {operation_id: errors}, "submitted": {operation_id: submitted}}
        if is_htmx(request):
            # htmx swaps 2xx and 422 only (base.html): a refusal is shown in the swapped board's message instead
            return render(request, "mes/_board.html", {**context, "oob_message": True},
                          status_code=422 if status_code == 422 else 200)
        return render(request, "mes/board.html", context, status_code=status_code)


@router.post("/operations/{operation_id}/start", dependencies=[Depends(csrf_protect)])
async def start_operation(request: Request, operation_id: RowId,
                          principal: Principal = Depends(require_page(WORK))) -> Response:
    return await _operation_action(request, principal, operation_id, "start_operation", ("machine",))


@router.post("/operations/{operation_id}/confirm", dependencies=[Depends(csrf_protect)])
async def confirm_operation(request: Request, operation_id: RowId,
                            principal: Principal = Depends(require_page(WORK))) -> Response:
    return await _operation_action(request, principal, operation_id, "confirm_quantities",
                                   ("goodQuantity", "scrapQuantity"))


# --- live machines (server-sent events) ------------------------------------------------------------------


def sse_event(name: str, html: str, event_id: str | None = None) -> str:
    """One server-sent event; every line of the HTML is a `data:` line (the browser joins them again)."""
    lines = [f"event: {name}"] + ([f"id: {event_id}"] if event_id else [])
    lines += [f"data: {line}" for line in html.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def _digest(html: str) -> str:
    return hashlib.blake2s(html.encode(), digest_size=6).hexdigest()


def _seen(last_event_id: str | None) -> dict[str, str]:
    """What the browser had when its stream ended: the event id lists each part's digest."""
    pairs = (item.partition("=") for item in (last_event_id or "").split(",") if "=" in item)
    return {name: digest for name, _, digest in pairs}


async def live_events(
    read: Callable[[], dict[str, str]], disconnected: Callable[[], Awaitable[bool]], *,
    last_event_id: str | None = None, poll: float = POLL_SECONDS, lifetime: float = STREAM_SECONDS,
) -> AsyncIterator[str]:
    """Poll `read` (event name → HTML) and send each part when it differs from what the browser shows."""
    sent = _seen(last_event_id)
    yield "retry: 2000\n\n"
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < lifetime and not await disconnected():
        parts = await run_in_threadpool(read)
        for name, html in parts.items():
            digest = _digest(html)
            if sent.get(name) != digest:
                sent[name] = digest
                quiet_since = time.monotonic()
                yield sse_event(name, html, ",".join(f"{k}={v}" for k, v in sent.items() if k in parts))
        if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": still here\n\n"
        await asyncio.sleep(poll)


def _machine_parts(request: Request, session: Session, work_centers: list[str]) -> dict[str, str]:
    return {f"machine-{p.device.id}": render(request, "mes/_machine.html", {"panel": p}).body.decode()
            for p in machine_panels(session, work_centers)}


def _stream(request: Request, read: Callable[[], dict[str, str]]) -> StreamingResponse:
    events = live_events(read, request.is_disconnected, last_event_id=request.headers.get("Last-Event-ID"),
                         poll=POLL_SECONDS, lifetime=STREAM_SECONDS)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/work-centers/{code}/live")
def board_live(request: Request, code: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    """The board and its machines, pushed when they change."""
    engine = get_engine(request)
    with engine.db.read() as session:
        code = _work_center(session, principal, code).code

    def read() -> dict[str, str]:
        with engine.db.read() as session:
            context = _board_context(session, principal, code)
            return {"board": render(request, "mes/_board.html", context).body.decode(),
                    **_machine_parts(request, session, [code])}

    return _stream(request, read)


@router.get("/machines")
def machines_page(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        centers = [wc.code for wc in visible_work_centers(session, principal)]
        return render(request, "mes/machines.html", {"panels": machine_panels(session, centers)})


@router.get("/machines/live")
def machines_live(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)

    def read() -> dict[str, str]:
        with engine.db.read() as session:
            return _machine_parts(request, session, [wc.code for wc in visible_work_centers(session, principal)])

    return _stream(request, read)


@router.get("/machines/{device_id}")
def machine_page(request: Request, device_id: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    """One machine: its live panel, today's state log and what was refused from it."""
    engine = get_engine(request)
    now = engine.clock.now()
    with engine.db.read() as session:
        device = devices.get_device(session, device_id)
        _work_center(session, principal, device.work_center)
        [panel] = [p for p in machine_panels(session, [device.work_center]) if p.device.id == device.id]
        # The window reaches just past now: a state entered this very second is the current one, and shown.
        events = oee_service.intervals(session, device.id, now - timedelta(hours=24), now + timedelta(seconds=1))
        return render(request, "mes/machine.html", {
            "panel": panel, "events": list(reversed(events)), "anomalies": devices.anomalies(session, device.id, 20),
            "states": {int(s): s.label for s in State},
            "downtimes": list(reversed(operations.downtimes(session, machine=device.id)))[:20]})


# --- OEE -------------------------------------------------------------------------------------------------

LOSS_LABELS = {  # point85's loss categories, as the plant says them
    "NO_LOSS": "Value-adding (good parts)", "REJECT_REWORK": "Rejects", "REDUCED_SPEED": "Reduced speed",
    "MINOR_STOPPAGES": "Minor stoppages", "SETUP": "Setup and start-up", "UNPLANNED_DOWNTIME": "Unplanned downtime",
    "UNSCHEDULED": "Not scheduled (idle)", "NOT_SCHEDULED": "No data",
}


def _day(value: str, today: date) -> date:
    try:
        return date.fromisoformat(value) if value else today
    except ValueError:
        return today


@router.get("/oee")
def oee_page(request: Request, day: str = "", wc: str = "", principal: Principal = Depends(require_page(WORK))
             ) -> Response:
    """OEE per work center for one plant day, and per shift, with the time lost by category."""
    engine = get_engine(request)
    now = engine.clock.now()
    shown = _day(day, now.date())
    start = datetime.combine(shown, day_time(0), UTC)
    end = start + timedelta(days=1)
    with engine.db.read() as session:
        centers = [c for c in visible_work_centers(session, principal) if not wc or c.code == wc]
        reports = []
        for center in centers:
            machines = devices.devices_of_work_center(session, center.code)
            if machines:
                reports.append((center, oee_service.oee(session, machines, start, end, now)))
            else:
                reports.append((center, None))
        return render(request, "mes/oee.html", {
            "reports": reports, "day": shown, "wc": wc, "losses": LOSS_LABELS,
            "all_centers": visible_work_centers(session, principal),
            "previous": shown - timedelta(days=1), "next": shown + timedelta(days=1) if shown < now.date() else None})


# --- genealogy -------------------------------------------------------------------------------------------


@router.get("/genealogy")
def genealogy_search(request: Request, lot: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    """Find a lot by its number; one match opens its genealogy."""
    with get_engine(request).db.read() as session:
        hits = lots_by_code(session, lot)
    if len(hits) == 1 and hits[0].code.lower() == lot.strip().lower():
        return see_other(f"/mes/lots/{hits[0].id}")
    return render(request, "mes/genealogy_search.html", {"lot": lot, "hits": hits})


@router.get("/lots/{lot_id}")
def lot_page(request: Request, lot_id: RowId, _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        tree = genealogy.genealogy(session, lot_id)
        lot = stock.get_lot(session, lot_id)
        return render(request, "mes/lot.html", {"tree": tree, "created_at": lot.created_at})
