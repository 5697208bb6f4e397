"""User tasks: the mirrored task table, claiming, form validation, completion races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from taktflow.engine import instances, tasks
from taktflow.engine.errors import Conflict, InvalidVariables
from taktflow.engine.store.models import TaskCandidate, UserTask
from tests.support import deploy_models


def _open_tasks(engine, **filters):
    with engine.db.read() as session:
        return session.scalars(tasks.query(**filters)).all()


def test_user_task_is_mirrored_with_lane_group_form_and_due_date(engine, clock):
    deploy_models(engine, "user_task_flow.bpmn")
    row = instances.start(engine, "user_task_flow", business_key="SO-1").instance
    [review] = _open_tasks(engine, candidate_groups=["sales"])
    assert review.name == "Review order" and review.instance_id == row.id and review.business_key == "SO-1"
    assert [f["id"] for f in review.form["fields"]] == ["amount", "note", "kind", "urgent"]
    assert _open_tasks(engine, candidate_groups=["warehouse"]) == []

    tasks.complete(engine, review.id, {"amount": "7", "kind": "b", "urgent": "on"})
    [confirm] = _open_tasks(engine, instance_id=row.id)
    assert confirm.candidate_groups == ["shipping", "warehouse"]
    assert confirm.assignee == "bob" and confirm.priority == 80
    assert confirm.due_at == clock.now() + timedelta(hours=1)
    assert _open_tasks(engine, assignee="bob")[0].id == confirm.id
    assert row.id == _open_tasks(engine, candidate_groups=["shipping"])[0].instance_id
    with engine.db.read() as session:  # the completed task's candidates went with it
        assert sorted(session.scalars(select(TaskCandidate.value))) == ["shipping", "warehouse"]


def test_form_errors_name_each_field_and_lose_nothing(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    instances.start(engine, "user_task_flow")
    [review] = _open_tasks(engine)
    with pytest.raises(InvalidVariables) as caught:
        tasks.complete(engine, review.id, {"amount": "500", "note": "far too long a note", "kind": "z"})
    assert {(e.field, e.message) for e in caught.value.errors} == {
        ("amount", "must be at most 100"),
        ("note", "must be at most 10 characters"),
        ("kind", "must be one of a, b"),
    }
    with pytest.raises(InvalidVariables, match="amount: is required"):
        tasks.complete(engine, review.id, {})
    with pytest.raises(InvalidVariables, match="amount: must be a whole number"):
        tasks.complete(engine, review.id, {"amount": "seven"})
    # The task is still open and the instance untouched: the invalid submits changed nothing.
    assert [t.id for t in _open_tasks(engine)] == [review.id]
    instance = tasks.complete(engine, review.id, {"amount": "7", "urgent": "false"})
    assert instance.variables["amount"] == 7 and instance.variables["urgent"] is False


def test_claim_and_unclaim(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    instances.start(engine, "user_task_flow")
    [review] = _open_tasks(engine)
    engine.command(lambda s: tasks.claim(s, review.id, "alice"))
    with pytest.raises(Conflict, match="claimed by alice"):
        engine.command(lambda s: tasks.claim(s, review.id, "carol"))
    with pytest.raises(Conflict, match="claimed by alice"):
        tasks.complete(engine, review.id, {"amount": 1}, user="carol")
    engine.command(lambda s: tasks.unclaim(s, review.id))
    engine.command(lambda s: tasks.claim(s, review.id, "carol"))
    assert _open_tasks(engine, assignee="carol")[0].id == review.id


def test_two_concurrent_completions_of_one_task_exactly_one_wins(engine):
    deploy_models(engine, "user_task_flow.bpmn")
    row = instances.start(engine, "user_task_flow").instance
    [review] = _open_tasks(engine)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def complete(amount: int) -> None:
        barrier.wait()
        try:
            tasks.complete(engine, review.id, {"amount": amount})
            outcomes.append(f"won:{amount}")
        except Conflict as exc:
            outcomes.append(f"conflict:{exc}")

    threads = [threading.Thread(target=complete, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1, outcomes
    assert "was completed already" in [o for o in outcomes if o.startswith("conflict")][0]
    with engine.db.read() as session:
        instance = instances.get(session, row.id)
        open_tasks = session.scalars(select(UserTask)).all()
    assert instance.variables["amount"] == int(winners[0].split(":")[1])
    assert [t.element_id for t in open_tasks] == ["confirm"]
    assert instance.version == 2
