"""Work centers REST: the plant's work units, their machines and hourly cost (the id is the code, e.g. WC-CUT)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.mes.common import as_number
from taktflow.handlers.mes.work_center import service
from taktflow.handlers.mes.work_center.models import WorkCenter
from taktflow.web.api.deps import get_engine, require
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(tags=["mes: work centers"])


class WorkCenterIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    hourlyCost: Decimal = Field(ge=0)  # noqa: N815 - API names
    machines: list[str] = Field(default_factory=list)
    area: str = Field(default="", max_length=200)


def work_center_out(wc: WorkCenter) -> dict[str, Any]:
    return {"id": wc.code, "code": wc.code, "name": wc.name, "area": wc.area, "hourlyCost": as_number(wc.hourly_cost),
            "operatorGroup": wc.operator_group, "machines": [{"code": m.code, "name": m.name} for m in wc.machines]}


@router.get("/work-centers")
def list_work_centers(engine: Engine = Depends(get_engine),
                      _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [work_center_out(wc) for wc in service.list_work_centers(session)]


@router.get("/work-centers/{code}", responses={404: {"description": "unknown work center"}})
def read_work_center(code: str, engine: Engine = Depends(get_engine),
                     _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return work_center_out(service.work_center_by_code(session, code))


@router.post("/work-centers", status_code=201, responses={422: {"description": "invalid or duplicate"}})
def create_work_center(body: WorkCenterIn, engine: Engine = Depends(get_engine),
                       _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    return engine.command(lambda session: work_center_out(service.create_work_center(
        session, code=body.code, name=body.name, hourly_cost=body.hourlyCost, machines=body.machines,
        area=body.area)))
