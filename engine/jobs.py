"""Jobs (due timers, service-task retries), external tasks, and incidents.

Workers claim due jobs with a lock owner and expiry (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so any
number of them can run side by side and a killed worker's claims are taken over once they expire.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from taktflow.engine import events
from taktflow.engine.definitions.parser import TaktflowServiceTask
from taktflow.engine.errors import Conflict, EngineError, NotFound
from taktflow.engine.store.models import ExternalTask, Incident, Job, ProcessInstance

if TYPE_CHECKING:
    from taktflow.engine.core import Engine

log = logging.getLogger(__name__)
# How long a claim holds: a worker killed mid-batch loses its claims after this long. A job that is running
# keeps its row locked on PostgreSQL, so an expired claim of a running job is never taken over.
JOB_LOCK = timedelta(minutes=5)
# A job that failed outside its handler (database trouble) waits this long before the next try.
FAILED_RUN_DELAY = timedelta(seconds=30)


# --- jobs ----------------------------------------------------------------------------------------------


def claim_due_jobs(engine: Engine, worker_id: str, limit: int = 20, lock: timedelta = JOB_LOCK) -> list[int]:
    """Lock up to `limit` due jobs for this worker (one short transaction)."""

    def work(session: Session) -> list[int]:
        now = engine.clock.now()
        stmt = (
            select(Job)
            .where(Job.due_at.is_not(None), Job.due_at <= now,
                   or_(Job.lock_expires_at.is_(None), Job.lock_expires_at < now))
            .order_by(Job.due_at, Job.id)
            .limit(limit)
        )
        if not engine.db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        jobs = list(session.scalars(stmt))
        for job in jobs:
            job.locked_by, job.lock_expires_at = worker_id, now + lock
        return [job.id for job in jobs]

    return engine.command(work)


def run_job(engine: Engine, job_id: int, worker_id: str | None = None) -> bool:
    """Execute one job in its own command. False when it was gone or taken over by another worker."""

    def work(session: Session) -> bool:
        job = session.get(Job, job_id)
        if job is None or (worker_id is not None and job.locked_by != worker_id):
            return False
        run = engine.load_run(session, job.instance_id, worker_id)
        # Under the instance lock, read the job again and keep its row locked while it runs: another command
        # may have finished it meanwhile, and a worker that finds this claim expired skips the locked row.
        job = _lock_job(engine, session, job_id)
        if job is None or (worker_id is not None and job.locked_by != worker_id):
            return False
        if job.kind == "timer":
            events.fire_timer(engine, run)
        else:
            _retry_service_task(engine, session, run, job)
        engine.finish(run)
        return True

    return engine.command(work)


def _lock_job(engine: Engine, session: Session, job_id: int) -> Job | None:
    stmt = select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    if not engine.db.is_sqlite:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def _retry_service_task(engine: Engine, session: Session, run: Any, job: Job) -> None:
    task = run.task(job.task_id)
    if task.state != TaskState.STARTED or not isinstance(task.task_spec, TaktflowServiceTask):
        session.delete(job)  # the task moved on (cancelled by a boundary event, ...)
        return
    if run.run_handler(task, attempt=job.attempts + 1):
        session.delete(job)
        run.complete_started_task(task, None)
        run.advance()
    # On failure `run.save()` reschedules the job or turns it into an incident.


def run_due_jobs(engine: Engine, worker_id: str, limit: int = 20) -> int:
    """One worker pass: claim what is due and run it. Returns how many jobs ran."""
    return Worker(engine, worker_id, batch=limit).run_once()


def _release(engine: Engine, job_id: int, error: str, delay: timedelta = FAILED_RUN_DELAY) -> None:
    def work(session: Session) -> None:
        job = session.get(Job, job_id)
        if job is not None:
            job.locked_by, job.lock_expires_at = None, None
            job.last_error = error[-4000:]
            job.due_at = engine.clock.now() + delay

    engine.command(work)


# --- external tasks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockedTask:
    task: ExternalTask
    variables: dict[str, Any]


def fetch_and_lock(
    engine: Engine, worker_id: str, topics: list[dict[str, Any]], max_tasks: int = 1,
) -> list[LockedTask]:
    if not worker_id:
        raise EngineError("workerId is required")
    durations = {}
    for topic in topics:
        if not topic.get("name"):
            raise EngineError("every topic needs a name")
        duration = int(topic.get("lockDuration") or 0)
        if duration <= 0:
            raise EngineError(f"topic {topic['name']!r} needs a positive lockDuration (milliseconds)")
        durations[topic["name"]] = timedelta(milliseconds=duration)
    if max_tasks <= 0 or not durations:
        return []

    def work(session: Session) -> list[LockedTask]:
        now = engine.clock.now()
        stmt = (
            select(ExternalTask)
            .where(ExternalTask.topic.in_(list(durations)),
                   or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at < now),
                   or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0))
            .order_by(ExternalTask.priority.desc(), ExternalTask.created_at, ExternalTask.id)
            .limit(max_tasks)
        )
        if not engine.db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        locked = []
        for row in session.scalars(stmt):
            row.worker_id, row.lock_expires_at = worker_id, now + durations[row.topic]
            variables = session.scalar(select(ProcessInstance.variables).where(ProcessInstance.id == row.instance_id))
            locked.append(LockedTask(row, variables or {}))
        return locked

    return engine.command(work)


def _locked_by(session: Session, task_id: str, worker_id: str, now: Any) -> ExternalTask:
    row = session.get(ExternalTask, task_id)
    if row is None:
        raise NotFound(f"no open external task {task_id}")
    if row.worker_id != worker_id or row.lock_expires_at is None:
        raise Conflict(f"external task {task_id} is not locked by worker {worker_id!r}")
    return row


def complete_external(
    engine: Engine, task_id: str, worker_id: str, variables: dict[str, Any] | None = None,
) -> ProcessInstance:
    if variables is not None and not isinstance(variables, dict):
        raise EngineError("variables must be an object")

    def work(session: Session) -> ProcessInstance:
        row = _locked_by(session, task_id, worker_id, engine.clock.now())
        run = engine.load_run(session, row.instance_id, worker_id)
        task = run.task(task_id)
        if task.state != TaskState.STARTED:
            raise Conflict(f"external task {task_id} is no longer running")
        run.complete_started_task(task, variables or {})
        run.record("external_task_completed", {"workerId": worker_id}, task=task)
        run.advance()
        engine.finish(run)
        return run.row

    return engine.command(work)


def fail_external(
    engine: Engine, task_id: str, worker_id: str, *, error_message: str, error_details: str | None = None,
    retries: int = 0, retry_timeout_ms: int = 0,
) -> ExternalTask:
    """A worker reports failure: retry after the timeout, or (retries 0) raise an incident."""

    def work(session: Session) -> ExternalTask:
        now = engine.clock.now()
        row = _locked_by(session, task_id, worker_id, now)
        row.retries = max(retries, 0)
        row.error_message = error_message[:4000]
        row.worker_id = None
        row.lock_expires_at = now + timedelta(milliseconds=max(retry_timeout_ms, 0)) if retries > 0 else None
        if row.retries == 0:
            session.add(Incident(
                instance_id=row.instance_id, task_id=row.id, element_id=row.element_id,
                kind="failed_external_task", message=error_message[:4000], stacktrace=error_details,
                created_at=now,
            ))
            session.execute(
                ProcessInstance.__table__.update().where(ProcessInstance.id == row.instance_id)
                .values(state="incident")
            )
        return row

    return engine.command(work)


def bpmn_error_external(
    engine: Engine, task_id: str, worker_id: str, *, error_code: str, error_message: str = "",
    variables: dict[str, Any] | None = None,
) -> ProcessInstance:
    def work(session: Session) -> ProcessInstance:
        row = _locked_by(session, task_id, worker_id, engine.clock.now())
        run = engine.load_run(session, row.instance_id, worker_id)
        task = run.task(task_id)
        if not run.throw_bpmn_error(task, error_code, error_message, variables or {}):
            raise Conflict(f"no error boundary event on {row.element_id} catches error code {error_code!r}")
        run.advance()
        engine.finish(run)
        return run.row

    return engine.command(work)


# --- incidents -----------------------------------------------------------------------------------------


def open_incidents(instance_id: str | None = None) -> Any:
    stmt = select(Incident).where(Incident.resolved_at.is_(None))
    if instance_id:
        stmt = stmt.where(Incident.instance_id == instance_id)
    return stmt.order_by(Incident.created_at, Incident.id)


def retry_incident(engine: Engine, incident_id: int, *, actor: str | None = None) -> Incident:
    """Resolve an incident and run what failed again, now. A new failure opens a new incident."""

    def work(session: Session) -> Incident:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"incident {incident_id} does not exist")
        if incident.resolved_at is not None:
            raise Conflict(f"incident {incident_id} is resolved already")
        now = engine.clock.now()
        incident.resolved_at = now
        if incident.kind == "failed_external_task":
            row = session.get(ExternalTask, incident.task_id)
            if row is not None:
                row.retries, row.lock_expires_at, row.worker_id = 1, None, None
            _refresh_state(session, incident.instance_id)
            return incident
        run = engine.load_run(session, incident.instance_id, actor)
        run.record("incident_retried", {"incident": incident.id, "kind": incident.kind})
        task = run.task(incident.task_id) if incident.task_id else None
        if incident.kind == "failed_job" and task is not None:
            job = session.get(Job, incident.job_id) if incident.job_id else None
            if job is not None:
                job.max_attempts = job.attempts + 1
                _retry_service_task(engine, session, run, job)
        elif incident.kind in ("script_error", "uncaught_bpmn_error") and task is not None \
                and task.state == TaskState.ERROR:  # a script failed, or raised a BPMN error nothing caught
            task._set_state(TaskState.READY)
            run.advance()
        elif incident.kind == "uncaught_bpmn_error" and task is not None and task.state == TaskState.STARTED:
            if run.run_handler(task, attempt=1):
                run.complete_started_task(task, None)
            run.advance()
        else:
            raise Conflict(f"incident {incident_id} ({incident.kind}) has nothing to retry; cancel the instance")
        engine.finish(run)
        return incident

    return engine.command(work)


def _refresh_state(session: Session, instance_id: str) -> None:
    still_open = session.scalar(select(Incident.id).where(
        and_(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))).limit(1))
    row = session.get(ProcessInstance, instance_id)
    if row is not None and row.state == "incident" and still_open is None:
        row.state = "active"


# --- the worker loop -----------------------------------------------------------------------------------


class Worker:
    """Fires due timers and retries failed handlers until stopped (`taktflow worker`, or in-process)."""

    def __init__(
        self, engine: Engine, worker_id: str, poll_seconds: float = 1.0, batch: int = 20, lock: timedelta = JOB_LOCK,
    ) -> None:
        import threading

        self.engine, self.worker_id = engine, worker_id
        self.poll_seconds, self.batch, self.lock = poll_seconds, batch, lock
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        log.info("worker %s started", self.worker_id)
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("worker %s pass failed", self.worker_id)
                ran = 0
            if ran == 0:
                self._stop.wait(self.poll_seconds)
        log.info("worker %s stopped", self.worker_id)

    def run_once(self) -> int:
        """Claim and run one batch; on shutdown release what was claimed but not started."""
        claimed = claim_due_jobs(self.engine, self.worker_id, self.batch, self.lock)
        done = 0
        for index, job_id in enumerate(claimed):
            if self._stop.is_set():
                release_claims(self.engine, self.worker_id, claimed[index:])
                break
            try:
                if run_job(self.engine, job_id, self.worker_id):
                    done += 1
            except (Conflict, DBAPIError):  # lost races for its instance, or a database hiccup: try again soon
                log.warning("job %s did not run; released for another try", job_id, exc_info=True)
                _release(self.engine, job_id, traceback.format_exc(), delay=timedelta(seconds=1))
            except Exception:  # noqa: BLE001 - one broken job must not stop the worker
                log.exception("job %s failed outside its handler", job_id)
                _release(self.engine, job_id, traceback.format_exc())
        return done


def release_claims(engine: Engine, worker_id: str, job_ids: list[int]) -> None:
    def work(session: Session) -> None:
        for job in session.scalars(select(Job).where(Job.id.in_(job_ids), Job.locked_by == worker_id)):
            job.locked_by, job.lock_expires_at = None, None

    engine.command(work)
