"""Changes to SpiffWorkflow 3.2 internals the engine carries (each would be a small upstream patch).

- `Workflow.update_waiting_tasks` runs after every task completion and walked the whole task tree with a
  filtering iterator to find the WAITING tasks: the most expensive step of a long instance, and the reason
  a multi-instance over n items cost O(n²). The workflow's flat task dictionary holds the same tasks; a pass
  over it finds them with a small constant per task, in creation order (deterministic).
"""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow


def _update_waiting_tasks(self: Workflow) -> None:
    for task in [t for t in self.tasks.values() if t._state == TaskState.WAITING]:
        if task._state == TaskState.WAITING:
            task.task_spec._update(task)


def install() -> None:
    Workflow.update_waiting_tasks = _update_waiting_tasks
