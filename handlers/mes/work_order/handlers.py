"""Service-task handlers of the work-order process: release, material, staging, finished goods, performance."""

from __future__ import annotations

from typing import Any

from taktflow.engine.handlers import BpmnError, HandlerContext, service_task_handler
from taktflow.handlers.mes.common import MesError, as_number, variable
from taktflow.handlers.mes.work_order import service as work_orders


def _work_order(ctx: HandlerContext) -> Any:
    return work_orders.get_work_order(ctx.session, str(variable(ctx.variables, "workOrderNumber")))


@service_task_handler("mes.release_work_order")
def release_work_order(ctx: HandlerContext) -> dict[str, Any]:
    """First step: the work order of this instance. A planner released it already (`workOrderNumber`);
    ERP's order-to-cash starts the process with a ProductionRequest (`itemCode`, `quantity`, ...)."""
    if ctx.variables.get("workOrderNumber"):
        wo = _work_order(ctx)
    else:
        request = ctx.variables.get("productionRequest") or {}
        wo = work_orders.release_work_order(
            ctx.session, item_code=str(variable(ctx.variables, "itemCode")),
            quantity=variable(ctx.variables, "quantity"),
            now=ctx.now, due_date=request.get("latestEndTime"), priority=int(ctx.variables.get("priority") or 50),
            origin=str(ctx.variables.get("salesOrderNumber") or ctx.business_key or "planner"),
            request_key=str(request.get("id") or ctx.booking_key),
        )
    wo.instance_id = ctx.instance_id
    # `priority` orders the operator tasks (camunda:priority="${priority}") as it orders the dispatch list.
    return {"workOrderNumber": wo.number, "workOrderQuantity": as_number(wo.quantity), "priority": wo.priority}


@service_task_handler("mes.check_material")
def check_material(ctx: HandlerContext) -> dict[str, Any]:
    wo = _work_order(ctx)
    short = work_orders.check_material(ctx.session, wo)
    return {"materialShort": bool(short), "shortages": short}


@service_task_handler("mes.request_procurement")
def request_procurement(ctx: HandlerContext) -> dict[str, Any]:
    """Shortage: buy items are requisitioned through ERP's procure-to-pay, under this instance's business key
    so the goods receipt's `stock_replenished` message wakes this work order up; make items get a child work
    order whose finished-goods receipt sends the same message (the hourly re-check is the fallback)."""
    wo = _work_order(ctx)
    requested = work_orders.request_procurement(ctx.engine, ctx.session, wo, now=ctx.now, actor=ctx.actor,
                                                business_key=ctx.business_key or wo.number)
    return {"procurementRequests": requested}


@service_task_handler("mes.stage_material")
def stage_material(ctx: HandlerContext) -> dict[str, Any]:
    wo = _work_order(ctx)
    try:
        staged = work_orders.stage_material(ctx.session, wo, ctx.booking_key, ctx.now)
    except MesError as exc:  # stock went away between the check and staging: check again
        raise BpmnError("material_short", str(exc)) from exc
    return {"staged": staged}


@service_task_handler("mes.receive_finished_goods")
def receive_finished_goods(ctx: HandlerContext) -> dict[str, Any]:
    wo = _work_order(ctx)
    received = work_orders.receive_finished_goods(ctx.session, wo, ctx.booking_key, ctx.now)
    if wo.parent_id is not None and wo.good_qty > 0:  # a child order: its parent waits for these goods
        work_orders.wake_parent(ctx.engine, ctx.session, wo, actor=ctx.actor)
    return {"finishedGoods": received, "lotId": wo.fg_lot_id}


@service_task_handler("mes.report_performance")
def report_performance(ctx: HandlerContext) -> dict[str, Any]:
    """Close the order; the ISA-95 production performance leaves with the `production_performance` message
    the process throws next (the engine routes it to the order-to-cash instance of the same business key)."""
    wo = _work_order(ctx)
    return {"productionPerformance": work_orders.close(ctx.session, wo, ctx.now)}
