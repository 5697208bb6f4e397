"""Process instances: start, query, read, history, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from taktflow.engine import history, instances
from taktflow.engine.core import Engine
from taktflow.engine.store.models import ProcessInstance
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64, Variables
from taktflow.web.auth.access import instances_visible_to
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(tags=["instances"])


class StartRequest(BaseModel):
    businessKey: str | None = Field(default=None, max_length=200)  # noqa: N815 - Camunda's REST names
    variables: Variables = Field(default_factory=dict)


class CancelRequest(BaseModel):
    reason: str | None = None


def instance_out(row: ProcessInstance) -> dict[str, Any]:
    return {
        "id": row.id, "processKey": row.process_key, "definitionId": row.definition_id,
        "businessKey": row.business_key, "state": row.state, "startedAt": row.started_at,
        "endedAt": row.ended_at, "variables": row.variables, "activeElementIds": row.active_elements,
        "version": row.version,
    }


@router.post("/process-definitions/{key}/start", status_code=201)
def start(
    key: str, body: StartRequest | None = None, engine: Engine = Depends(get_engine),
    principal: Principal = Depends(require(WORK)),
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=200),
) -> Any:
    body = body or StartRequest()
    started = instances.start(engine, key, business_key=body.businessKey, variables=body.variables,
                              actor=principal.name, idempotency_key=idempotency_key)
    return JSONResponse(_jsonable(instance_out(started.instance)), status_code=201 if started.created else 200)


@router.get("/process-instances")
def query(
    businessKey: str | None = None, key: str | None = None, state: str | None = None,  # noqa: N803
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),
    engine: Engine = Depends(get_engine), principal: Principal = Depends(require(WORK)),
) -> list[dict[str, Any]]:
    """Instances the caller may read: all for operators and admins, else those it started or has a task in."""
    stmt = instances.query(business_key=businessKey, key=key, state=state).where(instances_visible_to(principal))
    with engine.db.read() as session:
        return [instance_out(r) for r in session.scalars(stmt.limit(limit).offset(offset))]


def _readable(session: Any, instance_id: str, principal: Principal) -> ProcessInstance:
    row = instances.get(session, instance_id)
    if not session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id,
                                                           instances_visible_to(principal))):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{principal.name} may not read instance {instance_id}: "
                            "it neither started it nor has a task in it, and its role does not operate")
    return row


@router.get("/process-instances/{instance_id}", responses={403: {"description": "not the caller's instance"}})
def read(instance_id: str, engine: Engine = Depends(get_engine), principal: Principal = Depends(require(WORK))) -> Any:
    with engine.db.read() as session:
        return instance_out(_readable(session, instance_id, principal))


@router.get("/process-instances/{instance_id}/history", responses={403: {"description": "not the caller's instance"}})
def instance_history(
    instance_id: str, engine: Engine = Depends(get_engine), principal: Principal = Depends(require(WORK))
) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        _readable(session, instance_id, principal)
        return [
            {"at": e.at, "actor": e.actor, "kind": e.kind, "elementId": e.element_id,
             "elementName": e.element_name, "taskId": e.task_id, "data": e.data}
            for e in history.of_instance(session, instance_id)
        ]


@router.post("/process-instances/{instance_id}/cancel")
def cancel(
    instance_id: str, body: CancelRequest | None = None, engine: Engine = Depends(get_engine),
    principal: Principal = Depends(require(OPERATE)),
) -> Any:
    row = instances.cancel(engine, instance_id, actor=principal.name, reason=(body or CancelRequest()).reason)
    return instance_out(row)


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)
