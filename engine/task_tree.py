"""Keeping an instance's task tree as deep as what is still running, not as long as its history.

SpiffWorkflow adds every step of a path to the tree below the step before it and never removes finished ones:
a loop that went round 300 times leaves a chain of ~1 000 tasks. Past a depth of 1 000 its task iterator stops
looking (`TaskIterator(max_depth=1000)`), so a task that became ready down there is never run and a waiting
event is never subscribed: the instance stalls without an error. Its recursive ancestor checks hit Python's
recursion limit at about the same depth, and every command pays for the chain in (de)serialization.

The history table already records every step, so two kinds of finished task carry nothing the runtime needs:
- a cancelled task without children below a finished one (the activity a boundary event interrupted, the
  boundary events that did not fire, the events an event-based gateway did not choose), and the completed
  end of an interrupted activity's boundary join: they are dropped;
- a completed task in the middle of a straight chain of completed tasks: it is taken out and its child hangs
  from its parent, which keeps the ancestor relations between all remaining tasks.
Tasks whose tree position SpiffWorkflow or the engine reads later stay: joins (a join instance, cancelled ones
included, counts its parent as an arrived path) and the parents of join instances, subprocess and loop tasks
(their subworkflows and iterations hang from them), the workflow's last task, and every task of a process that
uses compensation (a compensation event finds the completed activities).
"""

from __future__ import annotations

import weakref
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from taktflow.engine.compensation import CompensatingThrow

_KEEP_SPECS = (Join, SubWorkflowTask, LoopTask)
_COMPENSATION: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()  # by parsed process spec


def prune_finished_chains(top: BpmnWorkflow) -> int:
    """Drop dead leaves and splice completed chains in the instance and its subprocesses; how many went."""
    if _uses_compensation(top):
        return 0
    removed = 0
    for workflow in (top, *top.subprocesses.values()):
        for task in list(workflow.tasks.values()):
            if _dead_leaf(task, workflow, top):
                parent = workflow.tasks[task._parent]
                parent._children.remove(task.id)
                del workflow.tasks[task.id]
                removed += 1
        for task in list(workflow.tasks.values()):
            if _chain_link(task, workflow, top):
                _splice_out(task, workflow)
                removed += 1
    return removed


def _kept(task: Task, workflow: Any, top: BpmnWorkflow) -> bool:
    return (task._parent is None or isinstance(task.task_spec, _KEEP_SPECS) or task is workflow.last_task
            or task.id in top.subprocesses)


def _dead_leaf(task: Task, workflow: Any, top: BpmnWorkflow) -> bool:
    if task._children:
        return False
    parent = workflow.tasks.get(task._parent) if task._parent is not None else None
    if parent is None or parent._state not in (TaskState.COMPLETED, TaskState.CANCELLED):
        return False
    if isinstance(task.task_spec, BoundaryEventJoin):
        # Read only by its own threshold check, which is over.
        return task._state == TaskState.COMPLETED and task is not workflow.last_task
    return task._state == TaskState.CANCELLED and not _kept(task, workflow, top)


def _chain_link(task: Task, workflow: Any, top: BpmnWorkflow) -> bool:
    if task._state != TaskState.COMPLETED or len(task._children) != 1 or _kept(task, workflow, top):
        return False
    child = workflow.tasks.get(task._children[0])
    # The child must be finished too (a task that still has to start inherits its data from its parent), and
    # must not be a join: a join instance's parent is the incoming path it counts.
    return child is not None and child._state == TaskState.COMPLETED and not isinstance(child.task_spec, Join)


def _splice_out(task: Task, workflow: Any) -> None:
    parent = workflow.tasks[task._parent]
    child = workflow.tasks[task._children[0]]
    parent._children[parent._children.index(task.id)] = child.id
    child._parent = parent.id
    del workflow.tasks[task.id]


def _uses_compensation(top: BpmnWorkflow) -> bool:
    cached = _COMPENSATION.get(top.spec)
    if cached is None:
        specs = [top.spec, *top.subprocess_specs.values()]
        cached = _COMPENSATION[top.spec] = any(
            isinstance(s, CompensatingThrow) for spec in specs for s in spec.task_specs.values())
    return cached
