"""Service-task handlers, retries with backoff, incidents, BPMN errors, external tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from taktflow.engine import history, instances, jobs
from taktflow.engine.errors import Conflict, EngineError
from taktflow.engine.handlers import BpmnError
from taktflow.engine.store.models import ExternalTask, Incident, Job, ProcessInstance, UserTask
from tests.support import bookings, deploy_models


@pytest.fixture
def ledger(engine):
    bookings.prepare(engine.db)
    return engine.db


def _state(engine, instance_id):
    with engine.db.read() as session:
        return instances.get(session, instance_id)


def test_handler_gets_context_and_its_output_becomes_variables(engine, registry, ledger):
    seen = {}

    @registry.handler("test.book")
    def book(ctx):
        seen.update(instance=ctx.instance_id, business_key=ctx.business_key, params=dict(ctx.parameters),
                    qty=ctx.variables["qty"], element=ctx.element_id)
        bookings.book(ctx.session, ctx.booking_key, ctx.parameters["amount"])
        return {"documentNo": "DOC-1"}

    deploy_models(engine, "service_flow.bpmn")
    row = instances.start(engine, "service_flow", business_key="SO-5", variables={"qty": 3}).instance
    assert seen == {"instance": row.id, "business_key": "SO-5", "params": {"amount": 30}, "qty": 3, "element": "book"}
    assert row.active_elements == ["after_booking"] and row.variables["documentNo"] == "DOC-1"
    assert bookings.count(ledger) == 1


def test_failing_handler_books_nothing_is_retried_with_backoff_then_becomes_an_incident(
    engine, registry, ledger, clock
):
    attempts = []

    @registry.handler("test.book")
    def book(ctx):
        attempts.append(ctx.attempt)
        bookings.book(ctx.session, f"{ctx.booking_key}:{ctx.attempt}")
        raise RuntimeError("ledger offline")

    deploy_models(engine, "service_flow.bpmn")
    row = instances.start(engine, "service_flow", variables={"qty": 1}).instance
    assert row.state == "active" and row.active_elements == ["book"]
    assert bookings.count(ledger) == 0  # the failed handler's booking was rolled back
    with engine.db.read() as session:
        job = session.scalar(select(Job))
    assert (job.kind, job.attempts, job.due_at) == ("service_task", 1, clock.now() + timedelta(seconds=10))
    assert "ledger offline" in job.last_error

    assert jobs.run_due_jobs(engine, "w") == 0  # backoff not over
    clock.advance(seconds=10)
    jobs.run_due_jobs(engine, "w")
    with engine.db.read() as session:
        job = session.scalar(select(Job))
    assert job.attempts == 2 and job.due_at == clock.now() + timedelta(seconds=20)
    clock.advance(seconds=20)
    jobs.run_due_jobs(engine, "w")
    assert attempts == [1, 2, 3]
    assert _state(engine, row.id).state == "incident"
    with engine.db.read() as session:
        incident = session.scalars(jobs.open_incidents(row.id)).one()
    assert incident.kind == "failed_job" and incident.element_id == "book"
    assert "ledger offline" in incident.message and "RuntimeError" in incident.stacktrace
    clock.advance(hours=1)
    assert jobs.run_due_jobs(engine, "w") == 0  # an incident's job is no longer picked up
    assert bookings.count(ledger) == 0

    registry.unregister("test.book")

    @registry.handler("test.book")
    def fixed(ctx):
        bookings.book(ctx.session, ctx.booking_key)
        return {"documentNo": "DOC-2"}

    jobs.retry_incident(engine, incident.id, actor="ops")
    after = _state(engine, row.id)
    assert after.state == "active" and after.active_elements == ["after_booking"]
    assert bookings.count(ledger) == 1
    with engine.db.read() as session:
        assert session.scalars(select(Job)).all() == []
        assert session.scalars(jobs.open_incidents(row.id)).all() == []
    with pytest.raises(Conflict, match="resolved already"):
        jobs.retry_incident(engine, incident.id)


def test_bpmn_error_from_handler_is_caught_by_the_error_boundary(engine, registry):
    @registry.handler("test.book")
    def book(ctx):
        raise BpmnError("CREDIT_BLOCKED", "over the credit limit", {"limit": 1000})

    deploy_models(engine, "service_flow.bpmn")
    row = instances.start(engine, "service_flow", variables={"qty": 1}).instance
    assert row.state == "active" and row.active_elements == ["handle_block"]
    assert row.variables["errorCode"] == "CREDIT_BLOCKED" and row.variables["limit"] == 1000


def test_uncaught_bpmn_error_is_an_incident_not_a_silent_end(engine, registry):
    @registry.handler("test.book")
    def book(ctx):
        raise BpmnError("UNKNOWN_CODE")

    deploy_models(engine, "straight_service.bpmn")
    row = instances.start(engine, "straight_service").instance
    assert row.state == "incident"
    with engine.db.read() as session:
        incident = session.scalars(jobs.open_incidents(row.id)).one()
    assert incident.kind == "uncaught_bpmn_error" and "UNKNOWN_CODE" in incident.message


def test_script_error_is_an_incident_and_retry_runs_the_task_again(engine):
    deploy_models(engine, "script_flow.bpmn")
    row = instances.start(engine, "script_flow", variables={"price": 5}).instance  # qty is missing
    assert row.state == "incident"
    with engine.db.read() as session:
        incident = session.scalars(jobs.open_incidents(row.id)).one()
    assert incident.kind == "script_error" and "qty" in incident.message
    jobs.retry_incident(engine, incident.id)  # still failing: a new incident
    assert _state(engine, row.id).state == "incident"
    with engine.db.read() as session:
        assert len(session.scalars(jobs.open_incidents(row.id)).all()) == 1


def test_external_task_fetch_lock_complete_and_expiry(engine, clock):
    deploy_models(engine, "straight_service.bpmn")
    row = instances.start(engine, "straight_service", business_key="SO-1", variables={"qty": 2}).instance
    assert row.active_elements == ["book"]
    topics = [{"name": "test.book", "lockDuration": 60_000}]
    [locked] = jobs.fetch_and_lock(engine, "worker-a", topics, max_tasks=5)
    assert (locked.task.topic, locked.task.business_key, locked.variables["qty"]) == ("test.book", "SO-1", 2)
    assert jobs.fetch_and_lock(engine, "worker-b", topics) == []  # locked by worker-a

    clock.advance(seconds=61)  # worker-a died: its lock expires
    [relocked] = jobs.fetch_and_lock(engine, "worker-b", topics)
    assert relocked.task.id == locked.task.id
    with pytest.raises(Conflict, match="not locked by worker 'worker-a'"):
        jobs.complete_external(engine, locked.task.id, "worker-a", {"documentNo": "X"})
    done = jobs.complete_external(engine, locked.task.id, "worker-b", {"documentNo": "D-9"})
    assert done.state == "completed" and done.variables["documentNo"] == "D-9"
    with engine.db.read() as session:
        assert session.scalars(select(ExternalTask)).all() == []


def test_external_task_failure_retries_then_incident(engine, clock):
    deploy_models(engine, "straight_service.bpmn")
    row = instances.start(engine, "straight_service").instance
    topics = [{"name": "test.book", "lockDuration": 1000}]
    [t] = jobs.fetch_and_lock(engine, "w", topics)
    jobs.fail_external(engine, t.task.id, "w", error_message="bank timeout", retries=1, retry_timeout_ms=5000)
    assert jobs.fetch_and_lock(engine, "w", topics) == []
    clock.advance(seconds=6)
    [t] = jobs.fetch_and_lock(engine, "w", topics)
    jobs.fail_external(engine, t.task.id, "w", error_message="bank down", retries=0)
    assert _state(engine, row.id).state == "incident"
    clock.advance(hours=1)
    assert jobs.fetch_and_lock(engine, "w", topics) == []
    with engine.db.read() as session:
        incident = session.scalars(jobs.open_incidents(row.id)).one()
    jobs.retry_incident(engine, incident.id)
    assert _state(engine, row.id).state == "active"
    [t] = jobs.fetch_and_lock(engine, "w", topics)
    assert jobs.complete_external(engine, t.task.id, "w").state == "completed"


def test_cancelling_an_instance_removes_its_jobs_and_external_tasks(engine, clock):
    deploy_models(engine, "straight_service.bpmn", "timer_flow.bpmn")
    a = instances.start(engine, "straight_service").instance
    b = instances.start(engine, "timer_flow").instance
    instances.cancel(engine, a.id)
    instances.cancel(engine, b.id)
    with engine.db.read() as session:
        assert session.scalars(select(ExternalTask)).all() == []
        assert session.scalars(select(Job)).all() == []
        assert session.scalars(select(UserTask)).all() == []
        assert [e.kind for e in history.of_instance(session, b.id)][-1] == "instance_cancelled"
    clock.advance(days=1)
    assert jobs.run_due_jobs(engine, "w") == 0


def test_incidents_listing_excludes_resolved(engine):
    deploy_models(engine, "script_flow.bpmn")
    instances.start(engine, "script_flow", variables={})
    with engine.db.read() as session:
        assert len(session.scalars(select(Incident)).all()) == 1
        assert len(session.scalars(jobs.open_incidents()).all()) == 1


def test_a_handler_that_commits_is_a_failure_and_its_booking_is_rolled_back(engine, registry, ledger):
    @registry.handler("test.book")
    def book(ctx):
        bookings.book(ctx.session, ctx.booking_key)
        ctx.session.commit()

    deploy_models(engine, "straight_service.bpmn")
    row = instances.start(engine, "straight_service").instance
    assert row.active_elements == ["book"]
    with engine.db.read() as session:
        job = session.scalar(select(Job))
    assert "tried to commit" in job.last_error
    assert bookings.count(ledger) == 0


def test_a_handler_refusing_the_callers_input_refuses_the_command_elsewhere_it_is_a_failure(
    engine, registry, ledger, clock
):
    @registry.handler("test.book")
    def book(ctx):
        bookings.book(ctx.session, ctx.booking_key, ctx.parameters["amount"])
        if ctx.variables["qty"] > 100:
            raise EngineError(f"qty {ctx.variables['qty']} is more than one booking may carry")
        return {"documentNo": "DOC-1"}

    deploy_models(engine, "service_flow.bpmn")
    # Started by a caller with its input: refused as a whole, no instance and no booking are left.
    with pytest.raises(EngineError, match="qty 500 is more than"):
        instances.start(engine, "service_flow", business_key="BIG", variables={"qty": 500})
    with engine.db.read() as session:
        assert session.scalars(select(ProcessInstance)).all() == []
    assert bookings.count(ledger) == 0

    # Started inside another command (a message start, a handler): the same refusal is a failure with retries.
    row = engine.command(lambda s: instances.start_in(engine, s, "service_flow", business_key="BIG2",
                                                       variables={"qty": 500}, actor=None)).row
    with engine.db.read() as session:
        job = session.scalar(select(Job).where(Job.instance_id == row.id))
    assert job.kind == "service_task" and "more than one booking may carry" in job.last_error
    assert bookings.count(ledger) == 0
