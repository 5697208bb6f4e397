"""Helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from taktflow.engine import instances, tasks
from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import DeployedDefinition, ModelFile, deploy
from taktflow.engine.handlers import HandlerContext
from taktflow.engine.store.models import ProcessInstance, UserTask

MODELS = Path(__file__).resolve().parent.parent / "models"


def model(name: str) -> ModelFile:
    return ModelFile(name, (MODELS / name).read_bytes())


def deploy_models(engine: Engine, *names: str | ModelFile) -> list[DeployedDefinition]:
    files = [n if isinstance(n, ModelFile) else model(n) for n in names]
    result = engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer))
    return result.definitions


def instance_row(engine: Engine, instance_id: str) -> ProcessInstance:
    with engine.db.read() as session:
        return instances.get(session, instance_id)


def open_user_tasks(engine: Engine, instance_id: str) -> list[UserTask]:
    with engine.db.read() as session:
        return list(session.scalars(select(UserTask).where(UserTask.instance_id == instance_id)
                                    .order_by(UserTask.created_at, UserTask.id)))


def complete_user_task(engine: Engine, instance_id: str, element_id: str,
                       variables: dict[str, Any] | None = None) -> ProcessInstance:
    """Complete the oldest open user task of an instance at `element_id` (one of a multi-instance's)."""
    task = next(t for t in open_user_tasks(engine, instance_id) if t.element_id == element_id)
    return tasks.complete(engine, task.id, variables or {})


def record_when_committed(ctx: HandlerContext, calls: list[Any], call: Any) -> None:
    """Append `call` to `calls` once the handler's command commits. A command runs its handlers again when it
    runs again (it stopped for a script to run outside its transaction, or lost a race): what counts is what
    committed, as with the handler's bookings."""
    session = ctx.session
    recorded: list[bool] = []

    def committed(_session: Any) -> None:
        # A released savepoint (the handler's own) fires after_commit too: only the command's commit counts.
        if not recorded and not session.in_nested_transaction():
            recorded.append(True)
            calls.append(call)

    event.listen(session, "after_commit", committed)
