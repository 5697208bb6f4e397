"""Long-running loops: the task tree stays as deep as what still runs, not as long as the instance's history."""

from __future__ import annotations

from sqlalchemy import func, select

from taktflow.engine import events, history, instances, tasks
from taktflow.engine.core import Engine
from taktflow.engine.store.models import InstanceState, UserTask
from tests.support import deploy_models, instance_row

TICKS = 600  # rounds of the message loop: its chain of tasks went past SpiffWorkflow's depth limit at ~333


def _state_bytes(engine: Engine, instance_id: str) -> int:
    with engine.db.read() as session:
        return session.scalar(select(func.length(InstanceState.state)).where(InstanceState.instance_id == instance_id))


def test_a_loop_of_six_hundred_rounds_keeps_waiting_counting_and_finishes(engine):
    deploy_models(engine, "concurrency_flow.bpmn")
    row = instances.start(engine, "concurrency_flow", business_key="LOOP",
                          variables={"ticks": 0, "expected_ticks": TICKS}).instance
    sizes = {}
    for tick in range(1, TICKS + 1):
        # Before, round ~333 left the next message catch READY below the depth SpiffWorkflow looks at: no
        # subscription, and this call answered "no instance waits" for an instance that was waiting.
        [reached] = events.correlate_message(engine, "counter_tick", business_key="LOOP")
        assert reached.instance_id == row.id
        if tick in (10, TICKS):
            sizes[tick] = _state_bytes(engine, row.id)
        if tick == TICKS // 2:  # half way, a restart: the pruned tree loads from the database
            engine = Engine(engine.db, registry=engine.registry, clock=engine.clock)
    assert sizes[TICKS] <= sizes[10] * 1.2, sizes

    with engine.db.read() as session:
        task_id = session.scalars(select(UserTask.id).where(UserTask.instance_id == row.id)).one()
    tasks.complete(engine, task_id, {}, actor="clerk")
    done = instance_row(engine, row.id)
    assert (done.state, done.variables["counted"]) == ("completed", TICKS)
    with engine.db.read() as session:  # every round is in the history, though no longer in the tree
        counted = [e for e in history.of_instance(session, row.id)
                   if e.kind == "element_completed" and e.element_id == "count_tick"]
    assert len(counted) == TICKS
