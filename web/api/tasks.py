"""User tasks: the inbox query, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from taktflow.engine import tasks
from taktflow.engine.core import Engine
from taktflow.engine.store.models import UserTask
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.instances import instance_out
from taktflow.web.api.params import MAX_INT64, Variables
from taktflow.web.auth.access import may_assign_to_others, may_see, may_work_on, tasks_visible_to
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
        "followUp": row.follow_up_at, "priority": row.priority, "created": row.created_at, "form": form_out(row.form),
    }


def form_out(form: dict[str, Any]) -> dict[str, Any]:
    """The task's form as declared, with each required yes/no naming the reason field a No needs (the engine's
    own `<fieldId>Reason` when the form declares none), so an API client can ask for it as the page does."""
    fields = form.get("fields", [])
    reasons = tasks.decision_reasons(fields)
    if not reasons:
        return form
    shown = [{**field, "reasonField": reasons[field["id"]]["id"]} if field["id"] in reasons else field
             for field in fields]
    declared = {field["id"] for field in fields}
    shown += [{**reason, "requiredWhen": {decision: False}} for decision, reason in reasons.items()
              if reason["id"] not in declared]
    return {**form, "fields": shown}


@router.get("/tasks")
def query(
    candidateGroup: list[str] | None = Query(None), candidateUser: str | None = None,  # noqa: N803
    assignee: str | None = None, processInstanceId: str | None = None,  # noqa: N803
    processKey: str | None = None, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),  # noqa: N803
    engine: Engine = Depends(get_engine), principal: Principal = Depends(require(WORK)),
) -> list[dict[str, Any]]:
    """Open tasks the caller may see (its groups', offered to it by name, or assigned to it), filtered."""
    stmt = tasks.query(candidate_groups=candidateGroup, candidate_user=candidateUser, assignee=assignee,
                       instance_id=processInstanceId, process_key=processKey)
    stmt = stmt.where(tasks_visible_to(principal)).limit(limit).offset(offset)
    with engine.db.read() as session:
        return [task_out(r) for r in session.scalars(stmt)]


def _offered(session: Any, task_id: str, principal: Principal, *, to_work: bool = False,
             row: UserTask | None = None) -> UserTask:
    """The task, if the caller may see it (and, to work on it, nobody else holds it); else 403."""
    row = row or tasks.get(session, task_id)
    if not may_see(principal, row):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"task {task_id} is not offered to {principal.name} or its groups")
    if to_work and not may_work_on(principal, row) and not may_assign_to_others(principal):
        raise HTTPException(status.HTTP_409_CONFLICT, f"task {task_id} is claimed by {row.assignee}")
    return row


@router.get("/tasks/{task_id}", responses={403: {"description": "the task is not offered to the caller"}})
def read(task_id: str, engine: Engine = Depends(get_engine), principal: Principal = Depends(require(WORK))) -> Any:
    with engine.db.read() as session:
        return task_out(_offered(session, task_id, principal))


@router.post("/tasks/{task_id}/claim", responses={403: {"description": "not offered, or claiming for another"}})
def claim(
    task_id: str, body: ClaimRequest | None = None, engine: Engine = Depends(get_engine),
    principal: Principal = Depends(require(WORK)),
) -> Any:
    user = (body.userId if body else None) or principal.name
    if user != principal.name and not may_assign_to_others(principal):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"only an admin may claim a task in another's name ({user})")

    def work(session: Any) -> dict[str, Any]:
        _offered(session, task_id, principal)
        return task_out(tasks.claim(session, task_id, user))

    return engine.command(work)


@router.post("/tasks/{task_id}/unclaim")
def unclaim(task_id: str, engine: Engine = Depends(get_engine), principal: Principal = Depends(require(WORK))) -> Any:
    def work(session: Any) -> dict[str, Any]:
        row = _offered(session, task_id, principal)
        if row.assignee not in (None, principal.name) and not may_assign_to_others(principal):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"task {task_id} is claimed by {row.assignee}: "
                                "only they or an admin may hand it back")
        return task_out(tasks.unclaim(session, task_id))

    return engine.command(work)


@router.post("/tasks/{task_id}/complete", responses={422: {"description": "form validation errors"},
                                                     403: {"description": "the task is not offered to the caller"}})
def complete(
    task_id: str, body: CompleteRequest | None = None, engine: Engine = Depends(get_engine),
    principal: Principal = Depends(require(WORK)),
) -> Any:
    with engine.db.read() as session:
        row = session.get(UserTask, task_id)
        if row is not None:  # gone: completing answers why (409 completed already, or 404)
            _offered(session, task_id, principal, to_work=True, row=row)
    # The assignee is checked again inside the completing transaction: a claim may have come in between.
    user = None if may_assign_to_others(principal) else principal.name
    row = tasks.complete(engine, task_id, (body or CompleteRequest()).variables, actor=principal.name, user=user)
    return instance_out(row)
