"""MRP REST: item planning parameters, the forecast, runs and their proposals, firming."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.erp.planning import service
from taktflow.handlers.erp.planning.models import MrpRun, PlannedOrder
from taktflow.handlers.erp.web import num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(prefix="/mrp", tags=["erp: planning"])


class ItemPlanningIn(BaseModel):
    leadTimeDays: int | None = Field(default=None, ge=0, le=3650)  # noqa: N815 - API names
    safetyStock: Decimal | None = Field(default=None, ge=0, le=10**12)  # noqa: N815
    lotSizing: str | None = None  # noqa: N815 - lot_for_lot | fixed
    lotSize: Decimal | None = Field(default=None, ge=0, le=10**12)  # noqa: N815
    minLot: Decimal | None = Field(default=None, ge=0, le=10**12)  # noqa: N815
    lotMultiple: Decimal | None = Field(default=None, ge=0, le=10**12)  # noqa: N815


class ForecastIn(BaseModel):
    itemCode: str = Field(min_length=1, max_length=40)  # noqa: N815
    dueDate: date  # noqa: N815
    quantity: Decimal = Field(gt=0, le=10**12)


def proposal_out(p: PlannedOrder) -> dict[str, Any]:
    return {"id": p.id, "number": p.number, "kind": p.kind, "item": p.item_code, "quantity": num(p.quantity),
            "releaseDate": p.release_date, "dueDate": p.due_date, "state": p.state, "pegging": p.pegging,
            "firmedDocument": p.firmed_document, "firmedInstanceId": p.firmed_instance_id}


def run_out(run: MrpRun) -> dict[str, Any]:
    return {"id": run.id, "number": run.number, "state": run.state, "plannedAt": run.planned_at,
            "planningDate": run.planning_date, "processInstanceId": run.instance_id,
            "proposals": [proposal_out(p) for p in run.proposals], "exceptions": run.exceptions}


@router.put("/items/{item_code}")
def set_item_planning(item_code: str, body: ItemPlanningIn, engine: Engine = Depends(get_engine),
                      _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        row = service.set_item_planning(session, item_code, lead_time_days=body.leadTimeDays,
                                        safety_stock=body.safetyStock, lot_sizing=body.lotSizing,
                                        lot_size=body.lotSize, min_lot=body.minLot, lot_multiple=body.lotMultiple)
        return {"item": item_code, "leadTimeDays": row.lead_time_days, "safetyStock": num(row.safety_stock),
                "lotSizing": row.lot_sizing, "lotSize": num(row.lot_size), "minLot": num(row.min_lot),
                "lotMultiple": num(row.lot_multiple)}

    return engine.command(work)


@router.post("/forecasts", status_code=201)
def add_forecast(body: ForecastIn, engine: Engine = Depends(get_engine),
                 _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        row = service.add_forecast(session, body.itemCode, body.dueDate, body.quantity)
        return {"id": row.id, "itemCode": body.itemCode, "dueDate": row.due_date, "quantity": num(row.quantity)}

    return engine.command(work)


@router.post("/runs", status_code=201)
def start_run(engine: Engine = Depends(get_engine), principal: Principal = Depends(require(OPERATE))) -> Any:
    """Plan now (mrp_run.bpmn); the run's proposals wait for the planner's review task."""
    return run_out(service.start_run(engine, actor=principal.name))


@router.get("/runs/{run_id}")
def read_run(run_id: RowId, engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> Any:
    with engine.db.read() as session:
        return run_out(service.get_run(session, run_id))


@router.post("/proposals/{proposal_id}/firm")
def firm(proposal_id: RowId, engine: Engine = Depends(get_engine),
         principal: Principal = Depends(require(OPERATE))) -> Any:
    """Start the work order (make) or procure-to-pay for a requisition (buy) the proposal plans."""
    return proposal_out(service.firm_proposal(engine, proposal_id, actor=principal.name))
