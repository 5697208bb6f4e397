"""Service-task handlers of the operation loop: dispatch, start, machine states, confirmation; and the cycle
listener that keeps a running operation's machine count (registered with the devices slice on import)."""

from __future__ import annotations

from typing import Any

from taktflow.engine.errors import Conflict
from taktflow.engine.handlers import BpmnError, HandlerContext, service_task_handler
from taktflow.handlers.devices.service import on_cycle, on_state_change
from taktflow.handlers.mes.common import MesError, variable
from taktflow.handlers.mes.operation import service as operations
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.work_order import service as work_orders


def _operation(ctx: HandlerContext) -> Operation:
    return operations.get_operation(ctx.session, int(variable(ctx.variables, "operationId")))


@service_task_handler("mes.dispatch_operation")
def dispatch_operation(ctx: HandlerContext) -> dict[str, Any]:
    wo = work_orders.get_work_order(ctx.session, str(variable(ctx.variables, "workOrderNumber")))
    op = operations.dispatch_next(ctx.session, wo, ctx.now)
    if op is None:
        return {"operationsLeft": False, "operationId": None}
    return {"operationsLeft": True, **operations.variables_of(ctx.session, op)}


@service_task_handler("mes.start_operation")
def start_operation(ctx: HandlerContext) -> dict[str, Any]:
    op = _operation(ctx)
    if op.state == "running":  # a retried handler
        return {"machine": op.machine_code}
    operations.start(ctx.session, op, operator=ctx.actor, now=ctx.now, machine=ctx.variables.get("machine") or None)
    return {"machine": op.machine_code}


on_cycle(operations.record_machine_cycle)
on_state_change(operations.record_machine_state)  # every machine stop is a downtime, job or not


@service_task_handler("mes.machine_silent")
def machine_silent(ctx: HandlerContext) -> dict[str, Any]:
    """`machine.silent` (the devices watchdog): no cycle within the tolerance; one alert per silence period."""
    op = _operation(ctx)
    alert = operations.raise_alert(
        ctx.session, op, kind="machine_silent", key=ctx.booking_key, now=ctx.now,
        message=f"{op.work_center.code} {op.machine_code or ''}: no cycle within {ctx.variables.get('silenceTimeout')} "
                f"while running {op.number}",
    )
    return {"lastAlertId": alert.id}


@service_task_handler("mes.open_downtime")
def open_downtime(ctx: HandlerContext) -> dict[str, Any]:
    """`machine.interrupted`: PackML Held / Stopped / Aborted, or the device went offline."""
    op = _operation(ctx)
    row = operations.open_downtime(ctx.session, op, state=str(ctx.variables.get("state") or "Stopped"),
                                   reason=ctx.variables.get("reason"), offline=bool(ctx.variables.get("offline")),
                                   now=ctx.now)
    return {"downtimeId": row.id, "machineRunning": False}


@service_task_handler("mes.machine_state")
def machine_state(ctx: HandlerContext) -> dict[str, Any]:
    """`machine.resumed` (the machine is in Execute again) while a downtime is open: it ends."""
    op = _operation(ctx)
    running = ctx.variables.get("state") == operations.RUN_STATE
    if running:
        operations.close_downtime(ctx.session, op, ctx.now)
    return {"machineRunning": running}


@service_task_handler("mes.confirm_operation")
def confirm_operation(ctx: HandlerContext) -> dict[str, Any]:
    """The operator's good and scrap quantities. Bad quantities go back to the operator (error boundary)."""
    op = _operation(ctx)
    try:
        operations.confirm(ctx.session, op, good=ctx.variables.get("goodQuantity"),
                           scrap=ctx.variables.get("scrapQuantity") or 0, operator=ctx.actor, now=ctx.now,
                           key=ctx.booking_key)
    except (MesError, Conflict) as exc:
        raise BpmnError("confirmation_refused", str(exc), {"confirmationError": str(exc)}) from exc
    return {"confirmationError": None, "goodQuantity": float(op.good_qty)}


@service_task_handler("mes.apply_disposition")
def apply_disposition(ctx: HandlerContext) -> dict[str, Any]:
    """accept (also: no inspection), rework (back to the queue), or scrap (the batch, and the order ends)."""
    op = _operation(ctx)
    disposition = ctx.variables.get("disposition") if ctx.variables.get("inspectionRequired") else "accept"
    from taktflow.handlers.mes.quality.service import set_disposition

    if ctx.variables.get("inspectionRequired"):
        set_disposition(ctx.session, op, str(disposition))
    if disposition == "rework":
        operations.rework(ctx.session, op)
        return {"disposition": "rework", "reworkCount": op.rework_count,
                **operations.variables_of(ctx.session, op)}
    if disposition == "scrap":
        operations.scrap_batch(ctx.session, op, ctx.now)
        return {"disposition": "scrap"}
    operations.accept(ctx.session, op, ctx.now)
    return {"disposition": "accept"}
