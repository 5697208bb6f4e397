"""Order-to-cash service tasks (processes/order_to_cash.bpmn). Each books under ctx.booking_key."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from taktflow.engine import instances
from taktflow.engine.handlers import HandlerContext, service_task_handler
from taktflow.handlers.erp.documents import transition
from taktflow.handlers.erp.errors import ErpError
from taktflow.handlers.erp.invoicing import service as invoicing
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.purchasing.service import create_requisition, start_procurement
from taktflow.handlers.erp.sales import service as sales
from taktflow.handlers.erp.sales.models import SalesOrder, SalesOrderLine
from taktflow.handlers.erp.stock.models import Location

# The MES process that answers a production request (see /work/notes/erp-api.md).
WORK_ORDER_PROCESS = "work_order"


def _order(ctx: HandlerContext) -> SalesOrder:
    order_id = ctx.variables.get("salesOrderId")
    if order_id is None:
        raise ErpError("the process has no salesOrderId variable")
    return sales.get_sales_order(ctx.session, int(order_id))


@service_task_handler("erp.o2c.credit_facts")
def credit_facts(ctx: HandlerContext) -> dict[str, Any]:
    return sales.credit_facts(ctx.session, _order(ctx), ctx.now.date())


@service_task_handler("erp.o2c.hold_order")
def hold_order(ctx: HandlerContext) -> dict[str, Any]:
    order = _order(ctx)
    if order.state == "draft":
        transition(order, "hold_credit")
    return {"salesOrderState": order.state}


@service_task_handler("erp.o2c.confirm_order")
def confirm_order(ctx: HandlerContext) -> dict[str, Any]:
    order = _order(ctx)
    if order.state in ("draft", "credit_hold"):
        transition(order, "confirm")
        if ctx.variables.get("creditComment"):
            order.credit_note = str(ctx.variables["creditComment"])[:400]
    return {"salesOrderState": order.state}


@service_task_handler("erp.o2c.reject_order")
def reject_order(ctx: HandlerContext) -> dict[str, Any]:
    order = _order(ctx)
    if order.state != "rejected":
        transition(order, "reject")
        # The reason the review gave for its No (docs/forms.md), else its comment.
        note = ctx.variables.get("creditApprovedReason") or ctx.variables.get("creditComment")
        order.credit_note = str(note or "rejected by credit control")[:400]
    return {"salesOrderState": order.state}


@service_task_handler("erp.o2c.reserve_stock")
def reserve_stock(ctx: HandlerContext) -> dict[str, Any]:
    return sales.reserve_order(ctx.session, _order(ctx), ctx.booking_key, ctx.now)


@service_task_handler("erp.o2c.request_replenishment")
def request_replenishment(ctx: HandlerContext) -> dict[str, Any]:
    """Make items: start the MES work order (ISA-95 production request). Buy items: one requisition per supplier,
    each started as procure-to-pay. Both carry the order number as business key so their messages come back."""
    order = _order(ctx)
    session = ctx.session
    lines = {ln.id: ln for ln in order.lines}
    location = session.get(Location, order.source_location_id)
    warehouse = location.code.split("/")[0]
    started: list[str] = []
    to_buy: dict[int, list[tuple[SalesOrderLine, Any]]] = defaultdict(list)
    for shortage in ctx.variables.get("shortages") or []:
        line = lines[int(shortage["lineId"])]
        if line.replenishment_qty > 0:
            continue  # requested by an earlier run of this task
        item = item_by_code(session, shortage["itemCode"])
        amount = Decimal(str(shortage["quantity"]))
        line.replenishment_qty = amount
        if item.procurement == "make":
            request_id = f"{order.number}-L{line.line_no}"
            run = instances.start_in(ctx.engine, session, WORK_ORDER_PROCESS, business_key=order.number,
                                     actor=ctx.actor, variables=production_request(
                                         request_id, order.number, item, amount, location.code, warehouse,
                                         (ctx.now + timedelta(days=7)).isoformat()))
            started.append(run.row.id)
        else:
            if item.default_supplier_id is None:
                raise ErpError(f"item {item.code} has no default supplier to buy it from")
            to_buy[item.default_supplier_id].append((line, item))
    for supplier_id, wanted in to_buy.items():
        req = create_requisition(
            session, supplier_id=supplier_id, now=ctx.now, requested_by=ctx.actor, source="shortage",
            sales_order_id=order.id, location=location.code, sales_order_line_ids=[ln.id for ln, _ in wanted],
            lines=[{"itemId": item.id, "quantity": str(ln.replenishment_qty)} for ln, item in wanted],
        )
        started.append(start_procurement(ctx.engine, session, req, business_key=order.number, actor=ctx.actor))
    session.flush()
    return {"replenishmentInstances": started}


def production_request(request_id: str, order_number: str, item: Any, amount: Decimal, location: str,
                        warehouse: str, latest_end: str) -> dict[str, Any]:
    """ISA-95 ProductionRequest → SegmentRequirement → MaterialRequirement, as JSON."""
    return {
        "productionRequest": {
            "id": request_id, "description": f"Make {amount.normalize():f} {item.uom} {item.code} for {order_number}",
            "requestState": "Released", "latestEndTime": latest_end, "hierarchyScope": warehouse,
            "segmentRequirements": [{"id": f"{request_id}/1", "materialRequirements": [{
                "materialDefinitionId": item.code, "materialUse": "Produced", "quantity": float(amount),
                "unitOfMeasure": item.uom, "storageLocation": location}]}],
        },
        "salesOrderNumber": order_number, "itemCode": item.code, "quantity": float(amount),
        "destinationLocation": location,
    }


@service_task_handler("erp.o2c.post_goods_issue")
def post_goods_issue(ctx: HandlerContext) -> dict[str, Any]:
    delivery = sales.get_delivery(ctx.session, int(ctx.variables["deliveryId"]))
    shipped = None if ctx.variables.get("shipAll", True) else (ctx.variables.get("shippedQuantities") or {})
    result = sales.post_goods_issue(ctx.session, delivery, ctx.booking_key, ctx.now, shipped)
    # The next pick (a backorder) starts from "ship everything" again, not from this one's answer.
    return {**result, "shipAll": True, "shippedQuantities": None}


@service_task_handler("erp.o2c.invoice_delivery")
def invoice_delivery(ctx: HandlerContext) -> dict[str, Any]:
    delivery = sales.get_delivery(ctx.session, int(ctx.variables["deliveryId"]))
    invoice = invoicing.invoice_delivery(ctx.session, delivery, ctx.booking_key, ctx.now)
    return {"invoiceNumber": invoice.number if invoice else None,
            "dunningAt": invoicing.next_dunning_at(ctx.session, delivery.order_id)}


@service_task_handler("erp.o2c.record_payment")
def record_payment(ctx: HandlerContext) -> dict[str, Any]:
    order = _order(ctx)
    payments = invoicing.record_customer_payment(ctx.session, order, ctx.variables.get("paymentAmount"),
                                                 ctx.booking_key, ctx.now, ctx.variables.get("paymentReference"))
    open_left = invoicing.open_invoices(ctx.session, order.id)
    return {"paymentNumbers": [p.number for p in payments], "fullyPaid": not open_left,
            "dunningAt": invoicing.next_dunning_at(ctx.session, order.id)}


@service_task_handler("erp.o2c.dun_customer")
def dun_customer(ctx: HandlerContext) -> dict[str, Any]:
    return invoicing.dun_overdue_invoices(ctx.session, _order(ctx), ctx.now.date())


@service_task_handler("erp.o2c.close_order")
def close_order(ctx: HandlerContext) -> dict[str, Any]:
    order = _order(ctx)
    if order.state != "closed":
        transition(order, "close")
    return {"salesOrderState": order.state}
