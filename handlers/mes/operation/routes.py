"""Operations REST: the dispatch list per work center, one operation with its machine history, and an
operator's consumption by lot."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.core import Engine
from taktflow.engine.store.models import UserTask
from taktflow.handlers.erp.web import document_out
from taktflow.handlers.mes.common import as_number
from taktflow.handlers.mes.operation import service
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.work_order.models import MaterialIssue
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import WORK, Principal

router = APIRouter(tags=["mes: operations"])
# The user tasks of the work-order process that belong to the operation at hand.
OPERATION_TASKS = ("start_operation", "confirm_quantities", "inspect")


class ConsumptionIn(BaseModel):
    itemCode: str = Field(min_length=1, max_length=80)  # noqa: N815 - API names
    lotId: RowId | None = None  # noqa: N815
    quantity: Decimal


def operation_out(session: Session, op: Operation) -> dict[str, Any]:
    """An operation as the dispatch board shows it, with the open task a person completes next (if any)."""
    task = None
    if op.state in ("queued", "running", "confirmed") and op.work_order.instance_id:
        row = session.scalar(select(UserTask).where(UserTask.instance_id == op.work_order.instance_id,
                                                    UserTask.element_id.in_(OPERATION_TASKS)).limit(1))
        task = {"id": row.id, "element": row.element_id, "name": row.name} if row is not None else None
    return document_out(
        op, workOrder=op.work_order.number, itemCode=op.work_order.item_code, seq=op.seq, name=op.name,
        workCenter=op.work_center.code, priority=op.priority, startable=service.startable(session, op),
        inputQuantity=as_number(op.input_qty), goodQuantity=as_number(op.good_qty),
        scrapQuantity=as_number(op.scrap_qty), machineCount=as_number(op.machine_count), reworkCount=op.rework_count,
        machine=op.machine_code, operator=op.operator, conversionCost=as_number(op.conversion_cost),
        queuedAt=op.queued_at, startedAt=op.started_at, endedAt=op.ended_at, openTask=task)


@router.get("/work-centers/{code}/dispatch-list", responses={404: {"description": "unknown work center"}})
def dispatch_list(code: str, includeDone: bool = Query(True),  # noqa: N803 - API names
                  engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    """Running (and awaiting inspection), queued, waiting for the predecessor, done: each by priority."""
    with engine.db.read() as session:
        return [operation_out(session, op) for op in service.dispatch_list(session, code, include_done=includeDone)]


@router.get("/operations/{operation_id}", responses={404: {"description": "unknown operation"}})
def read_operation(operation_id: RowId, engine: Engine = Depends(get_engine),
                   _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        op = service.get_operation(session, operation_id)
        return {**operation_out(session, op), "oee": service.oee_inputs(session, op),
                "downtimes": [{"machine": d.machine_code, "state": d.packml_state, "reason": d.reason,
                               "startedAt": d.started_at, "endedAt": d.ended_at}
                              for d in service.downtimes(session, operation_id=op.id)],
                "alerts": [{"kind": a.kind, "message": a.message, "raisedAt": a.raised_at}
                           for a in service.alerts(session, operation_id=op.id)]}


@router.post("/operations/{operation_id}/consumptions", status_code=201,
             responses={404: {"description": "unknown operation"}, 409: {"description": "operation not running"},
                        422: {"description": "nothing to consume from that lot, or a bad quantity"}})
def record_consumption(operation_id: RowId, body: ConsumptionIn, engine: Engine = Depends(get_engine),
                       _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    """An operator consumed material of a running operation, by lot (all of it is booked, or nothing)."""

    def work(session: Session) -> list[dict[str, Any]]:
        op = service.get_operation(session, operation_id)
        rows = service.record_consumption(session, op, component=body.itemCode, lot_id=body.lotId,
                                          quantity=body.quantity, key=f"api:consume:{uuid.uuid4()}",
                                          now=engine.clock.now())
        return [consumption_out(row) for row in rows]

    return engine.command(work)


def consumption_out(row: MaterialIssue) -> dict[str, Any]:
    return {"kind": row.kind, "lotId": row.lot_id, "lotCode": row.lot_code, "quantity": as_number(row.quantity),
            "value": as_number(row.value), "at": row.at}
