"""User tasks: the inbox query, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from taktflow.engine import tasks
from taktflow.engine.core import Engine
from taktflow.engine.store.models import UserTask
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.instances import instance_out
from taktflow.web.api.params import MAX_INT64, Variables
from taktflow.web.auth.service import WORK, Principal

router = APIRouter(tags=["tasks"])


class CompleteRequest(BaseModel):
    variables: Variables = Field(default_factory=dict)


class ClaimRequest(BaseModel):
    userId: str | None = None  # noqa: N815 - Camunda's REST names


def task_out(row: UserTask) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "elementId": row.element_id, "processInstanceId": row.instance_id,
        "processKey": row.process_key, "businessKey": row.business_key, "assignee": row.assignee,
        "candidateGroups": row.candidate_groups, "candidateUsers": row.candidate_users, "due": row.due_at,
        "followUp": row.follow_up_at, "priority": row.priority, "created": row.created_at, "form": row.form,
    }


@router.get("/tasks")
def query(
    candidateGroup: list[str] | None = Query(None), candidateUser: str | None = None,  # noqa: N803
    assignee: str | None = None, processInstanceId: str | None = None,  # noqa: N803
    processKey: str | None = None, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),  # noqa: N803
    engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK)),
) -> list[dict[str, Any]]:
    stmt = tasks.query(candidate_groups=candidateGroup, candidate_user=candidateUser, assignee=assignee,
                       instance_id=processInstanceId, process_key=processKey).limit(limit).offset(offset)
    with engine.db.read() as session:
        return [task_out(r) for r in session.scalars(stmt)]


@router.get("/tasks/{task_id}")
def read(task_id: str, engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> Any:
    with engine.db.read() as session:
        return task_out(tasks.get(session, task_id))


@router.post("/tasks/{task_id}/claim")
def claim(
    task_id: str, body: ClaimRequest | None = None, engine: Engine = Depends(get_engine),
    principal: Principal = Depends(require(WORK)),
) -> Any:
    user = (body.userId if body else None) or principal.name
    return engine.command(lambda session: task_out(tasks.claim(session, task_id, user)))


@router.post("/tasks/{task_id}/unclaim")
def unclaim(task_id: str, engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> Any:
    return engine.command(lambda session: task_out(tasks.unclaim(session, task_id)))


@router.post("/tasks/{task_id}/complete", responses={422: {"description": "form validation errors"}})
def complete(
    task_id: str, body: CompleteRequest | None = None, engine: Engine = Depends(get_engine),
    principal: Principal = Depends(require(WORK)),
) -> Any:
    row = tasks.complete(engine, task_id, (body or CompleteRequest()).variables, actor=principal.name)
    return instance_out(row)
