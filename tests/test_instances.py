"""Starting, reading and cancelling instances; one transaction per command."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from taktflow.engine import history, instances, tasks
from taktflow.engine.errors import Conflict, IdempotencyKeyReused, NotFound
from taktflow.engine.store.models import ProcessInstance, UserTask
from tests.support import deploy_models


def test_start_with_business_key_and_variables(engine):
    deploy_models(engine, "script_flow.bpmn")
    started = instances.start(engine, "script_flow", business_key="SO-7", variables={"price": 60, "qty": 2})
    row = started.instance
    assert started.created
    assert row.business_key == "SO-7"
    assert row.state == "active"
    assert row.active_elements == ["big_order"]
    assert row.variables["total"] == 120
    small = instances.start(engine, "script_flow", variables={"price": 1, "qty": 2}).instance
    assert small.state == "completed" and small.ended_at is not None


def test_unknown_process_key_is_not_found(engine):
    with pytest.raises(NotFound, match="no process definition with key 'nope'"):
        instances.start(engine, "nope")


def test_idempotency_key_returns_the_same_instance(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    first = instances.start(engine, "user_task_flow", idempotency_key="order-42")
    second = instances.start(engine, "user_task_flow", idempotency_key="order-42")
    assert first.created and not second.created
    assert second.instance.id == first.instance.id
    with engine.db.read() as session:
        assert len(session.scalars(select(ProcessInstance)).all()) == 1
        assert len(session.scalars(select(UserTask)).all()) == 1


def test_an_idempotency_key_reused_with_another_request_is_refused(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    first = instances.start(engine, "user_task_flow", business_key="SO-1", variables={"a": 1, "b": [1, 2]},
                            idempotency_key="order-42")
    # Same request, keys in another order: a retry, answered with the first instance.
    again = instances.start(engine, "user_task_flow", business_key="SO-1", variables={"b": [1, 2], "a": 1},
                            idempotency_key="order-42")
    assert not again.created and again.instance.id == first.instance.id
    for changed in ({"business_key": "SO-2", "variables": {"a": 1, "b": [1, 2]}},
                    {"business_key": "SO-1", "variables": {"a": 2, "b": [1, 2]}},
                    {"business_key": "SO-1", "variables": {}}):
        with pytest.raises(IdempotencyKeyReused, match="'order-42' was used with a different request body"):
            instances.start(engine, "user_task_flow", idempotency_key="order-42", **changed)
    with engine.db.read() as session:
        assert len(session.scalars(select(ProcessInstance)).all()) == 1


def test_concurrent_starts_with_one_idempotency_key_make_one_instance(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    results, barrier = [], threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        results.append(instances.start(engine, "user_task_flow", idempotency_key="same"))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.instance.id for r in results}) == 1
    assert sum(r.created for r in results) == 1


def test_query_by_business_key_key_and_state(engine):
    deploy_models(engine, "user_task_flow.bpmn", "script_flow.bpmn")
    a = instances.start(engine, "user_task_flow", business_key="A").instance
    instances.start(engine, "script_flow", business_key="A", variables={"price": 1, "qty": 1})
    with engine.db.read() as session:
        by_key = session.scalars(instances.query(business_key="A", key="user_task_flow")).all()
        completed = session.scalars(instances.query(state="completed")).all()
    assert [r.id for r in by_key] == [a.id]
    assert [r.process_key for r in completed] == ["script_flow"]


def test_cancel_removes_open_work_and_is_final(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    row = instances.start(engine, "user_task_flow").instance
    cancelled = instances.cancel(engine, row.id, actor="ops", reason="customer withdrew")
    assert cancelled.state == "cancelled"
    with engine.db.read() as session:
        assert session.scalars(select(UserTask)).all() == []
        kinds = [e.kind for e in history.of_instance(session, row.id)]
    assert kinds[-1] == "instance_cancelled"
    with pytest.raises(Conflict):
        instances.cancel(engine, row.id)


def test_history_records_who_did_what_with_which_data(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    row = instances.start(engine, "user_task_flow", business_key="H1", actor="api-client").instance
    with engine.db.read() as session:
        task_id = session.scalars(select(UserTask.id)).one()
    tasks.complete(engine, task_id, {"amount": 5, "kind": "a"}, actor="alice")
    with engine.db.read() as session:
        events = history.of_instance(session, row.id)
    assert events[0].kind == "instance_started" and events[0].actor == "api-client"
    review = [e for e in events if e.kind == "element_completed" and e.element_id == "review"]
    assert len(review) == 1
    assert review[0].actor == "alice"
    assert review[0].data == {"amount": 5, "kind": "a"}
    assert review[0].element_name == "Review order"


def test_instance_state_is_stored_without_the_spec(engine):
    """Specs are stored once per definition; the state of a waiting instance stays small."""
    import zlib

    from taktflow.engine.store.models import InstanceState

    deploy_models(engine, "user_task_flow.bpmn")
    row = instances.start(engine, "user_task_flow").instance
    with engine.db.read() as session:
        blob = session.get(InstanceState, row.id).state
    state = zlib.decompress(blob)
    assert b'"spec"' not in state and b"task_specs" not in state
