"""The engine keeps the workflows its committed commands saved; what it keeps is never staler than the database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine import events, history, instances, tasks
from taktflow.engine.core import Engine
from taktflow.engine.store.models import ProcessInstance, UserTask
from tests.support import deploy_models, instance_row


def _approve_task(engine: Engine, instance_id: str) -> str:
    with engine.db.read() as session:
        return session.scalars(select(UserTask.id).where(UserTask.instance_id == instance_id)).one()


def test_an_instance_moved_by_another_server_continues_from_what_that_server_saved(engine):
    deploy_models(engine, "concurrency_flow.bpmn")
    other_server = Engine(engine.db, registry=engine.registry, clock=engine.clock)
    row = instances.start(engine, "concurrency_flow", business_key="C-1",
                          variables={"ticks": 0, "expected_ticks": 2}).instance

    events.correlate_message(other_server, "counter_tick", business_key="C-1")  # ticks = 1, saved by the other
    events.correlate_message(engine, "counter_tick", business_key="C-1")  # must count on from 1, not from 0
    tasks.complete(engine, _approve_task(engine, row.id), {}, actor="clerk")

    done = instance_row(engine, row.id)
    assert done.state == "completed"
    assert done.variables["counted"] == 2


def test_a_failed_command_leaves_nothing_of_its_work_in_the_engine(engine):
    deploy_models(engine, "concurrency_flow.bpmn")
    row = instances.start(engine, "concurrency_flow", variables={"ticks": 0, "expected_ticks": 1}).instance
    task_id = _approve_task(engine, row.id)

    def approve_then_fail(session: Session) -> None:
        run = engine.load_run(session, row.id, "clerk")
        run.task(task_id).run()
        run.advance()
        raise RuntimeError("the command failed after moving the instance")

    with pytest.raises(RuntimeError, match="failed after moving"):
        engine.command(approve_then_fail)

    # The task is still open: the next command starts from the committed state, not from the failed one's.
    tasks.complete(engine, task_id, {}, actor="clerk")
    events.correlate_message(engine, "counter_tick", business_key=None)
    assert instance_row(engine, row.id).state == "completed"
    with engine.db.read() as session:
        completed = [e for e in history.of_instance(session, row.id)
                     if e.kind == "element_completed" and e.element_id == "approve"]
    assert len(completed) == 1


def test_kept_workflows_stay_within_their_task_budget_and_the_rest_load_from_the_database(engine):
    deploy_models(engine, "concurrency_flow.bpmn")
    small = Engine(engine.db, registry=engine.registry, clock=engine.clock, kept_tasks=40)
    started = [instances.start(small, "concurrency_flow", business_key=f"B-{n}",
                               variables={"ticks": 0, "expected_ticks": 1}).instance for n in range(8)]
    assert 0 < small.kept_tasks <= 40
    for row in started:  # the ones that were let go load from the database and finish the same
        events.correlate_message(small, "counter_tick", business_key=row.business_key)
        tasks.complete(small, _approve_task(small, row.id), {}, actor="clerk")
        assert instance_row(small, row.id).variables["counted"] == 1
    assert small.kept_tasks == 0  # finished instances are not kept


def test_the_threads_of_a_server_share_what_is_kept(engine):
    deploy_models(engine, "concurrency_flow.bpmn")
    errors: list[BaseException] = []

    def clerk(n: int) -> None:
        try:
            for i in range(15):
                row = instances.start(engine, "concurrency_flow", business_key=f"T-{n}-{i}",
                                      variables={"ticks": 0, "expected_ticks": 0}).instance
                tasks.complete(engine, _approve_task(engine, row.id), {}, actor=f"clerk-{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.db.read() as session:
        states = session.scalars(select(ProcessInstance.state)).all()
    assert states == ["completed"] * 90
    assert engine.kept_tasks == 0  # every kept workflow was let go when its instance finished
