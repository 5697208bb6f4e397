"""Append-only audit of everything that happened to an instance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.store.models import HistoryEvent


def event(
    instance_id: str, at: datetime, actor: str | None, kind: str, *, element_id: str | None = None,
    element_name: str | None = None, task_id: str | None = None, data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {"instance_id": instance_id, "at": at, "actor": actor, "kind": kind, "element_id": element_id,
            "element_name": element_name, "task_id": task_id, "data": data}


def append(session: Session, events: list[dict[str, Any]]) -> None:
    # render_nulls: events with different empty fields still go in one batched INSERT, not one each.
    session.connection().execute(_INSERT, events)


_INSERT = HistoryEvent.__table__.insert()


def of_instance(session: Session, instance_id: str) -> list[HistoryEvent]:
    return list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)
    ))
