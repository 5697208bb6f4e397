"""The engine object every command works through: database, handler registry, clock, specs, state.

It keeps the parsed specs of every definition it ran, and the workflows of the instances its last commands
saved (as Temporal keeps "sticky" workflow state in its workers): a command on an instance whose stored
version is the one this process saved last continues from that workflow instead of deserializing the task
tree. Only what a committed command saved is kept; a command takes its instance out while it runs, so a
command that fails leaves nothing half-changed behind, and another process's save changes the version.
Both caches are shared by the threads of a server: one lock guards them (held for dictionary work only).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from taktflow.engine import clock as engine_clock
from taktflow.engine import sandbox
from taktflow.engine.clock import Clock, SystemClock
from taktflow.engine.errors import Conflict, NotFound
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.handlers import registry as default_registry
from taktflow.engine.runtime import SAVED_RUNS, InstanceRun, load_definition
from taktflow.engine.store.db import Database
from taktflow.engine.store.models import InstanceState, ProcessDefinition, ProcessInstance
from taktflow.engine.store.state import Specs, StateSerializer

T = TypeVar("T")


@dataclass(frozen=True)
class _KeptWorkflow:
    """An instance's workflow as a committed command saved it."""

    version: int
    workflow: BpmnWorkflow
    saved_states: dict[uuid.UUID, TaskState]  # one entry per task: its size, in tasks

    @property
    def tasks(self) -> int:
        return len(self.saved_states)


class StaleInstance(Conflict):
    """The optimistic version check failed: retrying the whole command is safe."""


class Engine:
    def __init__(
        self, database: Database, registry: HandlerRegistry | None = None, clock: Clock | None = None,
        spec_cache_size: int = 256, script_globals: dict[str, Any] | None = None,
        kept_tasks: int = 20_000,
    ) -> None:
        self.db = database
        self.registry = registry if registry is not None else default_registry
        self.clock: Clock = clock or SystemClock()
        self.serializer = StateSerializer()
        self._specs: OrderedDict[int, Specs] = OrderedDict()
        self._spec_cache_size = spec_cache_size
        self._kept: OrderedDict[str, _KeptWorkflow] = OrderedDict()  # by instance id, least recently saved first
        # Budget of the kept workflows, in tasks (2-5 KB each in memory: an order-to-cash instance has ~20, a
        # 300-line multi-instance ~300): about 40-100 MB whatever the mix.
        self._kept_tasks_budget = kept_tasks
        self._kept_tasks = 0
        self._lock = threading.Lock()  # guards _specs, _kept and _kept_tasks
        # Extra names visible to model scripts (functions a deployment's scripts may call).
        self.script_globals = dict(script_globals or {})

    # --- specs ---------------------------------------------------------------------------------------

    def specs(self, definition: ProcessDefinition) -> Specs:
        """Parsed specs of a definition, deserialized once per process (they never change)."""
        with self._lock:
            cached = self._specs.get(definition.id)
            if cached is not None:
                self._specs.move_to_end(definition.id)
                return cached
        parsed = self.serializer.specs_from_dict(definition.spec)  # outside the lock: it takes a while
        with self._lock:
            cached = self._specs.setdefault(definition.id, parsed)
            if len(self._specs) > self._spec_cache_size:
                self._specs.popitem(last=False)
        return cached

    def specs_of(self, session: Session, definition_id: int) -> Specs:
        """Parsed specs by definition id: from the cache, or read and deserialized once."""
        with self._lock:
            cached = self._specs.get(definition_id)
        return cached if cached is not None else self.specs(load_definition(session, definition_id))

    @property
    def kept_tasks(self) -> int:
        """Tasks of the workflows kept in memory (bounded by `kept_tasks` at construction)."""
        return self._kept_tasks

    # --- instances -----------------------------------------------------------------------------------

    def new_run(
        self, session: Session, definition_id: int, key: str, *, business_key: str | None,
        variables: dict[str, Any], actor: str | None, idempotency_key: str | None = None,
        idempotency_request_hash: str | None = None,
    ) -> InstanceRun:
        spec, subprocess_specs = self.specs_of(session, definition_id)
        workflow = BpmnWorkflow(spec, subprocess_specs)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        row = ProcessInstance(
            id=str(uuid.uuid4()), definition_id=definition_id, process_key=key,
            business_key=business_key, state="active", version=1, idempotency_key=idempotency_key,
            idempotency_request_hash=idempotency_request_hash,
            started_by=actor, started_at=self.clock.now(), variables={}, active_elements=[],
        )
        return InstanceRun(self, session, row, workflow, actor, is_new=True)

    def load_run(self, session: Session, instance_id: str, actor: str | None) -> InstanceRun:
        # Lock the row first (PostgreSQL; SQLite's write transaction holds its lock already), then read the
        # state: a command that waited for the lock reads what the one before it committed.
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update())
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        kept = self._forget(instance_id)  # out while this command runs: a failure must not leave it dirty
        if kept is not None and kept.version == row.version:
            return InstanceRun(self, session, row, kept.workflow, actor, saved_states=kept.saved_states)
        blob = session.scalar(select(InstanceState.state).where(InstanceState.instance_id == instance_id))
        workflow = self.serializer.loads_workflow(blob, self.specs_of(session, row.definition_id))
        return InstanceRun(self, session, row, workflow, actor)

    def _keep(self, runs: dict[str, InstanceRun]) -> None:
        """After a commit: keep the workflows the command saved, while their instances can still move."""
        with self._lock:
            for instance_id, run in runs.items():
                self._drop(instance_id)
                kept = _KeptWorkflow(run.row.version, run.workflow, run.saved_states)
                if run.row.state in ("completed", "cancelled") or kept.tasks > self._kept_tasks_budget:
                    continue
                self._kept[instance_id] = kept
                self._kept_tasks += kept.tasks
                while self._kept_tasks > self._kept_tasks_budget:
                    self._drop(next(iter(self._kept)))

    def _forget(self, instance_id: str) -> _KeptWorkflow | None:
        with self._lock:
            return self._drop(instance_id)

    def _drop(self, instance_id: str) -> _KeptWorkflow | None:
        kept = self._kept.pop(instance_id, None)  # the caller holds the lock
        if kept is not None:
            self._kept_tasks -= kept.tasks
        return kept

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
        """Run `work` in one write transaction; a lost race with another command, or a connection that broke
        before the commit (a database restart), is retried from scratch. A model script the work reaches runs
        with no transaction open (sandbox.py): the work stops there, the script runs, and the work runs again
        with its answer, as often as it reaches a new script."""
        scripts = sandbox.ScriptsOfCommand()
        attempt = 1
        while True:
            try:
                with sandbox.scripts_of(scripts), self.db.write() as session, engine_clock.using(self.clock):
                    result = work(session)
                self._keep(session.info.pop(SAVED_RUNS, {}))  # committed
                return result
            except sandbox.ScriptOutsideTransaction as waiting:
                waiting.run()  # rolled back: nothing of the command is held or kept while the script runs
                continue
            except StaleInstance:
                if attempt == attempts:
                    raise
            except DBAPIError as exc:  # a broken COMMIT comes as CommitInDoubt, never retried
                if attempt == attempts or not (_is_retryable(exc) or exc.connection_invalidated):
                    raise
            attempt += 1


def _is_retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)
