"""External tasks: service tasks with no in-process handler, worked by API clients (Camunda's pattern)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine import jobs
from taktflow.engine.core import Engine
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.instances import instance_out
from taktflow.web.api.params import Count, Variables
from taktflow.web.auth.service import WORK, Principal

router = APIRouter(tags=["external tasks"])

# A lock or retry delay beyond this is a typo, not a plan (and overflows the timestamp it is added to).
MAX_LOCK_MS = 30 * 24 * 3600 * 1000


class Topic(BaseModel):
    name: str = Field(min_length=1)
    lockDuration: int = Field(gt=0, le=MAX_LOCK_MS, description="milliseconds, at most 30 days")  # noqa: N815 - Camunda's REST names


class FetchAndLock(BaseModel):
    workerId: str = Field(min_length=1)  # noqa: N815
    maxTasks: int = Field(default=1, ge=1, le=1000)  # noqa: N815
    topics: list[Topic]


class Complete(BaseModel):
    workerId: str = Field(min_length=1)  # noqa: N815
    variables: Variables = Field(default_factory=dict)


class Failure(BaseModel):
    workerId: str = Field(min_length=1)  # noqa: N815
    errorMessage: str = "failed"  # noqa: N815
    errorDetails: str | None = None  # noqa: N815
    retries: Count = 0
    retryTimeout: int = Field(default=0, ge=0, le=MAX_LOCK_MS, description="milliseconds, at most 30 days")  # noqa: N815


class BpmnErrorBody(BaseModel):
    workerId: str = Field(min_length=1)  # noqa: N815
    errorCode: str = Field(min_length=1)  # noqa: N815
    errorMessage: str = ""  # noqa: N815
    variables: Variables = Field(default_factory=dict)


@router.post("/external-tasks/fetch-and-lock")
def fetch_and_lock(body: FetchAndLock, engine: Engine = Depends(get_engine),
                   _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    locked = jobs.fetch_and_lock(engine, body.workerId, [t.model_dump() for t in body.topics], body.maxTasks)
    return [
        {"id": item.task.id, "topicName": item.task.topic, "workerId": item.task.worker_id,
         "lockExpirationTime": item.task.lock_expires_at, "processInstanceId": item.task.instance_id,
         "processKey": item.task.process_key, "businessKey": item.task.business_key,
         "elementId": item.task.element_id, "retries": item.task.retries, "variables": item.variables}
        for item in locked
    ]


@router.post("/external-tasks/{task_id}/complete")
def complete(task_id: str, body: Complete, engine: Engine = Depends(get_engine),
             _: Principal = Depends(require(WORK))) -> Any:
    return instance_out(jobs.complete_external(engine, task_id, body.workerId, body.variables))


@router.post("/external-tasks/{task_id}/failure")
def failure(task_id: str, body: Failure, engine: Engine = Depends(get_engine),
            _: Principal = Depends(require(WORK))) -> Any:
    row = jobs.fail_external(engine, task_id, body.workerId, error_message=body.errorMessage,
                             error_details=body.errorDetails, retries=body.retries,
                             retry_timeout_ms=body.retryTimeout)
    return {"id": row.id, "retries": row.retries, "errorMessage": row.error_message}


@router.post("/external-tasks/{task_id}/bpmn-error")
def bpmn_error(task_id: str, body: BpmnErrorBody, engine: Engine = Depends(get_engine),
               _: Principal = Depends(require(WORK))) -> Any:
    return instance_out(jobs.bpmn_error_external(engine, task_id, body.workerId, error_code=body.errorCode,
                                                 error_message=body.errorMessage, variables=body.variables))
