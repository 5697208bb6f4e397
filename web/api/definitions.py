"""Deployments and process definitions."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile, status
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from taktflow.engine.core import Engine
from taktflow.engine.definitions import service as definitions
from taktflow.engine.store.models import ProcessDefinition, ProcessInstance
from taktflow.web.api.deps import get_engine, require
from taktflow.web.auth.service import DEPLOY, WORK, Principal

router = APIRouter(tags=["definitions"])


@router.post("/deployments", status_code=status.HTTP_201_CREATED,
             responses={422: {"description": "invalid model: errors name the element and the rule"}})
def deploy(
    files: list[UploadFile] = File(...), engine: Engine = Depends(get_engine),
    principal: Principal = Depends(require(DEPLOY)),
    profile: Literal["standard", "strict"] = Query(
        "standard", description="standard: specification rules that do not change execution are warnings; "
                                "strict: every breach refuses the deployment"),
) -> Any:
    models = [definitions.ModelFile(f.filename or "model.bpmn", f.file.read()) for f in files]
    result = engine.command(lambda session: definitions.deploy(
        session, models, clock=engine.clock, serializer=engine.serializer, source="api",
        deployed_by=principal.name, profile=profile,
    ))
    body = {
        "deploymentId": result.deployment_id,
        "definitions": [
            {"kind": d.kind, "key": d.key, "version": d.version, "name": d.name, "new": d.new, "id": d.id}
            for d in result.definitions
        ],
        "warnings": [w.as_dict() for w in result.warnings],
    }
    return JSONResponse(body, status_code=201 if result.changed else 200)


@router.get("/process-definitions")
def list_definitions(engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> Any:
    with engine.db.read() as session:
        running = dict(session.execute(
            select(ProcessInstance.definition_id, func.count())
            .where(ProcessInstance.state.in_(("active", "incident"))).group_by(ProcessInstance.definition_id)
        ).all())
        rows = session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version))
        return [
            {"id": d.id, "key": d.key, "version": d.version, "name": d.name, "deployedAt": d.deployed_at,
             "resource": d.resource.name, "runningInstances": running.get(d.id, 0)}
            for d in rows
        ]
