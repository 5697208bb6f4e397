"""BOMs REST: what one unit of an item is made of, and its explosion through phantom levels."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.mes.bom import service
from taktflow.handlers.mes.bom.models import Bom
from taktflow.handlers.mes.common import as_number
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import Count
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(tags=["mes: BOMs"])


class BomLineIn(BaseModel):
    component: str = Field(min_length=1, max_length=80)
    quantity: Decimal
    scrapFactor: Decimal = Decimal(0)  # noqa: N815 - API names
    operationSeq: Count = 10  # noqa: N815


class BomIn(BaseModel):
    itemCode: str = Field(min_length=1, max_length=80)  # noqa: N815
    quantity: Decimal = Decimal(1)
    phantom: bool = False
    lines: list[BomLineIn] = Field(min_length=1)


def bom_out(bom: Bom, requirements: list[service.Requirement] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "itemCode": bom.item_code, "quantity": as_number(bom.quantity), "phantom": bom.phantom,
        "lines": [{"component": ln.component_code, "quantity": as_number(ln.quantity),
                   "scrapFactor": as_number(ln.scrap_factor), "operationSeq": ln.operation_seq} for ln in bom.lines]}
    if requirements is not None:  # per finished unit, through phantom levels, with scrap allowances
        out["requirements"] = [{"componentCode": r.component_code, "operationSeq": r.operation_seq,
                                "standardPerUnit": as_number(r.standard_per_unit),
                                "requiredPerUnit": as_number(r.required_per_unit)} for r in requirements]
    return out


@router.get("/boms")
def list_boms(engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [bom_out(b) for b in service.list_boms(session)]


@router.get("/boms/{item_code}", responses={404: {"description": "the item has no BOM"}})
def read_bom(item_code: str, engine: Engine = Depends(get_engine),
             _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return bom_out(service.get_bom(session, item_code), service.explode(session, item_code))


@router.post("/boms", status_code=201, responses={422: {"description": "invalid BOM"}})
def create_bom(body: BomIn, engine: Engine = Depends(get_engine),
               _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    lines = [{"component": ln.component, "quantity": ln.quantity, "scrap_factor": ln.scrapFactor,
              "operation_seq": ln.operationSeq} for ln in body.lines]
    return engine.command(lambda session: bom_out(service.create_bom(
        session, item_code=body.itemCode, lines=lines, quantity=body.quantity, phantom=body.phantom)))
