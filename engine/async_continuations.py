"""Asynchronous continuations of service tasks: Camunda's `asyncBefore`, `asyncAfter` and legacy `async`.

- `asyncBefore` (or `async`): the command that reaches the task commits with the task waiting; a job
  ("service_task", due at once) runs the handler in a later command (`taktflow worker`). A crash before the
  job ran leaves the instance waiting at the task, and the job is still there.
- `asyncAfter`: the handler's result is committed with the task still open; a job completes the task and
  continues the process in a later command, so a failure after the task never runs the handler again.

Both use the jobs that failed handlers use (engine/jobs.py): the same claiming, retries, backoff and
incidents. Where the task is in this is kept in the task's internal data, saved with the instance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from SpiffWorkflow.task import Task
from sqlalchemy.orm import Session

from taktflow.engine.store.models import Job

if TYPE_CHECKING:
    from taktflow.engine.runtime import InstanceRun

STAGE = "taktflow_async"  # "before": the handler waits for its job; "after": the completion waits for its job


def _camunda(spec: Any) -> dict[str, str]:
    return ((getattr(spec, "extensions", None) or {}).get("camunda") or {})


def is_async_before(spec: Any) -> bool:
    camunda = _camunda(spec)
    return camunda.get("asyncBefore") == "true" or camunda.get("async") == "true"


def is_async_after(spec: Any) -> bool:
    return _camunda(spec).get("asyncAfter") == "true"


def wait_before(task: Task) -> bool:
    """The task was reached: True when its handler must run in a job, after this command commits."""
    if not is_async_before(task.task_spec):
        return False
    task.internal_data[STAGE] = "before"
    return True


def wait_after(task: Task) -> bool:
    """The handler finished: True when the task must stay open until a job completes it."""
    if not is_async_after(task.task_spec):
        return False
    task.internal_data[STAGE] = "after"
    return True


def handler_ran(task: Task) -> bool:
    """The job of an `asyncAfter` task: the handler ran already, only the completion is left."""
    return task.internal_data.get(STAGE) == "after"


def sync_jobs(run: InstanceRun, started: list[Task]) -> None:
    """Give every running task that waits at an async boundary a due job (one per task)."""
    from taktflow.engine.runtime import DEFAULT_MAX_ATTEMPTS  # runtime builds on this module

    waiting = [t for t in started if t.internal_data.get(STAGE)]
    if not waiting:
        return
    jobs = {j.task_id: j for j in [*run._existing(Job), *_added(run.session)] if j.kind == "service_task"}
    now = run.now
    for task in waiting:
        job = jobs.get(str(task.id))
        if job is None:
            retries = getattr(task.task_spec, "retries", None)
            run.session.add(Job(
                instance_id=run.row.id, task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                kind="service_task", due_at=now, attempts=0, created_at=now,
                max_attempts=retries + 1 if retries is not None else DEFAULT_MAX_ATTEMPTS,
            ))
            run.record("async_continuation", {"at": task.internal_data[STAGE]}, task=task)
        elif task.internal_data[STAGE] == "after" and (job.locked_by is not None or job.due_at is None):
            # The job that ran the handler (or an incident's retry) now completes the task, in a new command.
            job.due_at = min(job.due_at or now, now)
            job.locked_by = job.lock_expires_at = None
            run.record("async_continuation", {"at": "after"}, task=task)


def _added(session: Session) -> list[Job]:
    return [obj for obj in session.new if isinstance(obj, Job)]
