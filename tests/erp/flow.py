"""Driving the ERP processes in tests like a user would: open tasks, complete them, send messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from taktflow.engine import instances, tasks
from taktflow.engine.core import Engine
from taktflow.engine.store.models import Incident, UserTask


def instance(engine: Engine, instance_id: str) -> Any:
    with engine.db.read() as session:
        return instances.get(session, instance_id)


def open_tasks(engine: Engine, instance_id: str) -> list[str]:
    with engine.db.read() as session:
        return sorted(session.scalars(select(UserTask.element_id).where(UserTask.instance_id == instance_id)))


def complete(engine: Engine, instance_id: str, element_id: str, variables: dict[str, Any] | None = None,
             user: str = "tester") -> Any:
    """Complete the open user task `element_id` of the instance; fails if it is not open."""
    with engine.db.read() as session:
        task_id = session.scalar(select(UserTask.id).where(UserTask.instance_id == instance_id,
                                                           UserTask.element_id == element_id))
        incidents = [i.message for i in session.scalars(select(Incident).where(Incident.instance_id == instance_id))]
    assert task_id is not None, f"no open task {element_id}; open: {open_tasks(engine, instance_id)}; {incidents}"
    return tasks.complete(engine, task_id, variables or {}, actor=user)


def incidents(engine: Engine, instance_id: str) -> list[str]:
    with engine.db.read() as session:
        return [i.message for i in session.scalars(select(Incident).where(Incident.instance_id == instance_id))]
