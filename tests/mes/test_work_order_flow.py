"""The work-order process end to end: material, staging, operations fed by machine messages, inspection,
finished goods, production performance; and its branches."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from taktflow.engine.store.models import ProcessInstance
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.mes.work_order import process
from taktflow.handlers.mes.work_order.service import operations_of


def test_planner_work_order_runs_to_finished_goods_with_books_and_genealogy(plant):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=10, actor="planner-pia")
    assert plant.task("start_operation").candidate_groups == ["operator_WC-CUT"]
    plant.run_operation("WC-CUT", "CUT-01", 10, good=10, measured=100.1)
    assert plant.task("start_operation").candidate_groups == ["operator_WC-ASSY"]
    plant.run_operation("WC-ASSY", "ASSY-01", 10, good=10)
    plant.run_operation("WC-PACK", "PACK-01", 10, good=10)

    done = plant.work_order(wo.number)
    assert done.state == "closed" and done.good_qty == 10 and done.fg_lot_code == wo.number
    with plant.engine.db.read() as session:
        fg = item_by_code(session, "FG-BRACKET")
        assert stock.on_hand(session, item_id=fg.id, lot_id=done.fg_lot_id) == 10
        instance = session.get(ProcessInstance, done.instance_id)
        assert instance.state == "completed"
        perf = done.performance
        assert perf["responseState"] == "Completed"
        produced = [m for m in perf["materialActuals"] if m["materialUse"] == "Produced"]
        assert produced == [{"materialDefinitionId": "FG-BRACKET", "materialLotId": wo.number,
                             "materialUse": "Produced", "quantity": 10, "unitOfMeasure": "pcs",
                             "storageLocation": "WH1/STOCK"}]
        ops = operations_of(session, done)
        assert [(o.seq, o.state, o.machine_code) for o in ops] == [(10, "done", "CUT-01"), (20, "done", "ASSY-01"),
                                                                    (30, "done", "PACK-01")]
        # FG value = material (5 kg steel incl. scrap allowances, 40 bolts) + conversion; no WIP left.
        assert ledger.account_balance(session, ledger.WIP) == 0
        assert done.conversion_cost > 0
        assert Decimal(str(perf["segmentResponses"][0]["conversionCost"])) > 0


def test_oversize_part_is_reworked_then_undersize_scraps_the_batch(plant):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=4)
    plant.run_operation("WC-CUT", "CUT-01", 4, good=4, measured=100.9)  # oversize: the table says rework
    assert plant.task("start_operation").candidate_groups == ["operator_WC-CUT"]
    plant.run_operation("WC-CUT", "CUT-01", 4, good=4, measured=99.0)  # undersize after rework: scrap
    done = plant.work_order(wo.number)
    assert done.state == "closed" and done.good_qty == 0 and done.scrap_qty == 4 and done.fg_lot_id is None
    assert done.performance["responseState"] == "Aborted"
    with plant.engine.db.read() as session:
        assert [(o.state, o.rework_count) for o in operations_of(session, done)] == [
            ("scrapped", 1), ("skipped", 0), ("skipped", 0)]
        assert ledger.account_balance(session, ledger.SCRAP) > 0


def test_machine_silence_raises_one_alert_per_silent_period_and_a_held_machine_opens_a_downtime(plant):
    from taktflow.handlers.mes.operation.service import alerts, downtimes

    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=3)
    plant.complete("start_operation")
    plant.parts("CUT-01", 1)
    assert plant.silence_check(timedelta(seconds=35)) == []  # 12 s ideal cycle × 3 tolerance: not yet
    [silent] = plant.silence_check(timedelta(seconds=1))
    assert (silent["name"], silent["status"], silent["instances"]) == ("machine.silent", "delivered",
                                                                       [wo.instance_id])
    assert plant.silence_check(timedelta(minutes=5)) == []  # one alert per silent period, however long
    plant.parts("CUT-01", 1)  # the machine runs again: a new period starts, the process still waits for it
    assert [s["status"] for s in plant.silence_check(timedelta(seconds=36))] == ["delivered"]
    # Held with its reason opens a downtime; while the machine stands, the watchdog keeps quiet.
    plant.machine_state("CUT-01", "Held", reason="material jam")
    assert plant.silence_check(timedelta(minutes=10)) == []
    plant.machine_state("CUT-01", "Execute")
    assert plant.open_tasks() == []  # the run goes on after the downtime
    plant.parts("CUT-01", 1)  # the third part: the released quantity, the run ends
    with plant.engine.db.read() as session:
        assert [(a.kind, "CUT-01" in a.message) for a in alerts(session)] == [("machine_silent", True)] * 2
        [down] = downtimes(session)
        assert (down.packml_state, down.reason, down.ended_at is not None) == ("Held", "material jam", True)
        [cut, _, _] = operations_of(session, plant.work_order(wo.number))
        assert (cut.state, cut.machine_count, cut.machine_code) == ("running", 3, "CUT-01")
    assert plant.task("confirm_quantities").candidate_groups == ["operator_WC-CUT"]


def test_confirming_more_than_released_is_refused_and_books_nothing(plant):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=3)
    plant.complete("start_operation")
    plant.parts("CUT-01", 3)
    with plant.engine.db.read() as session:
        before = len(ledger.list_journal_entries(session, limit=1000))
    plant.complete("confirm_quantities", {"goodQuantity": 3, "scrapQuantity": 1})
    assert plant.open_tasks() == ["confirm_quantities"]  # back to the operator
    with plant.engine.db.read() as session:
        assert len(ledger.list_journal_entries(session, limit=1000)) == before
        from taktflow.engine.store.models import ProcessInstance as PI
        assert "more than the 3 released" in session.get(PI, plant.work_order(wo.number).instance_id).variables[
            "confirmationError"]


def test_operation_cannot_start_before_its_predecessor_or_twice(plant):
    from taktflow.engine.errors import Conflict
    from taktflow.handlers.mes.operation import service as operations

    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=2)
    with plant.engine.db.read() as session:
        ops = operations_of(session, plant.work_order(wo.number))
        assert [o.state for o in ops] == ["queued", "planned", "planned"]
        with pytest.raises(Conflict, match="operation WO-00001/10 is queued"):
            operations.start(session, ops[1], operator="x", now=plant.engine.clock.now())
        assert [o.id for o in operations.dispatch_list(session, "WC-CUT")] == [ops[0].id]


def test_a_second_operation_at_a_busy_work_center_is_refused_at_its_start_task_until_the_run_ends(plant):
    from taktflow.engine.errors import Conflict

    first = process.release(plant.engine, item_code="FG-BRACKET", quantity=2)
    second = process.release(plant.engine, item_code="FG-BRACKET", quantity=2)
    plant.complete("start_operation", instance_id=first.instance_id)
    with pytest.raises(Conflict, match=r"work center WC-CUT is running operation WO-\d+/10"):
        plant.complete("start_operation", instance_id=second.instance_id)
    plant.task("start_operation", second.instance_id)  # still open: nothing of the refused start was kept

    plant.parts("CUT-01", 2)  # the first run ends on its quantity; it runs until its quantities are confirmed
    with pytest.raises(Conflict, match="is running operation"):
        plant.complete("start_operation", instance_id=second.instance_id)
    plant.complete("confirm_quantities", {"goodQuantity": 2}, instance_id=first.instance_id)
    plant.complete("start_operation", instance_id=second.instance_id)
    with plant.engine.db.read() as session:
        [cut, _, _] = operations_of(session, plant.work_order(second.number))
        assert (cut.state, cut.machine_code) == ("running", "CUT-01")


def test_component_shortage_buys_per_supplier_waits_for_the_receipt_and_rechecks_hourly(plant):
    from sqlalchemy import select

    from taktflow.handlers.erp.purchasing.models import Requisition
    from taktflow.handlers.erp.purchasing.service import raise_requisition
    from taktflow.handlers.mes.work_order.service import procurement_requests, shortages
    from tests.erp.flow import complete, open_tasks

    # 4000 brackets need 2148.4 kg steel (1000 on hand) and 16000 bolts (5000): one requisition per supplier.
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=4000)
    assert plant.work_order(wo.number).state == "waiting_material"

    def requisitions() -> dict[str, tuple[str, str]]:
        with plant.engine.db.read() as session:
            return {r.number: (r.state, r.instance_id) for r in session.scalars(select(Requisition))}

    with plant.engine.db.read() as session:
        requested = {p.component_code: (p.quantity, p.requisition_number, p.instance_id)
                     for p in procurement_requests(session, plant.work_order(wo.number))}
    assert {code: q for code, (q, _, _) in requested.items()} == {"RM-STEEL": Decimal("1148.4"),
                                                                   "RM-BOLT": Decimal("11000")}
    steel_p2p, bolts_p2p = requested["RM-STEEL"][2], requested["RM-BOLT"][2]
    assert plant.instance(steel_p2p).business_key == wo.number  # the receipt's message comes back here
    assert open_tasks(plant.engine, steel_p2p) == ["approve_purchasing"]  # 2871.00 and 1100.00: a buyer approves
    complete(plant.engine, steel_p2p, "approve_purchasing", {"approved": False, "approvedReason": "use coil stock"})
    complete(plant.engine, bolts_p2p, "approve_purchasing", {"approved": True})
    complete(plant.engine, bolts_p2p, "receive_goods")
    # The bolts' receipt woke the order: steel is still short, and the buyer's "no" is not asked again.
    current = plant.work_order(wo.number)
    assert current.state == "waiting_material"
    with plant.engine.db.read() as session:
        assert [s["itemCode"] for s in shortages(session, current)] == ["RM-STEEL"]
        assert len(procurement_requests(session, current)) == 2
    assert sorted(state for state, _ in requisitions().values()) == ["ordered", "rejected"]

    # Steel comes another way (a buyer's own requisition): no message for this order, the hourly re-check sees it.
    _, _, other = raise_requisition(plant.engine, supplier="S-STEEL",
                                    lines=[{"itemCode": "RM-STEEL", "quantity": 1200}])
    complete(plant.engine, other, "approve_purchasing", {"approved": True})
    complete(plant.engine, other, "receive_goods", {"lotCode": "HEAT-2026-77"})
    assert plant.work_order(wo.number).state == "waiting_material"
    plant.fire_due_timers(timedelta(hours=1, seconds=1))
    assert plant.work_order(wo.number).state == "in_progress"  # staged: FIFO took OPEN-STEEL-1, then the heat
    with plant.engine.db.read() as session:
        staged = plant.work_order(wo.number)
        assert {r.component_code: r.issued_qty for r in staged.requirements} == {
            "RM-STEEL": Decimal("2148.4"), "RM-BOLT": Decimal("16000")}
        assert len(session.scalars(select(Requisition)).all()) == 3
    assert plant.task("start_operation").candidate_groups == ["operator_WC-CUT"]


def test_work_order_diagram_draws_every_element_and_no_element_waits_for_single_cycles():
    from lxml import etree

    from tests.mes.conftest import PROCESSES

    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI", "dc": "http://www.omg.org/spec/DD/20100524/DC",
          "di": "http://www.omg.org/spec/DD/20100524/DI"}
    root = etree.parse(str(PROCESSES / "work_order.bpmn")).getroot()
    [proc] = root.findall("bpmn:process", ns)
    elements = {e.get("id"): etree.QName(e).localname for e in proc if isinstance(e.tag, str)}
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    flows = {i for i, kind in elements.items() if kind == "sequenceFlow"}
    assert set(shapes) == set(elements) - flows and set(edges) == flows
    for shape in shapes.values():
        bounds = shape.find("dc:Bounds", ns)
        assert all(float(bounds.get(a)) >= 0 for a in ("x", "y", "width", "height")), shape.get("id")
    for edge in edges.values():
        assert len(edge.findall("di:waypoint", ns)) >= 2, edge.get("id")
    # A per-part wait would be one process round per part (the task tree grows with every round).
    messages = {m.get("id"): m.get("name") for m in root.findall("bpmn:message", ns)}
    waited = {messages[ref.get("messageRef")] for ref in proc.iterfind(".//*[@messageRef]")}
    assert "machine.cycle_completed" not in waited
    assert {"machine.quantity_reached", "machine.interrupted", "machine.silent"} <= waited
