"""Event subprocesses at every level, interrupting or not.

SpiffWorkflow starts an event subprocess whose start event waits for a message, signal, error or escalation
only when it sits at the top level of the process, and never interrupts the scope around it. BPMN says an
event subprocess belongs to its enclosing (sub)process: an error thrown inside that scope, or a signal or
message while the scope runs, starts it; `isInterrupting` (the default) cancels the rest of the scope.

`install(workflow)` swaps the workflow's event manager for one that does that; it is called on every
workflow the engine creates or loads (the event manager is not serialized).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent, EventManager
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


class ScopedEventManager(EventManager):
    def catch(self, event: BpmnEvent, internal: bool = True) -> int:
        top: BpmnWorkflow = self.workflow
        if isinstance(event.event_definition, CodeEventDefinition) and event.target is not None:
            # Errors and escalations travel outward from where they were thrown; the nearest scope whose
            # event subprocess catches them wins (before any boundary event of an enclosing activity).
            scope = event.target
            while scope is not None:
                start = _trigger(top, scope, event)
                if start is not None:
                    return 1
                if _caught_in(self, scope, event):
                    break
                scope = scope.parent_workflow
            return super().catch(event, internal)
        # Messages and signals reach every running scope.
        for scope in [top, *top.subprocesses.values()]:
            if not scope.completed:
                _trigger(top, scope, event, deliver=False)
        return super().catch(event, internal)


def fire_conditions(top: BpmnWorkflow) -> None:
    """Start the event subprocesses whose conditional start event's condition holds in a running scope
    (checked on every engine pass, so a condition true on entry fires before the scope's first task)."""
    for scope in [top, *top.subprocesses.values()]:
        if scope.completed:
            continue
        for name in getattr(scope.spec.start, "trigger_specs", []):
            sp_spec = top.subprocess_specs.get(name)
            if sp_spec is None or scope.get_next_task(spec_name=name) is not None:
                continue  # fires once per scope
            for start_event in sp_spec.bpmn_start_events:
                definition = start_event.event_definition
                if not isinstance(definition, ConditionalEventDefinition):
                    continue
                data_task = scope.last_task or scope.task_tree
                if not top.script_engine.evaluate(data_task, definition.expression):
                    continue
                task = _open(top, scope, name, start_event)
                if task is not None:
                    task.task_spec._update(task)
                break


def _caught_in(manager: EventManager, scope: Any, event: BpmnEvent) -> bool:
    return any(t.workflow == scope and t.task_spec.event_definition.catches(t, event) for t in manager.tasks.values())


def _trigger(top: BpmnWorkflow, scope: Any, event: BpmnEvent, deliver: bool = True) -> Task | None:
    """Start the event subprocess of `scope` whose start event catches `event`; returns that start event."""
    start_spec = scope.spec.start
    for name in getattr(start_spec, "trigger_specs", []):
        sp_spec = top.subprocess_specs.get(name)
        if sp_spec is None:
            continue
        for start_event in sp_spec.bpmn_start_events:
            if start_event.event_definition != event.event_definition:
                continue
            task = _open(top, scope, name, start_event)
            if task is None:
                continue
            if deliver:
                task.task_spec.catch(task, event)
                task.task_spec._update(task)
            return task
    return None


def _open(top: BpmnWorkflow, scope: Any, name: str, start_event: Any) -> Task | None:
    """Start event subprocess `name` in `scope` (ending the rest of the scope when it interrupts); returns its
    start event, waiting for its trigger (or already ready, when a condition held at once)."""
    child_id = _start(scope, name)
    task = top.subprocesses[child_id].get_next_task(state=TaskState.WAITING | TaskState.READY,
                                                    spec_name=start_event.name)
    if task is not None and _interrupting(start_event):
        _cancel_scope_except(scope, top.get_task_from_id(child_id))
    return task


def _start(scope: Any, name: str) -> Any:
    """SpiffWorkflow's `trigger_wf`, but ending in the scope's end join: the scope completes when the event
    subprocess and whatever else still runs in it are done (and not wired into the shared spec's start)."""
    esp_spec = scope.spec.task_specs[name]
    end_join = scope.spec.task_specs.get(f"{scope.spec.name}.EndJoin")
    if end_join is not None and end_join not in esp_spec.outputs:
        esp_spec.connect(end_join)
    if scope.spec.start not in esp_spec.inputs:
        esp_spec._inputs.append(scope.spec.start.name)  # a task spec needs an input; the start must not spawn it
    child = scope.task_tree._add_child(esp_spec, TaskState.FUTURE)
    child.triggered = True
    child.task_spec._update(child)
    if end_join is not None and not any(c.task_spec is end_join for c in child.children):
        joined = child._add_child(end_join, TaskState.FUTURE)
        end_join._predict(joined, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
    return child.id


def _interrupting(start_event: Any) -> bool:
    return getattr(start_event, "interrupting", True)


def _cancel_scope_except(scope: Any, keep: Task) -> None:
    """An interrupting event subprocess ends everything else its scope was doing."""
    for task in scope.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        if task is keep or task.workflow is not scope or keep.is_descendant_of(task) or task.is_descendant_of(keep):
            continue
        if task.parent is not None and task.parent.has_state(TaskState.FINISHED_MASK):
            task.cancel()


def install(workflow: BpmnWorkflow) -> None:
    if not isinstance(workflow.event_manager, ScopedEventManager):
        workflow.event_manager.__class__ = ScopedEventManager
