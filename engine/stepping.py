"""The engine loop: SpiffWorkflow's `do_engine_steps`, with BPMN's rule that an interrupting event wins.

SpiffWorkflow runs a subprocess until nothing in it is ready before it looks at the process around it. When
a signal thrown inside a subprocess (or a timer that fell due while a task ran) is caught by an interrupting
boundary event on that subprocess, the rest of the subprocess would still run before the boundary event
cancels it. Here a subprocess stops as soon as an interrupting boundary event of any activity that contains
it has been triggered, and conditional event subprocesses are checked on every pass.
"""

from __future__ import annotations

from collections import deque

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from taktflow.engine.event_subprocesses import fire_conditions


def do_engine_steps(workflow: BpmnWorkflow) -> None:
    while _engine_pass(workflow):
        pass
    workflow.refresh_timers()


def _engine_pass(workflow: BpmnWorkflow) -> bool:
    fire_conditions(workflow)
    active = workflow.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda w: w.depth, reverse=True):
        while _run_ready(subprocess, workflow):
            pass
        if subprocess.parent_task_id is not None:
            task = workflow.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    count = _run_ready(workflow, workflow)
    return count > 0 or len(workflow.get_active_subprocesses()) > len(active)


def _run_ready(workflow: BpmnWorkflow, top: BpmnWorkflow) -> int:
    count = 0
    # The list also holds the ready tasks of subprocesses; one that was interrupted meanwhile must not run.
    # Children a task makes ready run right after it, so a pass does not walk the whole tree once per task
    # (a multi-instance over n items would cost n walks of an n-sized tree).
    queue = deque(workflow.get_tasks(state=TaskState.READY))
    while queue:
        task = queue.popleft()
        # Time passes while tasks run: a timer that fell due meanwhile fires before the next step starts.
        top.refresh_timers()
        if task.task_spec.manual or task.state != TaskState.READY:
            continue
        if task.workflow is not top and _interrupted(top, task.workflow):
            continue
        task.run()
        count += 1
        # Joins wait for the next pass, when every branch that was ready has run (discriminators count them).
        queue.extend(c for c in task.children if c.state == TaskState.READY and not isinstance(c.task_spec, Join))
    return count


def _interrupted(top: BpmnWorkflow, subprocess: BpmnWorkflow) -> bool:
    """An interrupting boundary event of the activity running this subprocess (or one around it) fired."""
    workflow = subprocess
    while workflow is not None and workflow.parent_task_id is not None:
        owner = top.get_task_from_id(workflow.parent_task_id)
        if owner is None:
            return False
        split = owner.parent
        for sibling in split.children if split is not None else []:
            spec = sibling.task_spec
            if (sibling is not owner and isinstance(spec, BoundaryEvent) and spec.cancel_activity
                    and sibling.state in (TaskState.READY, TaskState.COMPLETED)):
                return True
        workflow = owner.workflow if owner.workflow is not workflow else None
    return False
