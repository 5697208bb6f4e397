"""Messages, signals and timers reach waiting instances through indexed subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from taktflow.engine import events, instances, jobs, tasks
from taktflow.engine.errors import NotFound
from taktflow.engine.store.models import Job, Subscription, UserTask
from tests.support import deploy_models


def _state(engine, instance_id):
    with engine.db.read() as session:
        return instances.get(session, instance_id)


def test_message_correlates_by_correlation_key_and_carries_variables(engine):
    deploy_models(engine, "message_flow.bpmn")
    a = instances.start(engine, "message_flow", business_key="SO-1", variables={"orderId": "SO-1"}).instance
    b = instances.start(engine, "message_flow", business_key="SO-2", variables={"orderId": "SO-2"}).instance
    with engine.db.read() as session:
        keys = sorted(s.correlation_key for s in session.scalars(select(Subscription)))
    assert keys == ['{"orderId":"SO-1"}', '{"orderId":"SO-2"}']

    reached = events.correlate_message(engine, "payment_received", correlation_keys={"orderId": "SO-2"},
                                       variables={"paidAmount": 99.5})
    assert [r.instance_id for r in reached] == [b.id]
    assert _state(engine, b.id).active_elements == ["wait_signal"]
    assert _state(engine, b.id).variables["paidAmount"] == 99.5
    assert _state(engine, a.id).active_elements == ["wait_payment"]


def test_message_correlates_by_business_key(engine):
    deploy_models(engine, "message_flow.bpmn")
    a = instances.start(engine, "message_flow", business_key="SO-1", variables={"orderId": "x"}).instance
    reached = events.correlate_message(engine, "payment_received", business_key="SO-1")
    assert [r.instance_id for r in reached] == [a.id]


def test_message_nobody_waits_for_is_not_found_and_changes_nothing(engine):
    deploy_models(engine, "message_flow.bpmn")
    a = instances.start(engine, "message_flow", business_key="SO-1", variables={"orderId": "SO-1"}).instance
    with pytest.raises(NotFound, match="no instance waits for message 'payment_received' with businessKey=SO-9"):
        events.correlate_message(engine, "payment_received", business_key="SO-9")
    with pytest.raises(NotFound):
        events.correlate_message(engine, "unknown_message")
    assert _state(engine, a.id).version == 1


def test_signal_reaches_every_waiting_instance(engine):
    deploy_models(engine, "message_flow.bpmn")
    ids = []
    for key in ("A", "B"):
        row = instances.start(engine, "message_flow", business_key=key, variables={"orderId": key}).instance
        events.correlate_message(engine, "payment_received", business_key=key)
        ids.append(row.id)
    waiting_for_payment = instances.start(engine, "message_flow", variables={"orderId": "C"}).instance
    reached = events.broadcast_signal(engine, "line_stop", variables={"reason": "jam"})
    assert sorted(r.instance_id for r in reached) == sorted(ids)
    assert all(_state(engine, i).state == "completed" for i in ids)
    assert _state(engine, waiting_for_payment.id).state == "active"
    assert events.broadcast_signal(engine, "line_stop") == []


def test_timers_fire_by_the_engine_clock(engine, clock):
    deploy_models(engine, "timer_flow.bpmn")
    row = instances.start(engine, "timer_flow").instance
    with engine.db.read() as session:
        due = sorted(j.due_at for j in session.scalars(select(Job).where(Job.kind == "timer")))
    assert due == [clock.now() + timedelta(minutes=10), clock.now() + timedelta(hours=1)]

    assert jobs.run_due_jobs(engine, "w") == 0  # nothing is due yet
    clock.advance(minutes=11)
    assert jobs.run_due_jobs(engine, "w") == 1  # the non-interrupting reminder cycle
    state = _state(engine, row.id)
    assert state.active_elements == ["approve"]
    assert state.variables.get("reminded") is None  # the reminder branch ran on its own path
    with engine.db.read() as session:
        reminder = session.scalar(select(Job).where(Job.element_id == "remind"))
    assert reminder.due_at == clock.now() + timedelta(minutes=9)  # next cycle, 20 minutes after start

    clock.advance(minutes=50)
    jobs.run_due_jobs(engine, "w")
    state = _state(engine, row.id)
    assert state.active_elements == ["escalated"]
    with engine.db.read() as session:
        assert session.scalars(select(Job)).all() == []
        assert [t.element_id for t in session.scalars(select(UserTask))] == ["escalated"]


def test_time_date_timer_waits_until_its_date(engine, clock):
    deploy_models(engine, "timer_flow.bpmn")
    row = instances.start(engine, "timer_flow").instance
    with engine.db.read() as session:
        task_id = session.scalar(select(UserTask.id))
    tasks.complete(engine, task_id, {})
    with engine.db.read() as session:
        [job] = session.scalars(select(Job)).all()
    assert job.due_at == datetime(2026, 2, 1, tzinfo=UTC)
    clock.set(datetime(2026, 2, 1, 0, 0, 1, tzinfo=UTC))
    assert jobs.run_due_jobs(engine, "w") == 1
    assert _state(engine, row.id).state == "completed"


def test_receive_task_waits_on_a_composite_correlation_key(engine):
    deploy_models(engine, "receive_flow.bpmn")
    row = instances.start(engine, "receive_flow", variables={"poNumber": "PO-1", "supplier": "ACME"}).instance
    assert row.active_elements == ["await_confirmation"]
    with pytest.raises(NotFound):
        events.correlate_message(engine, "supplier_confirmed", correlation_keys={"poNumber": "PO-1"})
    reached = events.correlate_message(engine, "supplier_confirmed",
                                       correlation_keys={"supplier": "ACME", "poNumber": "PO-1"},
                                       variables={"confirmedDate": "2026-02-03"})
    assert [r.element_id for r in reached] == ["await_confirmation"]
    done = _state(engine, row.id)
    assert done.state == "completed" and done.variables["confirmedDate"] == "2026-02-03"
