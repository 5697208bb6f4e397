"""BPMN compensation (BPMN 2.0 §10.7): undoing work that already completed.

An activity with a compensation boundary event names, through an association, its compensation handler
(an activity with `isForCompensation="true"` and no sequence flows). When a compensation throw event is
reached (an intermediate throw or end event with `compensateEventDefinition`, or a cancel end event of a
transaction), the handlers of the completed activities of the event's scope run one after the other, the
most recently completed first; `activityRef` narrows it to one activity. The throw event waits until they
are done, then continues (or ends, or cancels the transaction).

SpiffWorkflow has no compensation, so the throw event spec does it:
- which activity has which handler is part of the throw event's spec (`compensation_handlers`, filled by
  `definitions/compensation_parser.py`), so it is serialized with the process definition;
- everything an instance needs is in its task tree, which is saved between commands: the completed
  activity tasks (their data and completion time), the plan of the throw event (its `internal_data`), and
  each handler run as a child of the activity task it compensates (so it starts from that activity's data);
- the throw event task WAITs while a handler runs; SpiffWorkflow updates waiting tasks whenever a task of the
  same workflow completes, which is when the next handler starts or the throw event becomes ready.

A completed subprocess without a handler of its own is compensated from inside (BPMN's default compensation):
its compensation event subprocess runs if it has one, or else the handlers of its own completed activities,
latest first. A `ScopeCompensation` task in the subprocess's (reopened) workflow does that and wakes the throw
event when it is done.

Not covered: compensation thrown inside a compensation event subprocess (for the activities of its parent),
call activities compensated from inside, and `waitForCompletion="false"` (treated as true, as Camunda 7 does).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.task_spec import EventConverter
from SpiffWorkflow.bpmn.serializer.helpers.spec import EventDefinitionConverter
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

# A throw event's internal data: {"pending": [activity task ids], "running": handler task id, "activity": the
# activity it compensates}
PLAN = "compensation"
COMPENSATED = "compensated"  # activity task's internal data: its handler was started (compensated once only)
REQUESTER = "compensation_for"  # a ScopeCompensation task's internal data: the throw event waiting for it
SCOPE_RUNNER = ".Compensation"  # name of a subprocess spec's ScopeCompensation spec: <subprocess id>.Compensation


class CompensateEventDefinition(EventDefinition):
    """`compensateEventDefinition`: thrown, all completed activities of the scope or `activity_ref`; on the start
    event of a compensation event subprocess, what starts it."""

    def __init__(self, activity_ref: str | None = None, wait_for_completion: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activity_ref = activity_ref
        self.wait_for_completion = wait_for_completion

    def throw(self, my_task: Task) -> None:
        """Nothing travels: the throwing spec has run the handlers before it completes."""


class CompensatingThrow:
    """A throw event that first compensates the completed activities of its scope, then does what it does."""

    event_definition: EventDefinition

    def __init__(self, wf_spec: Any, bpmn_id: str, event_definition: EventDefinition,
                 compensation_handlers: dict[str, str] | None = None, compensation_scopes: list[str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, event_definition, **kwargs)
        # activity task spec name -> name of the spec to run as its compensation handler
        self.compensation_handlers = dict(compensation_handlers or {})
        # subprocesses without a handler of their own, compensated from inside (their `SCOPE_RUNNER` spec)
        self.compensation_scopes = list(compensation_scopes or [])

    def _update_hook(self, my_task: Task) -> bool | None:
        plan = my_task.internal_data.get(PLAN)
        if plan is None:
            if not super()._update_hook(my_task):
                return False
            plan = {"pending": [str(t.id) for t in self.to_compensate(my_task)], "running": None, "activity": None}
            my_task.internal_data[PLAN] = plan
        return self._advance(my_task, plan)

    def to_compensate(self, my_task: Task) -> list[Task]:
        """Completed, not yet compensated activities of this event's scope that have a handler, latest first."""
        ref = getattr(self.event_definition, "activity_ref", None)
        found = [
            (task.last_state_change, position, task)
            for position, task in enumerate(my_task.workflow.tasks.values())
            if task.state == TaskState.COMPLETED and self._compensable(task.task_spec.name)
            and (ref is None or task.task_spec.name == ref) and not task.internal_data.get(COMPENSATED)
        ]
        return [task for _, _, task in sorted(found, key=lambda item: item[:2], reverse=True)]

    def _compensable(self, name: str) -> bool:
        return name in self.compensation_handlers or name in self.compensation_scopes

    def _advance(self, my_task: Task, plan: dict[str, Any]) -> bool | None:
        top = my_task.workflow.top_workflow
        if plan["running"]:
            running, activity = _find(top, plan["running"]), _find(top, plan["activity"])
            if running is not None and (running.state == TaskState.ERROR
                                        or not running.has_state(TaskState.FINISHED_MASK)):
                my_task._set_state(TaskState.WAITING)  # an incident on the handler holds the event here
                return None
            if running is not None and running.state == TaskState.COMPLETED and activity is not None:
                # What the handler changed travels on with the throw event's token.
                my_task.data.update(DeepMerge.get_updated_keys(activity.data, running.data))
            if plan.pop("reopened", None) and activity is not None:
                _close(top, activity)
            plan["running"] = plan["activity"] = None
        while plan["pending"]:
            activity = my_task.workflow.tasks.get(UUID(plan["pending"].pop(0)))
            if activity is None or activity.state != TaskState.COMPLETED or activity.internal_data.get(COMPENSATED):
                continue  # another throw event (a parallel branch) got to it first
            activity.internal_data[COMPENSATED] = True
            if activity.task_spec.name in self.compensation_handlers:
                handler = self._start_handler(my_task, activity)
            else:
                handler = _start_inside(top, my_task, activity)
                plan["reopened"] = handler is not None
            if handler is None:
                continue
            plan["running"], plan["activity"] = str(handler.id), str(activity.id)
            my_task._set_state(TaskState.WAITING)
            return None
        return True

    def _start_handler(self, my_task: Task, activity: Task) -> Task:
        """The handler runs as a child of the activity it compensates, so it starts from that activity's data."""
        handler_spec = my_task.workflow.spec.task_specs[self.compensation_handlers[activity.task_spec.name]]
        handler = activity._add_child(handler_spec, TaskState.FUTURE)
        handler.triggered = True  # not one of the activity's outputs: SpiffWorkflow must keep it
        handler.task_spec._update(handler)
        return handler


def _find(top: Any, task_id: str | None) -> Task | None:
    if task_id is None:
        return None
    try:
        return top.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None


def _start_inside(top: Any, my_task: Task, activity: Task) -> Task | None:
    """Compensate a completed subprocess from inside: its compensation event subprocess, or else the handlers
    of its own completed activities. Its workflow is reopened meanwhile (a completed one would report its
    completion again to the subprocess task when a handler in it completes), and closed when it is done."""
    sub = top.subprocesses.get(activity.id)
    runner_spec = sub.spec.task_specs.get(f"{sub.spec.name}{SCOPE_RUNNER}") if sub is not None else None
    if runner_spec is None:
        return None
    sub.completed = False
    runner = sub.task_tree._add_child(runner_spec, TaskState.FUTURE)
    runner.triggered = True
    runner.data = deepcopy(activity.data)  # the subprocess's data as it completed
    runner.internal_data[REQUESTER] = str(my_task.id)
    runner.task_spec._update(runner)
    return runner


def _close(top: Any, activity: Task) -> None:
    sub = top.subprocesses.get(activity.id)
    if sub is not None:
        sub.completed = True


class CompensationThrowEvent(CompensatingThrow, IntermediateThrowEvent):
    pass


class CompensationEndEvent(CompensatingThrow, EndEvent):
    """A compensation end event, or the cancel end event of a transaction (which compensates first)."""


class ScopeCompensation(CompensatingThrow, IntermediateThrowEvent):
    """Compensation of a completed subprocess from inside, started by a throw event of the scope around it.

    Not an element of the model (no `bpmn_id`): its spec is added to each subprocess spec that has something
    to compensate. It runs the subprocess's compensation event subprocess if it has one, or else compensates
    the subprocess's completed activities, then wakes the throw event that started it."""

    def __init__(self, wf_spec: Any, bpmn_id: str, event_definition: EventDefinition,
                 event_subprocess: str | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, event_definition, **kwargs)
        self.event_subprocess = event_subprocess
        self.bpmn_id = None

    def to_compensate(self, my_task: Task) -> list[Task]:
        return [] if self.event_subprocess else super().to_compensate(my_task)

    def _update_hook(self, my_task: Task) -> bool | None:
        if self.event_subprocess and PLAN not in my_task.internal_data:
            result = super()._update_hook(my_task)  # an empty plan: ready at once
            if result:
                esp = self._start_event_subprocess(my_task)
                my_task.internal_data[PLAN].update(running=str(esp.id), activity=str(my_task.id))
                my_task._set_state(TaskState.WAITING)
                return None
            return result
        return super()._update_hook(my_task)

    def _start_event_subprocess(self, my_task: Task) -> Task:
        esp = my_task._add_child(my_task.workflow.spec.task_specs[self.event_subprocess], TaskState.FUTURE)
        esp.triggered = True
        esp.task_spec._update(esp)
        inner = my_task.workflow.top_workflow.subprocesses[esp.id]
        for start in inner.get_tasks(state=TaskState.WAITING):
            if isinstance(start.task_spec.event_definition, CompensateEventDefinition):
                start.task_spec.catch(start, BpmnEvent(start.task_spec.event_definition))
                start.task_spec._update(start)
        return esp

    def _on_complete(self, my_task: Task) -> None:
        # After SpiffWorkflow has done with the completion (the subprocess is still open then), the throw event
        # that is waiting for it goes on.
        super()._on_complete(my_task)
        requester = _find(my_task.workflow.top_workflow, my_task.internal_data.get(REQUESTER))
        if requester is not None and requester.state == TaskState.WAITING:
            requester.task_spec._update(requester)


class CompensatingEventConverter(EventConverter):
    def to_dict(self, spec: CompensatingThrow) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["compensation_handlers"] = dict(spec.compensation_handlers)
        dct["compensation_scopes"] = list(spec.compensation_scopes)
        return dct


class ScopeCompensationConverter(CompensatingEventConverter):
    def to_dict(self, spec: ScopeCompensation) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["event_subprocess"] = spec.event_subprocess
        return dct


class CompensateEventDefinitionConverter(EventDefinitionConverter):
    def to_dict(self, event_definition: CompensateEventDefinition) -> dict[str, Any]:
        dct = super().to_dict(event_definition)
        dct["activity_ref"] = event_definition.activity_ref
        dct["wait_for_completion"] = event_definition.wait_for_completion
        return dct


SERIALIZER_CONFIG = {
    CompensationThrowEvent: CompensatingEventConverter,
    CompensationEndEvent: CompensatingEventConverter,
    ScopeCompensation: ScopeCompensationConverter,
    CompensateEventDefinition: CompensateEventDefinitionConverter,
}
