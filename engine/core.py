"""The engine object every command works through: database, handler registry, clock, specs, state."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from taktflow.engine import clock as engine_clock
from taktflow.engine.clock import Clock, SystemClock
from taktflow.engine.errors import Conflict, NotFound
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.handlers import registry as default_registry
from taktflow.engine.runtime import InstanceRun
from taktflow.engine.store.db import Database
from taktflow.engine.store.models import InstanceState, ProcessDefinition, ProcessInstance
from taktflow.engine.store.state import Specs, StateSerializer

T = TypeVar("T")


class StaleInstance(Conflict):
    """The optimistic version check failed: retrying the whole command is safe."""


class Engine:
    def __init__(
        self, database: Database, registry: HandlerRegistry | None = None, clock: Clock | None = None,
        spec_cache_size: int = 256, script_globals: dict[str, Any] | None = None,
    ) -> None:
        self.db = database
        self.registry = registry if registry is not None else default_registry
        self.clock: Clock = clock or SystemClock()
        self.serializer = StateSerializer()
        self._specs: OrderedDict[int, Specs] = OrderedDict()
        self._spec_cache_size = spec_cache_size
        # Extra names visible to model scripts (functions a deployment's scripts may call).
        self.script_globals = dict(script_globals or {})

    # --- specs ---------------------------------------------------------------------------------------

    def specs(self, definition: ProcessDefinition) -> Specs:
        """Parsed specs of a definition, deserialized once per process (they never change)."""
        cached = self._specs.get(definition.id)
        if cached is None:
            cached = self.serializer.specs_from_dict(definition.spec)
            self._specs[definition.id] = cached
            if len(self._specs) > self._spec_cache_size:
                self._specs.popitem(last=False)
        else:
            self._specs.move_to_end(definition.id)
        return cached

    # --- instances -----------------------------------------------------------------------------------

    def new_run(
        self, session: Session, definition: ProcessDefinition, *, business_key: str | None,
        variables: dict[str, Any], actor: str | None, idempotency_key: str | None = None,
    ) -> InstanceRun:
        spec, subprocess_specs = self.specs(definition)
        workflow = BpmnWorkflow(spec, subprocess_specs)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        row = ProcessInstance(
            id=str(uuid.uuid4()), definition_id=definition.id, process_key=definition.key,
            business_key=business_key, state="active", version=1, idempotency_key=idempotency_key,
            started_by=actor, started_at=self.clock.now(), variables={}, active_elements=[],
        )
        return InstanceRun(self, session, row, workflow, actor, is_new=True)

    def load_run(self, session: Session, instance_id: str, actor: str | None) -> InstanceRun:
        if self.db.is_sqlite:
            # The row and its state in one query: the command already holds the write lock (BEGIN IMMEDIATE).
            found = session.execute(
                select(ProcessInstance, InstanceState.state)
                .outerjoin(InstanceState, InstanceState.instance_id == ProcessInstance.id)
                .where(ProcessInstance.id == instance_id)
            ).one_or_none()
            row, blob = found if found is not None else (None, None)
        else:
            # Lock the row first, then read the state: a command that waited for the lock reads the state the
            # one before it committed (a joined read would see the state from before the wait).
            row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update())
            blob = None if row is None else session.scalar(
                select(InstanceState.state).where(InstanceState.instance_id == instance_id))
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        specs = self._specs.get(row.definition_id)  # cached: no need to read the definition again
        if specs is None:
            specs = self.specs(session.get(ProcessDefinition, row.definition_id))
        workflow = self.serializer.loads_workflow(blob, specs)
        return InstanceRun(self, session, row, workflow, actor)

    def finish(self, run: InstanceRun) -> None:
        """Save the run, then hand what it threw (signals, messages) to the instances waiting for it."""
        from taktflow.engine import events  # events builds on this module

        try:
            run.save()
        except Conflict as exc:
            raise StaleInstance(str(exc)) from exc
        outgoing, run.outgoing = run.outgoing, []
        for item in outgoing:
            events.route_thrown(self, run.session, item, source=run)

    # --- transactions --------------------------------------------------------------------------------

    def command(self, work: Callable[[Session], T], *, attempts: int = 3) -> T:
        """Run `work` in one write transaction; a lost race with another command is retried from scratch."""
        for attempt in range(1, attempts + 1):
            try:
                with self.db.write() as session, engine_clock.using(self.clock):
                    return work(session)
            except StaleInstance:
                if attempt == attempts:
                    raise
            except DBAPIError as exc:
                if attempt == attempts or not _is_retryable(exc):
                    raise
        raise AssertionError("unreachable")


def _is_retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)
