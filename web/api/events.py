"""Messages and signals from outside systems (and machines) into waiting instances."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine import events
from taktflow.engine.core import Engine
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import Variables
from taktflow.web.auth.service import WORK, Principal

router = APIRouter(tags=["events"])


class MessageRequest(BaseModel):
    name: str = Field(min_length=1)
    businessKey: str | None = None  # noqa: N815 - Camunda's REST names
    correlationKeys: Variables | None = None  # noqa: N815
    variables: Variables = Field(default_factory=dict)


class SignalRequest(BaseModel):
    name: str = Field(min_length=1)
    variables: Variables = Field(default_factory=dict)


def _reached(items: list[events.Reached]) -> list[dict[str, Any]]:
    return [{"processInstanceId": r.instance_id, "businessKey": r.business_key, "elementId": r.element_id}
            for r in items]


@router.post("/messages", responses={404: {"description": "no instance waits for the message"}})
def correlate(body: MessageRequest, engine: Engine = Depends(get_engine),
              principal: Principal = Depends(require(WORK))) -> Any:
    reached = events.correlate_message(engine, body.name, business_key=body.businessKey,
                                       correlation_keys=body.correlationKeys, variables=body.variables,
                                       actor=principal.name)
    return {"reached": _reached(reached)}


@router.post("/signals")
def signal(body: SignalRequest, engine: Engine = Depends(get_engine),
           principal: Principal = Depends(require(WORK))) -> Any:
    reached = events.broadcast_signal(engine, body.name, variables=body.variables, actor=principal.name)
    return {"reached": _reached(reached)}
