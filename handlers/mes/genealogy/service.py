"""Traceability both ways: a produced lot back to every consumed lot, machine, operator and inspection;
a consumed lot forward to every lot made from it and every sales order those reached."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.sales.models import Delivery, SalesOrder
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import Location, StockMove
from taktflow.handlers.mes.common import as_number
from taktflow.handlers.mes.genealogy.models import LotLink
from taktflow.handlers.mes.quality.service import inspections_of
from taktflow.handlers.mes.work_order.models import MaterialIssue, WorkOrder
from taktflow.handlers.mes.work_order.service import operations_of

MAX_DEPTH = 20


def genealogy(session: Session, lot_id: int) -> dict[str, Any]:
    lot = stock.get_lot(session, lot_id)
    return {"lot": _lot(session, lot_id), "madeBy": _made_by(session, lot.id),
            "consumed": _backward(session, lot.id, 0), "usedIn": _forward(session, lot.id, 0),
            "salesOrders": sorted(_reached_orders(session, lot.id),
                                  key=lambda o: (o["salesOrder"] or "", o["documentNumber"] or "", o["lotId"]))}


def _lot(session: Session, lot_id: int) -> dict[str, Any]:
    lot = stock.get_lot(session, lot_id)
    item = session.get(Item, lot.item_id)
    return {"id": lot.id, "code": lot.code, "itemCode": item.code if item else None, "origin": lot.origin}


def _made_by(session: Session, lot_id: int) -> dict[str, Any] | None:
    wo = session.scalar(select(WorkOrder).where(WorkOrder.fg_lot_id == lot_id))
    if wo is None:
        return None
    return {
        "workOrder": wo.number, "itemCode": wo.item_code, "goodQuantity": as_number(wo.good_qty),
        "scrapQuantity": as_number(wo.scrap_qty),
        "operations": [{"seq": op.seq, "name": op.name, "workCenter": op.work_center.code, "machine": op.machine_code,
                        "operator": op.operator, "state": op.state, "goodQuantity": as_number(op.good_qty),
                        "scrapQuantity": as_number(op.scrap_qty), "reworkCount": op.rework_count}
                       for op in operations_of(session, wo)],
        "materials": _consumed_materials(session, wo),
        "inspections": [{"operationId": i.operation_id, "round": i.round, "characteristic": i.characteristic,
                         "measuredValue": as_number(i.measured_value), "lowerLimit": as_number(i.lower_limit),
                         "upperLimit": as_number(i.upper_limit), "result": i.result, "disposition": i.disposition,
                         "inspector": i.inspector, "at": i.inspected_at.isoformat()}
                        for i in inspections_of(session, work_order_id=wo.id)],
    }


def _consumed_materials(session: Session, wo: WorkOrder) -> list[dict[str, Any]]:
    """Every component the order consumed, by lot (None for items not tracked by lot)."""
    codes = {r.id: r.component_code for r in wo.requirements}
    totals: dict[tuple[str, int | None, str | None], Decimal] = {}
    for row in session.scalars(select(MaterialIssue).where(MaterialIssue.work_order_id == wo.id,
                                                          MaterialIssue.kind == "consume").order_by(MaterialIssue.id)):
        key = (codes[row.requirement_id], row.lot_id, row.lot_code)
        totals[key] = totals.get(key, Decimal(0)) + row.quantity
    return [{"itemCode": code, "lotId": lot_id, "lotCode": lot_code, "quantity": as_number(q)}
            for (code, lot_id, lot_code), q in sorted(totals.items(), key=lambda x: (x[0][0], x[0][1] or 0))]


def _backward(session: Session, lot_id: int, depth: int) -> list[dict[str, Any]]:
    if depth >= MAX_DEPTH:
        return []
    links = session.scalars(select(LotLink).where(LotLink.output_lot_id == lot_id).order_by(LotLink.id))
    return [{**_lot(session, link.input_lot_id), "quantity": as_number(link.quantity),
             "consumed": _backward(session, link.input_lot_id, depth + 1)} for link in links]


def _forward(session: Session, lot_id: int, depth: int) -> list[dict[str, Any]]:
    """Every work order that consumed this lot, with the lot it made (None for items not tracked by lot)."""
    if depth >= MAX_DEPTH:
        return []
    consumed: dict[int, Decimal] = {}
    for row in session.scalars(select(MaterialIssue).where(MaterialIssue.lot_id == lot_id,
                                                          MaterialIssue.kind == "consume").order_by(MaterialIssue.id)):
        consumed[row.work_order_id] = consumed.get(row.work_order_id, Decimal(0)) + row.quantity
    found = []
    for wo_id, amount in consumed.items():
        wo = session.get(WorkOrder, wo_id)
        made = _lot(session, wo.fg_lot_id) if wo.fg_lot_id else {"id": None, "code": None, "itemCode": wo.item_code,
                                                                  "origin": wo.number}
        found.append({**made, "workOrder": wo.number, "workOrderState": wo.state, "quantity": as_number(amount),
                      "usedIn": _forward(session, wo.fg_lot_id, depth + 1) if wo.fg_lot_id else []})
    return found


def _reached_orders(session: Session, lot_id: int, depth: int = 0) -> list[dict[str, Any]]:
    """Sales orders that received this lot, or any lot made from it, through a delivery to a customer."""
    customers = select(Location.id).where(Location.usage == "customer")
    found: dict[tuple[str | None, str | None, int], dict[str, Any]] = {}
    for move in session.scalars(select(StockMove).where(StockMove.lot_id == lot_id,
                                                        StockMove.to_location_id.in_(customers))):
        delivery = session.get(Delivery, move.document_id) if move.document_type == "delivery" else None
        order = session.get(SalesOrder, delivery.order_id) if delivery is not None else None
        customer = session.get(Partner, order.customer_id) if order is not None else None
        key = (order.number if order else None, move.document_number, lot_id)
        row = found.setdefault(key, {
            "salesOrder": order.number if order else None, "salesOrderId": order.id if order else None,
            "customer": customer.code if customer else None, "documentType": move.document_type,
            "documentNumber": move.document_number, "lotId": lot_id, "lotCode": stock.get_lot(session, lot_id).code,
            "quantity": 0})
        row["quantity"] = as_number(Decimal(str(row["quantity"])) + move.quantity)
    orders = list(found.values())
    if depth < MAX_DEPTH:
        for link in session.scalars(select(LotLink).where(LotLink.input_lot_id == lot_id)):
            orders.extend(_reached_orders(session, link.output_lot_id, depth + 1))
    return orders
