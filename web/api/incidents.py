"""Incidents: what failed and could not be retried automatically; operators retry them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from taktflow.engine import jobs
from taktflow.engine.core import Engine
from taktflow.engine.store.models import Incident
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(tags=["incidents"])


def incident_out(row: Incident) -> dict[str, Any]:
    return {"id": row.id, "processInstanceId": row.instance_id, "elementId": row.element_id, "taskId": row.task_id,
            "kind": row.kind, "message": row.message, "stacktrace": row.stacktrace, "created": row.created_at,
            "resolved": row.resolved_at}


@router.get("/incidents")
def query(processInstanceId: str | None = None, engine: Engine = Depends(get_engine),  # noqa: N803
          _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [incident_out(r) for r in session.scalars(jobs.open_incidents(processInstanceId))]


@router.post("/incidents/{incident_id}/retry")
def retry(incident_id: RowId, engine: Engine = Depends(get_engine),
          principal: Principal = Depends(require(OPERATE))) -> Any:
    return incident_out(jobs.retry_incident(engine, incident_id, actor=principal.name))
