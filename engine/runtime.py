"""What runs: one process instance loaded inside one command's transaction.

A command (start, complete task, correlate message, fire timer, run job, ...) loads the instance,
advances SpiffWorkflow until every path waits, runs the service-task handlers it passes through, then
saves the state once together with the rows derived from it (user tasks, subscriptions, timers,
external tasks, incidents, history). The caller's transaction commits all of it or none of it.
"""

from __future__ import annotations

import json
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition, SignalEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import String, bindparam, cast, event, exists, literal, null, select, union_all
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.base import instance_dict

from taktflow.engine import async_continuations, event_subprocesses, history
from taktflow.engine.definitions.parser import TaktflowServiceTask
from taktflow.engine.errors import Conflict, EngineError, NotFound
from taktflow.engine.handlers import BpmnError, HandlerContext
from taktflow.engine.scripting import TaktflowScriptEngine
from taktflow.engine.stepping import do_engine_steps
from taktflow.engine.store.models import (
    ExternalTask,
    Incident,
    InstanceState,
    Job,
    ProcessDefinition,
    ProcessInstance,
    Subscription,
    TaskCandidate,
    UserTask,
)
from taktflow.engine.store.state import SERIALIZER_VERSION, JsonView, to_json_safe
from taktflow.engine.task_tree import prune_finished_chains
from taktflow.engine.tasks import user_task_row

if TYPE_CHECKING:
    from taktflow.engine.core import Engine

IN_HANDLER = "taktflow_handler"
SAVED_RUNS = "taktflow_saved_runs"  # session.info: the runs a command saved, by instance id (the engine keeps them)
ACTIVE_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED
DEFAULT_MAX_ATTEMPTS = 3
RETRY_BACKOFF = timedelta(seconds=10)


@dataclass
class Outgoing:
    """An event the instance threw that SpiffWorkflow could not deliver inside it."""

    kind: str  # message | signal
    name: str
    payload: dict[str, Any]


@dataclass
class _Failure:
    task: Task
    error: BaseException
    stack: str


def _task_element(task: Task) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


def _bpmn_error_in(exc: BaseException) -> BpmnError | None:
    """The BpmnError a script raised; SpiffWorkflow wraps it (WorkflowTaskException, raised while handling it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, BpmnError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _payload_dict(payload: Any) -> dict[str, Any]:
    return dict(payload) if isinstance(payload, dict) else ({} if payload is None else {"payload": payload})


@dataclass
class InstanceRun:
    engine: Engine
    session: Session
    row: ProcessInstance
    workflow: BpmnWorkflow
    actor: str | None
    is_new: bool = False
    # Set by commands whose caller supplied the input (start an instance, complete a user task): a handler that
    # refuses that input with a 4xx error refuses the whole command, so the caller gets the error and nothing is
    # committed. Elsewhere (jobs, timers, messages) nobody could correct it, so it is a failure with retries.
    refuse_bad_input: bool = False
    outgoing: list[Outgoing] = field(default_factory=list)
    # Each task's state as last saved (or loaded): what changed since is this command's history.
    saved_states: dict[uuid.UUID, TaskState] = field(default_factory=dict)
    _bpmn_errors: list[tuple[Task, BpmnError]] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _incidents: list[Incident] = field(default_factory=list)
    _history: list[dict[str, Any]] = field(default_factory=list)
    _cancel_reason: str | None = None
    _derived: dict[type[Any], list[Any]] = field(default_factory=dict)  # derived rows read during one save

    def __post_init__(self) -> None:
        event_subprocesses.install(self.workflow)
        self.workflow.script_engine = TaktflowScriptEngine(
            service_dispatch=self._dispatch_service_task, extra_globals=self.engine.script_globals
        )
        if not self.is_new and not self.saved_states:
            self.saved_states = {t.id: t.state for t in self._all_tasks()}

    # --- reading the tree ------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.engine.clock.now()

    def _all_tasks(self) -> list[Task]:
        """Every task of the instance, subprocesses included, in the order they were created: from the flat
        task dictionaries (walking the tree costs an iterator step per task and per filter)."""
        tasks = list(self.workflow.tasks.values())
        for subprocess in self.workflow.subprocesses.values():
            tasks.extend(subprocess.tasks.values())
        return tasks

    def task(self, task_id: str) -> Task:
        try:
            task = self.workflow.get_task_from_id(uuid.UUID(task_id))
        except Exception:  # Spiff raises its own TaskNotFoundException
            task = None
        if task is None:
            raise NotFound(f"task {task_id} is not part of instance {self.row.id}")
        return task

    # --- advancing -------------------------------------------------------------------------------------

    def advance(self) -> None:
        """Run every path until it waits; handle what the handlers and the model threw on the way."""
        for _ in range(10_000):  # a model cannot spin the engine forever
            try:
                do_engine_steps(self.workflow)
            except SpiffWorkflowException as exc:
                self._script_incident(exc)
                continue
            progressed = self._throw_bpmn_errors()
            for thrown in self.workflow.get_events():
                progressed |= self._route_event(thrown)
            if not progressed:
                return
        raise RuntimeError(f"instance {self.row.id} did not come to rest")

    def _script_incident(self, exc: SpiffWorkflowException) -> None:
        task = getattr(exc, "task", None)
        error = _bpmn_error_in(exc)
        if error is not None and task is not None:
            # A script (or condition) raised BpmnError: thrown at its task, as a handler's is. Caught by an error
            # boundary event there, the task is cancelled; uncaught, it stays failed with an incident.
            task._set_state(TaskState.STARTED)
            if self.throw_bpmn_error(task, error.code, error.message, error.variables):
                return
            task._set_state(TaskState.ERROR)
            self._new_incident(
                "uncaught_bpmn_error",
                f"BPMN error {error.code!r} raised by the script of {_task_element(task)} is not caught by any "
                f"error boundary event{': ' + error.message if error.message else ''}",
                task, stack="".join(traceback.format_exception(exc)),
            )
            return
        self._new_incident(
            "script_error", f"{type(exc).__name__}: {_exception_text(exc)}", task,
            stack="".join(traceback.format_exception(exc)),
        )

    def _throw_bpmn_errors(self) -> bool:
        progressed = False
        while self._bpmn_errors:
            task, err = self._bpmn_errors.pop(0)
            if self.throw_bpmn_error(task, err.code, err.message, err.variables):
                progressed = True
            else:
                self._new_incident(
                    "uncaught_bpmn_error",
                    f"BPMN error {err.code!r} thrown by {_task_element(task)} is not caught by any "
                    f"error boundary event{': ' + err.message if err.message else ''}",
                    task,
                )
        return progressed

    def throw_bpmn_error(self, task: Task, code: str, message: str, variables: dict[str, Any]) -> bool:
        """Deliver a business error to an error boundary event attached to `task`. False if none catches."""
        event = BpmnEvent(
            ErrorEventDefinition(code, code=code),
            payload={**variables, "errorCode": code, "errorMessage": message},
        )
        parent = task.parent
        for sibling in parent.children if parent is not None else []:
            if sibling is task or not isinstance(sibling.task_spec, CatchingEvent):
                continue
            if sibling.task_spec.catches(sibling, event):
                sibling.data.update(event.payload)  # Spiff passes the payload on only to a named variable
                sibling.task_spec.catch(sibling, event)
                sibling.task_spec._update(sibling)
                self._record("bpmn_error_caught", task, {"errorCode": code, "message": message})
                return True
        return False

    def _route_event(self, event: BpmnEvent) -> bool:
        definition = event.event_definition
        if isinstance(definition, ErrorEventDefinition):
            if self._error_caught_inside(definition):
                return False
            self._new_incident(
                "uncaught_bpmn_error",
                f"BPMN error {definition.code or definition.name!r} reached the top of the process uncaught",
                None,
            )
        elif isinstance(definition, SignalEventDefinition):
            self.outgoing.append(Outgoing("signal", definition.name, _payload_dict(event.payload)))
        elif isinstance(definition, MessageEventDefinition):
            self.outgoing.append(Outgoing("message", definition.name, _payload_dict(event.payload)))
        return False

    def _error_caught_inside(self, definition: ErrorEventDefinition) -> bool:
        """SpiffWorkflow also reports an error that an event subprocess's error start event caught.
        It was caught if an error catch event matching it fired during this command."""
        for task in self._all_tasks():
            spec = task.task_spec
            if (isinstance(spec, CatchingEvent) and isinstance(spec.event_definition, ErrorEventDefinition)
                    and task.state in (TaskState.READY, TaskState.COMPLETED)
                    and self.saved_states.get(task.id) != task.state
                    and spec.event_definition.code in (None, "", definition.code)):
                return True
        return False

    # --- service tasks ---------------------------------------------------------------------------------

    def _dispatch_service_task(self, task: Task) -> bool | None:
        handler = self.engine.registry.get(task.task_spec.handler_name)
        if handler is None:
            return None  # an external task: saved below, worked by an API client
        if async_continuations.wait_before(task):
            return None  # asyncBefore: a job runs the handler after this command commits
        return self.run_handler(task, attempt=1)

    def run_handler(self, task: Task, attempt: int) -> bool | None:
        if async_continuations.handler_ran(task):
            return True  # asyncAfter: the handler's result is committed; only the completion was left
        spec: TaktflowServiceTask = task.task_spec
        handler = self.engine.registry.get(spec.handler_name)
        if handler is None:
            raise Conflict(f"no handler named {spec.handler_name!r} is registered")
        try:
            params = {name: p["value"] for name, p in spec.evaluate_params(task).items()}
            savepoint = _HandlerSavepoint(self.session)
            ctx = HandlerContext(
                instance_id=self.row.id, business_key=self.row.business_key, process_key=self.row.process_key,
                element_id=spec.bpmn_id, task_id=str(task.id), variables=JsonView(task.data),
                parameters=params, open_session=savepoint.open, now=self.now, actor=self.actor, attempt=attempt,
                extensions=getattr(spec, "extensions", {}) or {}, engine=self.engine,
            )
            self.session.info[IN_HANDLER] = spec.handler_name
            try:
                try:
                    output = handler(ctx)
                finally:
                    self.session.info.pop(IN_HANDLER, None)
                savepoint.release()
            except BaseException:
                savepoint.rollback()
                raise
        except BpmnError as err:
            self._bpmn_errors.append((task, err))
            return None
        except Exception as exc:  # noqa: BLE001 - any other handler failure becomes a retry job
            if isinstance(exc, EngineError) and exc.status_code < 500 and self.refuse_bad_input:
                raise  # the caller's input was refused: so is the command
            self._failures.append(_Failure(task, exc, "".join(traceback.format_exception(exc))))
            return None
        if output:
            task.data.update(output)
            if spec.result_variable and not spec.result_variable.startswith("spiff__"):
                task.data[spec.result_variable] = dict(output)
        if async_continuations.wait_after(task):
            return None  # asyncAfter: a job completes the task after this command commits
        return True

    def cancel(self, reason: str | None) -> None:
        self.workflow.cancel()
        self.row.state = "cancelled"
        self._cancel_reason = reason or ""

    def complete_started_task(self, task: Task, variables: dict[str, Any] | None) -> None:
        """Finish a STARTED service task (external worker done, retried handler succeeded)."""
        if variables:
            task.data.update(variables)
        task.complete()

    # --- incidents -------------------------------------------------------------------------------------

    def _new_incident(
        self, kind: str, message: str, task: Task | None, stack: str | None = None, job_id: int | None = None
    ) -> Incident:
        incident = Incident(
            instance_id=self.row.id, task_id=str(task.id) if task is not None else None,
            element_id=_task_element(task) if task is not None else None, kind=kind, message=message[:4000],
            stacktrace=stack, job_id=job_id, created_at=self.now,
        )
        # Added in save(), once the instance row exists.
        self._incidents.append(incident)
        self._record("incident_created", task, {"kind": kind, "message": message[:1000]})
        return incident

    # --- saving ----------------------------------------------------------------------------------------

    def _record(self, kind: str, task: Task | None, data: dict[str, Any] | None = None) -> None:
        self._history.append(history.event(
            self.row.id, self.now, self.actor, kind,
            element_id=_task_element(task) if task is not None else None,
            element_name=getattr(task.task_spec, "bpmn_name", None) if task is not None else None,
            task_id=str(task.id) if task is not None else None,
            data=data,
        ))

    def record(self, kind: str, data: dict[str, Any] | None = None, task: Task | None = None) -> None:
        self._record(kind, task, data)

    def save(self) -> None:
        """Write state and derived rows; bump the version or lose to whoever bumped it first."""
        wf = self.workflow
        tasks = self._all_tasks()
        retry_jobs = self._plan_retries()
        self._history_of_changes(tasks)
        active = [t for t in tasks if t.has_state(ACTIVE_STATES) and _task_element(t)
                  and not isinstance(t.task_spec, BoundaryEvent)]  # a boundary event waits on its activity
        state = self._instance_state()
        variables = to_json_safe(self._visible_data(active))
        active_elements = sorted({_task_element(t) for t in active})
        ended_at = self.now if state in ("completed", "cancelled") else None
        prune_finished_chains(wf)  # after the history of this command was taken from the tree
        blob = self.engine.serializer.dumps_workflow(wf)

        if self.is_new:
            row = self.row
            row.state, row.variables, row.active_elements = state, variables, active_elements
            row.ended_at, row.version = ended_at, 1
            # Core INSERTs, no unit of work: then the row joins the session as if it had been loaded.
            insert_rows(self.session, [row, InstanceState(
                instance_id=row.id, serializer_version=SERIALIZER_VERSION, state=blob
            )])
            make_transient_to_detached(row)
            self.session.add(row)
        else:
            connection = self.session.connection()
            result = connection.execute(_UPDATE_INSTANCE, {
                "p_id": self.row.id, "p_version": self.row.version, "version": self.row.version + 1,
                "state": state, "variables": variables, "active_elements": active_elements, "ended_at": ended_at,
            })
            if result.rowcount != 1:
                raise Conflict(f"instance {self.row.id} was changed by another command; try again")
            connection.execute(_UPDATE_STATE, {"p_id": self.row.id, "state": blob,
                                               "serializer_version": SERIALIZER_VERSION})
            # Written above already: set on the loaded row as committed, so the flush does not UPDATE again.
            for name, value in (("version", self.row.version + 1), ("state", state), ("variables", variables),
                                ("active_elements", active_elements), ("ended_at", ended_at)):
                set_committed_value(self.row, name, value)
        for job, incident in retry_jobs:
            self.session.add(job)
            if incident is not None:
                self.session.flush()
                incident.job_id = job.id
        self.session.add_all(self._incidents)
        self._incidents = []
        self._sync_derived_rows(tasks)
        if self._history:
            history.append(self.session, self._history)
            self._history = []
        self.saved_states = {t.id: t.state for t in self._all_tasks()}  # what is left after pruning
        self.is_new = False
        self.session.info.setdefault(SAVED_RUNS, {})[self.row.id] = self

    def _instance_state(self) -> str:
        if self.row.state == "cancelled":
            return "cancelled"
        if self._incidents or self._has_open_incident():
            return "incident"
        return "completed" if self.workflow.is_completed() else "active"

    def _has_open_incident(self) -> bool:
        if self.is_new or self.row.state != "incident":  # an open incident always puts its instance in "incident"
            return False
        return self.session.scalar(
            select(Incident.id).where(Incident.instance_id == self.row.id, Incident.resolved_at.is_(None)).limit(1)
        ) is not None

    def _start_variables(self) -> dict[str, Any]:
        return dict(self.workflow.task_tree.children[0].data) if self.workflow.task_tree.children else {}

    def _visible_data(self, active: list[Task]) -> dict[str, Any]:
        if not active:
            last = self.workflow.last_task
            return dict(last.data) if last is not None else {}
        merged: dict[str, Any] = {}
        for task in active:
            merged.update(task.data)
        return merged

    def _plan_retries(self) -> list[tuple[Job, Incident | None]]:
        """A failed handler: its retry job, due after the backoff, or an incident once retries are used up."""
        planned: list[tuple[Job, Incident | None]] = []
        for failure in self._failures:
            task = failure.task
            spec: TaktflowServiceTask = task.task_spec
            max_attempts = spec.retries + 1 if spec.retries is not None else DEFAULT_MAX_ATTEMPTS
            job = None if self.is_new else self.session.scalar(
                select(Job).where(Job.instance_id == self.row.id, Job.task_id == str(task.id),
                                  Job.kind == "service_task")
            )
            if job is None:
                job = Job(instance_id=self.row.id, task_id=str(task.id), element_id=spec.bpmn_id,
                          kind="service_task", attempts=0, max_attempts=max_attempts, created_at=self.now)
            job.attempts += 1
            job.last_error = f"{type(failure.error).__name__}: {failure.error}"[:4000]
            job.locked_by = job.lock_expires_at = None
            self._record("handler_failed", task, {"error": job.last_error, "attempt": job.attempts})
            incident = None
            if job.attempts >= job.max_attempts:
                job.due_at = None
                incident = self._new_incident("failed_job", job.last_error, task, stack=failure.stack)
            else:
                job.due_at = self.now + RETRY_BACKOFF * (2 ** (job.attempts - 1))
            planned.append((job, incident))
        self._failures = []
        return planned

    def _history_of_changes(self, tasks: list[Task]) -> None:
        before = self.saved_states
        if self.is_new:
            self._history.insert(0, history.event(
                self.row.id, self.row.started_at, self.actor, "instance_started",
                data={"businessKey": self.row.business_key, "variables": to_json_safe(self._start_variables())},
            ))
        # In the order things happened, not in task-tree order.
        for task in sorted(tasks, key=lambda t: t.last_state_change):
            element = _task_element(task)
            if element is None:
                continue
            old = before.get(task.id)
            if old == task.state:
                continue
            if task.state == TaskState.COMPLETED:
                data = None
                if task.parent is not None and (
                    task.task_spec.manual or isinstance(task.task_spec, TaktflowServiceTask)
                ):
                    data = to_json_safe(DeepMerge.get_updated_keys(task.parent.data, task.data)) or None
                self._record("element_completed", task, data)
            elif task.has_state(ACTIVE_STATES) and (old is None or not (old & ACTIVE_STATES)):
                self._record("element_activated", task)
            elif task.state == TaskState.CANCELLED and old is not None and old & ACTIVE_STATES:
                self._record("element_cancelled", task)
            elif task.state == TaskState.ERROR:
                self._record("element_failed", task)
        state = self._instance_state()
        if state == "completed" and self.row.state != "completed":
            self._record("instance_completed", None)
        if self._cancel_reason is not None:
            self._record("instance_cancelled", None, {"reason": self._cancel_reason} if self._cancel_reason else None)
            self._cancel_reason = None

    # --- derived rows ----------------------------------------------------------------------------------

    def _sync_derived_rows(self, tasks: list[Task]) -> None:
        finished = self.row.state in ("completed", "cancelled")
        self._derived = self._read_derived_rows()
        self._sync_user_tasks([] if finished else [
            t for t in tasks if t.state == TaskState.READY and t.task_spec.manual
        ])
        waiting = [] if finished else list(self.workflow.event_manager.tasks.values())
        self._sync_subscriptions(waiting)
        self._sync_timers(waiting)
        started = [] if finished else [
            t for t in tasks if t.state == TaskState.STARTED and isinstance(t.task_spec, TaktflowServiceTask)
        ]
        self._sync_service_tasks(started)
        async_continuations.sync_jobs(self, started)

    def _read_derived_rows(self) -> dict[type[Any], list[Any]]:
        """The instance's subscriptions, jobs and external tasks, and its user tasks' ids: one probe first, as
        most instances have no subscriptions, jobs or external tasks."""
        models = (Subscription, Job, ExternalTask)
        if self.is_new:
            self._user_task_ids: set[str] = set()
            return {model: [] for model in models}
        self.session.flush()  # what this command added or changed so far (the ORM's autoflush did this)
        user_tasks: set[str] = set()
        present: set[int] = set()
        for kind, task_id in self.session.connection().execute(_PROBE_DERIVED, {"p_id": self.row.id}):
            if kind == 0:
                user_tasks.add(task_id)
            else:
                present.add(kind)
        self._user_task_ids = user_tasks  # ids only: no candidates loaded
        return {model: list(self.session.scalars(select(model).where(model.instance_id == self.row.id)))
                if n in present else [] for n, model in enumerate(models, start=1)}

    def _existing(self, model: type[Any]) -> list[Any]:
        return self._derived[model]

    def _sync_user_tasks(self, ready: list[Task]) -> None:
        existing = self._user_task_ids
        wanted = {str(t.id): t for t in ready}
        gone = [task_id for task_id in existing if task_id not in wanted]
        if gone:
            # Their candidates go with them (ON DELETE CASCADE).
            self.session.connection().execute(_DELETE_USER_TASKS, {"p_ids": gone})
            _forget(self.session, UserTask, lambda row: row.id in gone)
            _forget(self.session, TaskCandidate, lambda row: row.task_id in gone)
        rows: list[Any] = []
        for task_id, task in wanted.items():
            if task_id not in existing:
                row = user_task_row(self.row, task, self.now)
                rows.append(row)
                for candidate in row.candidates:
                    candidate.task_id = row.id
                    rows.append(candidate)
        insert_rows(self.session, rows)

    def _sync_subscriptions(self, waiting: list[Task]) -> None:
        wanted: dict[tuple[str, str, str], Subscription] = {}
        for task in waiting:
            for kind, name in _catch_names(task.task_spec.event_definition):
                wanted[(str(task.id), kind, name)] = Subscription(
                    instance_id=self.row.id, task_id=str(task.id), element_id=_task_element(task) or "",
                    kind=kind, name=name, business_key=self.row.business_key,
                    correlation_key=correlation_key_of(task), created_at=self.now,
                )
        existing = {(s.task_id, s.kind, s.name): s for s in self._existing(Subscription)}
        for key, sub in existing.items():
            if key not in wanted:
                self.session.delete(sub)
        insert_rows(self.session, [sub for key, sub in wanted.items() if key not in existing])

    def _sync_timers(self, waiting: list[Task]) -> None:
        wanted: dict[str, tuple[Task, datetime]] = {}
        for task in waiting:
            due = timer_due(task)
            if due is not None:
                wanted[str(task.id)] = (task, due)
        existing = {j.task_id: j for j in self._existing(Job) if j.kind == "timer"}
        for task_id, job in existing.items():
            if task_id not in wanted:
                self.session.delete(job)
        new: list[Job] = []
        for task_id, (task, due) in wanted.items():
            job = existing.get(task_id)
            if job is None:
                new.append(Job(
                    instance_id=self.row.id, task_id=task_id, element_id=_task_element(task) or "",
                    kind="timer", due_at=due, attempts=0, max_attempts=DEFAULT_MAX_ATTEMPTS, created_at=self.now,
                ))
            elif job.due_at != due or job.locked_by is not None:
                job.due_at, job.locked_by, job.lock_expires_at = due, None, None
        insert_rows(self.session, new)

    def _sync_service_tasks(self, started: list[Task]) -> None:
        started_ids = {str(t.id) for t in started}
        # Retry jobs of service tasks that are no longer running (cancelled by a boundary event, ...) go.
        for job in self._existing(Job):
            if job.kind == "service_task" and job.task_id not in started_ids:
                self.session.delete(job)
        external = {str(t.id): t for t in started if self.engine.registry.get(t.task_spec.handler_name) is None}
        existing = {row.id: row for row in self._existing(ExternalTask)}
        for task_id, row in existing.items():
            if task_id not in external:
                self.session.delete(row)
        insert_rows(self.session, [ExternalTask(
            id=task_id, instance_id=self.row.id, process_key=self.row.process_key,
            business_key=self.row.business_key, element_id=_task_element(task) or "",
            topic=task.task_spec.handler_name, created_at=self.now,
        ) for task_id, task in external.items() if task_id not in existing])


# --- helpers shared with the event and task modules -----------------------------------------------------


_pi = ProcessInstance.__table__
_UPDATE_INSTANCE = _pi.update().where(
    _pi.c.id == bindparam("p_id"), _pi.c.version == bindparam("p_version")
)
_is = InstanceState.__table__
_UPDATE_STATE = _is.update().where(_is.c.instance_id == bindparam("p_id"))
_DELETE_USER_TASKS = UserTask.__table__.delete().where(UserTask.__table__.c.id.in_(bindparam("p_ids", expanding=True)))
# The instance's user task ids (kind 0), and one row each for the kinds of other derived rows it has.
_PROBE_DERIVED = union_all(
    select(literal(0), UserTask.__table__.c.id).where(UserTask.__table__.c.instance_id == bindparam("p_id")),
    *(select(literal(n), cast(null(), String(36))).where(
        exists().where(model.__table__.c.instance_id == bindparam("p_id")))
      for n, model in enumerate((Subscription, Job, ExternalTask), start=1)),
)


class _HandlerSavepoint:
    """A failing handler's bookings vanish, the instance's progress so far stays: the handler books inside a
    savepoint, opened when it first asks for the session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.nested: SessionTransaction | None = None

    def open(self) -> Session:
        if self.nested is None:
            self.nested = self.session.begin_nested()
        return self.session

    def release(self) -> None:
        if self.nested is not None and self.nested.is_active:
            self.nested.commit()

    def rollback(self) -> None:
        if self.nested is not None and self.nested.is_active:
            self.nested.rollback()


def _forget(session: Session, model: type[Any], deleted: Any) -> None:
    """Take rows a Core DELETE removed out of the session, as the ORM's DELETE (synchronize_session) does."""
    for obj in [o for o in session.identity_map.values() if isinstance(o, model) and deleted(o)]:
        session.expunge(obj)


def insert_rows(session: Session, rows: list[Any]) -> None:
    """INSERT new ORM objects with Core statements, in order, without the unit of work (and its flush).

    Only the attributes that were set go in: column defaults fill the rest, as the ORM's INSERT would.
    The objects stay transient; rows of one table with the same attributes go in one executemany.
    """
    if not rows:
        return
    batches: list[tuple[Any, tuple[str, ...], list[dict[str, Any]]]] = []
    for obj in rows:
        table = obj.__table__
        values = {key: value for key, value in instance_dict(obj).items()
                  if key in table.c and not (value is None and table.c[key].primary_key)}
        keys = tuple(values)
        if batches and batches[-1][0] is table and batches[-1][1] == keys:
            batches[-1][2].append(values)
        else:
            batches.append((table, keys, [values]))
    connection = session.connection()
    for table, _keys, params in batches:
        statement = _INSERTS.get(table)
        if statement is None:
            statement = _INSERTS[table] = table.insert()
        connection.execute(statement, params)


_INSERTS: dict[Any, Any] = {}  # one INSERT construct per table: its compiled form is cached by SQLAlchemy



@event.listens_for(Session, "before_commit")
def _handlers_never_commit(session: Session) -> None:
    """A handler's commit would split the command's transaction: its bookings without the instance's state."""
    handler = session.info.get(IN_HANDLER)
    if handler is not None:
        raise RuntimeError(f"handler {handler!r} tried to commit; the engine commits the command as a whole")


def _catch_names(definition: Any) -> list[tuple[str, str]]:
    if isinstance(definition, MultipleEventDefinition):
        return [n for d in definition.event_definitions for n in _catch_names(d)]
    if isinstance(definition, MessageEventDefinition):
        return [("message", definition.name)]
    if isinstance(definition, SignalEventDefinition):
        return [("signal", definition.name)]
    return []


def correlation_key_of(task: Task) -> str | None:
    """The key a waiting message is correlated by: the variables its model names, with their values.

    A catch event or receive task names them in a property `correlationKey` (comma-separated variable
    names; Camunda `camunda:properties` or SpiffWorkflow `spiffworkflow:properties`).
    """
    names = _correlation_variable_names(task.task_spec)
    if not names:
        return None
    return canonical_key({name: task.data.get(name) for name in names})


def _correlation_variable_names(spec: Any) -> list[str]:
    ext = getattr(spec, "extensions", None) or {}
    raw = (ext.get("camundaProperties") or {}).get("correlationKey") or (ext.get("properties") or {}).get(
        "correlationKey"
    )
    return [n.strip() for n in raw.split(",") if n.strip()] if raw else []


def canonical_key(values: dict[str, Any]) -> str:
    return json.dumps(to_json_safe(values), sort_keys=True, separators=(",", ":"))


def timer_due(task: Task) -> datetime | None:
    """When a waiting timer event is due (SpiffWorkflow computes and remembers it on first look)."""
    definition = task.task_spec.event_definition
    definitions = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
    due: datetime | None = None
    for d in definitions:
        if not isinstance(d, TimerEventDefinition):
            continue
        value = d.details(task).value  # computed and remembered by Spiff when the timer started waiting
        if isinstance(value, str):
            when = TimerEventDefinition.get_datetime(value)
            due = when if due is None or when < due else due
    return due


def load_definition(session: Session, definition_id: int) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"process definition {definition_id} does not exist")
    return definition


def _exception_text(exc: SpiffWorkflowException) -> str:
    """str() of a Spiff exception; Spiff joins its notes and fails when one is None (a NameError it could not
    suggest a name for), which must not turn an incident into a server error."""
    exc.notes = [note for note in getattr(exc, "notes", []) if isinstance(note, str)]
    return str(exc)
