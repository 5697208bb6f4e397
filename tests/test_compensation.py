"""BPMN compensation: undoing completed work, latest first, across saved and reloaded instance state.

The models are drawn as in Camunda Modeler (tests/models/compensation). Their compensation handlers are
service tasks whose in-process handlers record what they were asked to undo, user tasks, or scripts. Every
compensation here is triggered by a command after the instance was saved at a user task, so what it
finds to compensate comes from the persisted state.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from taktflow.engine import history, instances, jobs, tasks
from taktflow.engine.store.models import ExternalTask, UserTask
from tests.support import deploy_models, record_when_committed

UNDO_TOPICS = ("stock.release", "shipment.cancel", "payment.refund")


@pytest.fixture
def undone(registry: Any) -> list[tuple[str, dict[str, Any]]]:
    """(handler element, the variables it was given), in the order the engine called the handlers."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def undo(ctx: Any) -> dict[str, Any]:
        record_when_committed(ctx, calls, (ctx.element_id, dict(ctx.variables)))
        return {f"{ctx.element_id}_done": True}

    for topic in UNDO_TOPICS:
        registry.register(topic, undo)
    return calls


def _start(engine: Any, process: str, order_id: str) -> Any:
    """Deploy tests/models/compensation/<process>.bpmn and start an instance of it for one order."""
    deploy_models(engine, f"compensation/{process}.bpmn")
    return instances.start(engine, process, variables={"order_id": order_id}).instance


def _complete(engine: Any, instance_id: str, element: str, variables: dict[str, Any] | None = None) -> Any:
    with engine.db.read() as session:
        row = session.scalars(select(UserTask).where(UserTask.instance_id == instance_id,
                                                     UserTask.element_id == element)).one()
    return tasks.complete(engine, row.id, variables or {})


def _completed_elements(engine: Any, instance_id: str) -> set[str]:
    with engine.db.read() as session:
        return {e.element_id for e in history.of_instance(session, instance_id) if e.kind == "element_completed"}


def test_withdrawn_order_undoes_both_bookings_latest_first_with_their_own_data(engine, undone):
    row = _start(engine, "order_withdrawal", "42")
    assert row.state == "active" and row.active_elements == ["confirm_order"]
    assert undone == []

    row = _complete(engine, row.id, "confirm_order", {"approved": "false"})

    assert [element for element, _ in undone] == ["cancel_shipment", "release_stock"]
    cancel, release = (variables for _, variables in undone)
    # Each handler sees the data as its activity completed it, not as it is at the throw event.
    assert cancel["shipment"] == "S-42" and cancel["stage"] == "booked"
    assert release["reservation"] == "R-42" and release["stage"] == "reserved" and "shipment" not in release
    assert row.state == "completed"
    assert row.variables["cancel_shipment_done"] is True and row.variables["release_stock_done"] is True
    completed = _completed_elements(engine, row.id)
    assert {"Event_withdraw", "EndEvent_withdrawn"} <= completed and "EndEvent_confirmed" not in completed


def test_confirmed_order_compensates_nothing(engine, undone):
    row = _start(engine, "order_withdrawal", "43")
    row = _complete(engine, row.id, "confirm_order", {"approved": "true"})
    assert row.state == "completed" and undone == []
    assert not {"cancel_shipment", "release_stock"} & _completed_elements(engine, row.id)


def test_compensation_end_event_waits_for_a_handler_that_is_a_user_task(engine):
    row = _start(engine, "order_reversal", "7")
    row = _complete(engine, row.id, "customer_accepts", {"accepted": "false"})

    # Shipping was the later activity: its recall comes first, and the refund waits for it.
    assert row.state == "active"
    assert row.active_elements == ["EndEvent_reversed", "recall_shipment"]
    assert "refunded" not in row.variables
    with engine.db.read() as session:
        recall = session.scalars(select(UserTask).where(UserTask.instance_id == row.id)).one()
    assert recall.element_id == "recall_shipment" and recall.candidate_groups == ["shipping"]
    assert "refund_card" not in _completed_elements(engine, row.id)

    row = _complete(engine, row.id, "recall_shipment", {"recalled": "true"})
    assert row.state == "completed"
    assert row.variables["recalled"] is True and row.variables["refunded"] == "P-7"
    assert {"recall_shipment", "refund_card", "EndEvent_reversed"} <= _completed_elements(engine, row.id)


def test_activity_ref_undoes_one_activity_and_nothing_is_undone_twice(engine, undone):
    row = _start(engine, "carrier_rejection", "9")
    row = _complete(engine, row.id, "carrier_confirms", {"confirmed": "false"})
    assert [element for element, _ in undone] == ["cancel_shipment"]
    assert row.active_elements == ["inform_sales"]

    row = _complete(engine, row.id, "inform_sales")
    # The second throw compensates everything of the scope that is not compensated yet: the stock only.
    assert [element for element, _ in undone] == ["cancel_shipment", "release_stock"]
    assert row.state == "completed"
    assert "EndEvent_cancelled" in _completed_elements(engine, row.id)


def test_cancelled_transaction_is_compensated_then_leaves_by_its_cancel_boundary_event(engine, undone):
    row = _start(engine, "payment_transaction", "5")
    assert row.active_elements == ["Transaction_booking", "check_payment"]

    row = _complete(engine, row.id, "check_payment", {"paid": "false"})
    assert [element for element, _ in undone] == ["refund_payment", "release_stock"]
    assert undone[0][1]["payment"] == "P-5" and undone[1][1]["reservation"] == "R-5"
    assert row.state == "completed" and row.variables["customer_notified"] is True
    completed = _completed_elements(engine, row.id)
    assert {"notify_customer", "EndEvent_cancelled"} <= completed
    assert not {"EndEvent_booked", "EndEvent_tx_done"} & completed


def test_paid_transaction_keeps_its_work(engine, undone):
    row = _start(engine, "payment_transaction", "6")
    row = _complete(engine, row.id, "check_payment", {"paid": "true"})
    assert row.state == "completed" and undone == []
    completed = _completed_elements(engine, row.id)
    assert "EndEvent_booked" in completed and "notify_customer" not in completed


def test_external_compensation_handler_holds_the_throw_event_until_a_worker_completes_it(engine):
    """No in-process handler for the undo topics: each handler becomes external work, one at a time."""
    row = _start(engine, "order_withdrawal", "11")
    row = _complete(engine, row.id, "confirm_order", {"approved": "false"})
    assert row.state == "active"
    assert row.active_elements == ["Event_withdraw", "cancel_shipment"]
    with engine.db.read() as session:
        [work] = session.scalars(select(ExternalTask).where(ExternalTask.instance_id == row.id)).all()
    assert work.topic == "shipment.cancel" and work.element_id == "cancel_shipment"

    [locked] = jobs.fetch_and_lock(engine, "carrier-bridge", [{"name": "shipment.cancel", "lockDuration": 60000}])
    row = jobs.complete_external(engine, locked.task.id, "carrier-bridge", {"carrier_ack": "C-1"})
    assert row.active_elements == ["Event_withdraw", "release_stock"]
    [locked] = jobs.fetch_and_lock(engine, "erp-bridge", [{"name": "stock.release", "lockDuration": 60000}])
    assert locked.task.element_id == "release_stock"
    row = jobs.complete_external(engine, locked.task.id, "erp-bridge", {"released": True})
    assert row.state == "completed"
    assert row.variables["carrier_ack"] == "C-1" and row.variables["released"] is True


def test_completed_subprocesses_are_compensated_from_inside_latest_first(engine):
    """Invoicing has a compensation event subprocess; Pick and pack has none, so its own activities are
    compensated (latest first), one of them by a user task that waits across commands."""
    row = _start(engine, "order_fulfilment", "3")
    # The compensation event subprocess waits for compensation: it did not run when Invoicing ran.
    assert "credited_invoice" not in row.variables and row.active_elements == ["confirm_delivery"]

    row = _complete(engine, row.id, "confirm_delivery", {"delivered": "false"})
    assert row.variables["credited_invoice"] == "INV-3"
    assert row.active_elements == ["Event_undo_fulfilment", "unpack"]
    assert "released_bin" not in row.variables

    row = _complete(engine, row.id, "unpack")
    assert row.state == "completed" and row.variables["released_bin"] == "B-3"
    with engine.db.read() as session:
        events = history.of_instance(session, row.id)
    # Each subprocess completed once: compensating it did not run it again.
    completions = [e.element_id for e in events if e.kind == "element_completed"]
    assert completions.count("pick_and_pack") == 1 and completions.count("invoicing") == 1
    assert "EndEvent_refused" in completions and "EndEvent_delivered" not in completions
