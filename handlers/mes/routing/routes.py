"""Routings REST: the operations an item passes through, each at one work center."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.mes.common import as_number
from taktflow.handlers.mes.routing import service
from taktflow.handlers.mes.routing.models import Routing
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import Count
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(tags=["mes: routings"])


class RoutingOperationIn(BaseModel):
    seq: Count = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    workCenter: str = Field(min_length=1)  # noqa: N815 - API names
    setupMinutes: Decimal = Decimal(0)  # noqa: N815
    idealCycleSeconds: Decimal  # noqa: N815
    silenceTolerance: Decimal = Decimal(3)  # noqa: N815
    backflush: bool = True
    characteristic: str | None = Field(default=None, max_length=80)
    lowerLimit: Decimal | None = None  # noqa: N815
    upperLimit: Decimal | None = None  # noqa: N815


class RoutingIn(BaseModel):
    itemCode: str = Field(min_length=1, max_length=80)  # noqa: N815
    name: str = Field(min_length=1, max_length=200)
    operations: list[RoutingOperationIn] = Field(min_length=1)


def routing_out(routing: Routing) -> dict[str, Any]:
    return {"itemCode": routing.item_code, "name": routing.name, "operations": [
        {"seq": op.seq, "name": op.name, "workCenter": op.work_center.code, "setupMinutes": as_number(op.setup_minutes),
         "idealCycleSeconds": as_number(op.ideal_cycle_seconds), "silenceTolerance": as_number(op.silence_tolerance),
         "backflush": op.backflush, "characteristic": op.characteristic, "lowerLimit": as_number(op.lower_limit),
         "upperLimit": as_number(op.upper_limit)} for op in routing.operations]}


@router.get("/routings")
def list_routings(engine: Engine = Depends(get_engine),
                  _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [routing_out(r) for r in service.list_routings(session)]


@router.get("/routings/{item_code}", responses={404: {"description": "the item has no routing"}})
def read_routing(item_code: str, engine: Engine = Depends(get_engine),
                 _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return routing_out(service.get_routing(session, item_code))


@router.post("/routings", status_code=201, responses={422: {"description": "invalid routing"}})
def create_routing(body: RoutingIn, engine: Engine = Depends(get_engine),
                   _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    operations = [{"seq": op.seq, "name": op.name, "work_center": op.workCenter, "setup_minutes": op.setupMinutes,
                   "ideal_cycle_seconds": op.idealCycleSeconds, "silence_tolerance": op.silenceTolerance,
                   "backflush": op.backflush, "characteristic": op.characteristic, "lower_limit": op.lowerLimit,
                   "upper_limit": op.upperLimit} for op in body.operations]
    return engine.command(lambda session: routing_out(service.create_routing(
        session, item_code=body.itemCode, name=body.name, operations=operations)))
