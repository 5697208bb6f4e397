"""Work orders REST: list, read (with operations, material and state), and a planner's release."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from taktflow.engine.core import Engine
from taktflow.engine.store.models import row_id
from taktflow.handlers.erp.web import document_out
from taktflow.handlers.mes.common import as_number
from taktflow.handlers.mes.operation.routes import operation_out
from taktflow.handlers.mes.work_order import process, service
from taktflow.handlers.mes.work_order.models import WorkOrder
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64
from taktflow.web.auth.access import RELEASE_REFUSED, may_release_work_orders
from taktflow.web.auth.service import WORK, Principal

router = APIRouter(tags=["mes: work orders"])


class WorkOrderIn(BaseModel):
    itemCode: str = Field(min_length=1, max_length=80)  # noqa: N815 - API names
    quantity: Decimal
    dueDate: date | None = None  # noqa: N815
    priority: int = Field(default=50, ge=0, le=100)


def work_order_out(session: Session, wo: WorkOrder, *, detail: bool = False) -> dict[str, Any]:
    out = document_out(
        wo, itemCode=wo.item_code, quantity=as_number(wo.quantity), priority=wo.priority, dueDate=wo.due_date,
        origin=wo.origin, processInstanceId=wo.instance_id, goodQuantity=as_number(wo.good_qty),
        scrapQuantity=as_number(wo.scrap_qty), materialCost=as_number(wo.material_cost),
        conversionCost=as_number(wo.conversion_cost), lotId=wo.fg_lot_id, lotCode=wo.fg_lot_code,
        createdAt=wo.created_at, closedAt=wo.closed_at,
        parentWorkOrderNumber=wo.parent.number if wo.parent is not None else None)
    if detail:
        out["operations"] = [operation_out(session, op) for op in service.operations_of(session, wo)]
        out["requirements"] = [
            {"componentCode": r.component_code, "operationSeq": r.operation_seq,
             "standardPerUnit": as_number(r.standard_per_unit), "required": as_number(r.required_qty),
             "issued": as_number(r.issued_qty), "consumed": as_number(r.consumed_qty),
             "returned": as_number(r.returned_qty)} for r in wo.requirements]
        out["shortages"] = service.shortages(session, wo) if wo.state in ("released", "waiting_material") else []
        out["procurementRequests"] = [
            {"requisitionNumber": p.requisition_number, "itemCode": p.component_code,
             "quantity": as_number(p.quantity), "processInstanceId": p.instance_id, "requestedAt": p.requested_at}
            for p in service.procurement_requests(session, wo)]
        out["children"] = [  # child work orders making what this one ran short of
            {"number": c.number, "itemCode": c.item_code, "quantity": as_number(c.quantity), "state": c.state,
             "processInstanceId": c.instance_id} for c in service.children_of(session, wo)]
        out["performance"] = wo.performance
    return out


@router.get("/work-orders")
def list_work_orders(
    state: str | None = None, itemCode: str | None = None, origin: str | None = None,  # noqa: N803
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),
    engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK)),
) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [work_order_out(session, wo) for wo in service.list_work_orders(
            session, limit=limit, offset=offset, state=state, item_code=itemCode, origin=origin)]


@router.get("/work-orders/{ref}", responses={404: {"description": "unknown work order"}})
def read_work_order(ref: str, engine: Engine = Depends(get_engine),
                    _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    """`ref` is the id or the number (WO-00001)."""
    with engine.db.read() as session:
        wo = service.get_work_order(session, row_id(ref) or ref)
        return work_order_out(session, wo, detail=True)


@router.post("/work-orders", status_code=201,
             responses={422: {"description": "invalid quantity, or an item without routing or BOM"}})
def release_work_order(body: WorkOrderIn, engine: Engine = Depends(get_engine),
                       principal: Principal = Depends(require(WORK))) -> dict[str, Any]:
    """A planner releases a work order: the order and its running work-order process, or neither."""
    if not may_release_work_orders(principal):
        raise HTTPException(status.HTTP_403_FORBIDDEN, RELEASE_REFUSED)
    wo = process.release(engine, item_code=body.itemCode, quantity=body.quantity, due_date=body.dueDate,
                         priority=body.priority, actor=principal.name)
    with engine.db.read() as session:
        return work_order_out(session, service.get_work_order(session, wo.id), detail=True)
