"""A make-item shortage inside a work order: a child work order makes the shortfall through the work-order
process, linked to its parent, and the parent goes on when the child's finished goods are received."""

from __future__ import annotations

from sqlalchemy import select

from taktflow.engine.store.models import Incident
from taktflow.handlers.erp.purchasing.models import Requisition
from taktflow.handlers.mes.work_order import process
from taktflow.handlers.mes.work_order.models import WorkOrder


def _children(plant, parent: str) -> list[WorkOrder]:
    with plant.engine.db.read() as session:
        return list(session.scalars(select(WorkOrder).where(WorkOrder.origin == parent).order_by(WorkOrder.id)))


def test_short_make_component_starts_a_child_work_order_and_the_parent_goes_on_when_it_is_received(plant):
    # 101 frames need 202 brackets (a make item with BOM and routing); 200 are on hand.
    frames = process.release(plant.engine, item_code="FG-FRAME", quantity=101)
    parent = plant.work_order(frames.number)
    assert parent.state == "waiting_material"
    [child] = _children(plant, frames.number)
    assert (child.item_code, child.quantity, child.parent_id, child.state) == ("FG-BRACKET", 2, parent.id,
                                                                               "in_progress")
    assert child.priority > parent.priority
    # The child runs the real work-order process, under its own business key, knowing its parent.
    run = plant.instance(child.instance_id)
    assert (run.process_key, run.business_key, run.variables["parentWorkOrderNumber"]) == (
        "work_order", child.number, frames.number)
    with plant.engine.db.read() as session:
        assert session.scalars(select(Incident)).all() == []
        assert session.scalars(select(Requisition)).all() == []  # nothing bought for a make item
    # The parent waits: only the child has work on the floor.
    assert plant.open_tasks() == ["start_operation"]
    assert plant.task("start_operation").instance_id == child.instance_id

    # The api shows the link both ways.
    api = plant.api()
    body = api.get(f"/api/v1/work-orders/{frames.number}").json()
    assert [(c["number"], c["itemCode"], c["quantity"]) for c in body["children"]] == [
        (child.number, "FG-BRACKET", 2)]
    assert api.get(f"/api/v1/work-orders/{child.number}").json()["parentWorkOrderNumber"] == frames.number

    plant.run_operation("WC-CUT", "CUT-01", 2, good=2, measured=100.0)
    plant.run_operation("WC-ASSY", "ASSY-01", 2, good=2)
    assert plant.work_order(frames.number).state == "waiting_material"
    plant.run_operation("WC-PACK", "PACK-01", 2, good=2)
    # The child's finished-goods receipt woke the parent, which found its brackets and staged.
    assert plant.work_order(child.number).state == "closed"
    parent = plant.work_order(frames.number)
    assert parent.state == "in_progress"
    [bracket_req] = [r for r in parent.requirements if r.component_code == "FG-BRACKET"]
    assert bracket_req.issued_qty == 202
    assert plant.task("start_operation").instance_id == parent.instance_id


def test_a_recheck_while_the_child_runs_asks_for_nothing_more(plant):
    frames = process.release(plant.engine, item_code="FG-FRAME", quantity=101)
    plant.fire_due_timers(__import__("datetime").timedelta(hours=1, minutes=1))  # the hourly re-check
    assert [c.quantity for c in _children(plant, frames.number)] == [2]
    assert plant.work_order(frames.number).state == "waiting_material"


def test_a_short_buy_item_still_goes_to_procure_to_pay(plant):
    # 1300 brackets need 5200 bolts (a buy item), 5000 in stock: a requisition, no child work order.
    brackets = process.release(plant.engine, item_code="FG-BRACKET", quantity=1300)
    assert plant.work_order(brackets.number).state == "waiting_material"
    assert _children(plant, brackets.number) == []
    with plant.engine.db.read() as session:
        [req] = session.scalars(select(Requisition)).all()
        assert req.source == "production"


def _shelf(api, item: str) -> list[dict]:
    return [lv for lv in api.get("/api/v1/stock").json() if (lv["item"], lv["location"]) == (item, "WH1/STOCK")]


def test_brackets_reserved_for_a_sales_order_are_neither_counted_nor_staged_for_a_work_order(plant):
    # A customer's order reserves 5 of the 200 brackets; 101 frames need 202, so the child makes 7, not 2,
    # and staging leaves the customer's 5 on the shelf.
    api = plant.api()
    r = api.post("/api/v1/sales-orders", json={"customerCode": "C-ACME",
                                               "lines": [{"itemCode": "FG-BRACKET", "quantity": 5}]})
    assert r.status_code == 201, r.text
    [level] = _shelf(api, "FG-BRACKET")
    assert (level["quantity"], level["reserved"]) == (200, 5)

    frames = process.release(plant.engine, item_code="FG-FRAME", quantity=101)
    [child] = _children(plant, frames.number)
    assert child.quantity == 7
    shortage = api.get(f"/api/v1/work-orders/{frames.number}").json()["shortages"]
    assert [(s["itemCode"], s["onHand"], s["shortQuantity"]) for s in shortage] == [("FG-BRACKET", 195, 7)]

    for work_center, machine in (("WC-CUT", "CUT-01"), ("WC-ASSY", "ASSY-01"), ("WC-PACK", "PACK-01")):
        plant.run_operation(work_center, machine, 7, good=7, **({"measured": 100.0} if machine == "CUT-01" else {}))
    assert plant.work_order(frames.number).state == "in_progress"  # staged 202 once the 7 arrived
    [level] = _shelf(api, "FG-BRACKET")
    assert (level["quantity"], level["reserved"]) == (5, 5)  # the customer's brackets are still there
