"""Shop-floor rules with their bookings: consumption by lot, refused input that books nothing, usage variance,
multi-level genealogy, and the demo plant. The books reconcile after each test (fixture)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from taktflow.engine import tasks
from taktflow.engine.errors import Conflict
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.models import JournalEntry
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import StockMove
from taktflow.handlers.mes.bom.models import Bom
from taktflow.handlers.mes.bom.service import create_bom, explode
from taktflow.handlers.mes.common import MesError
from taktflow.handlers.mes.demo import seed_plant
from taktflow.handlers.mes.genealogy.service import genealogy
from taktflow.handlers.mes.operation import service as operations
from taktflow.handlers.mes.routing.models import Routing, RoutingOperation
from taktflow.handlers.mes.work_center.models import Machine, WorkCenter
from taktflow.handlers.mes.work_order import process
from taktflow.handlers.mes.work_order.service import operations_of


def _books(plant) -> tuple[int, int]:
    with plant.engine.db.read() as session:
        return (session.scalar(select(func.count()).select_from(JournalEntry)),
                session.scalar(select(func.count()).select_from(StockMove)))


def _lot_id(plant, code: str) -> int:
    with plant.engine.db.read() as session:
        return session.scalar(select(stock.Lot.id).where(stock.Lot.code == code))


def _operation(plant, number: str, seq: int):
    with plant.engine.db.read() as session:
        [op] = [o for o in operations_of(session, plant.work_order(number)) if o.seq == seq]
        return op


def _no_backflush(plant, item_code: str, seq: int) -> None:
    """The operator records this operation's material by lot instead (a routing setting)."""

    def work(session) -> None:
        routing = session.scalar(select(Routing).where(Routing.item_code == item_code))
        [step] = [s for s in routing.operations if s.seq == seq]
        step.backflush = False

    plant.engine.command(work)


def test_consumption_by_lot_refuses_an_empty_lot_and_books_under_consumption_as_variance(plant):
    _no_backflush(plant, "FG-BRACKET", 10)
    plant.engine.command(lambda s: stock.create_lot(s, item_id=item_by_code(s, "RM-STEEL").id, code="HEAT-EMPTY",
                                                    now=plant.engine.clock.now()))
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=10)
    plant.complete("start_operation")
    cut = _operation(plant, wo.number, 10)
    api = plant.api()
    before = _books(plant)
    for lot, message in ((_lot_id(plant, "HEAT-EMPTY"), "lot HEAT-EMPTY of RM-STEEL has 0 left"),
                         (_lot_id(plant, "OPEN-BRK-1"), "lot OPEN-BRK-1 is not a lot of RM-STEEL"),
                         (987654, "lot 987654 does not exist")):
        r = api.post(f"/api/v1/operations/{cut.id}/consumptions", json={"itemCode": "RM-STEEL", "lotId": lot,
                                                                        "quantity": 2})
        assert (r.status_code, message in r.json()["detail"]) == (422, True), r.text
    r = api.post(f"/api/v1/operations/{cut.id}/consumptions", json={"itemCode": "RM-BOLT", "quantity": 2})
    assert r.status_code == 422 and "does not consume RM-BOLT" in r.json()["detail"]
    assert _books(plant) == before  # nothing of the refused consumptions was booked

    steel = _lot_id(plant, "OPEN-STEEL-1")
    r = api.post(f"/api/v1/operations/{cut.id}/consumptions", json={"itemCode": "RM-STEEL", "lotId": steel,
                                                                    "quantity": 4.8})
    assert r.status_code == 201, r.text
    assert [(c["kind"], c["lotCode"], c["quantity"], c["value"]) for c in r.json()] == [
        ("consume", "OPEN-STEEL-1", 4.8, 12.0)]
    plant.parts("CUT-01", 10)
    plant.complete("confirm_quantities", {"goodQuantity": 10})
    r = api.post(f"/api/v1/operations/{cut.id}/consumptions", json={"itemCode": "RM-STEEL", "lotId": steel,
                                                                    "quantity": 1})
    assert r.status_code == 409 and "consumption is recorded while it runs" in r.json()["detail"]
    plant.complete("inspect", {"measuredValue": 100.0}, actor="qa-ben")
    plant.run_operation("WC-ASSY", "ASSY-01", 10, good=10)
    plant.run_operation("WC-PACK", "PACK-01", 10, good=10)

    done = plant.work_order(wo.number)
    with plant.engine.db.read() as session:
        steel_req = next(r for r in done.requirements if r.component_code == "RM-STEEL")
        # 5.371 kg staged (5 kg standard with 5 % and 2 % scrap allowance), 4.8 used, the rest back to stock.
        assert (steel_req.issued_qty, steel_req.consumed_qty, steel_req.returned_qty) == (
            Decimal("5.371"), Decimal("4.8"), Decimal("0.571"))
        # 0.2 kg below the 5 kg standard of 10 brackets at 2.50: a favourable usage variance (credit 5400).
        assert ledger.account_balance(session, ledger.USAGE_VARIANCE) == Decimal("-0.50")
        back = genealogy(session, done.fg_lot_id)
        assert back["madeBy"]["materials"] == [
            {"itemCode": "RM-BOLT", "lotId": None, "lotCode": None, "quantity": 40},
            {"itemCode": "RM-STEEL", "lotId": steel, "lotCode": "OPEN-STEEL-1", "quantity": 4.8}]


def test_backflush_books_extra_recorded_material_as_over_consumption_and_later_scrap_is_no_usage_variance(plant):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=10)
    plant.run_operation("WC-CUT", "CUT-01", 10, good=9, scrap=1, measured=100.0)  # backflush: 10 × 0.5 kg steel
    plant.complete("start_operation")
    assembly = _operation(plant, wo.number, 20)
    assert assembly.input_qty == 9  # what cutting made good
    with plant.engine.db.read() as session:
        staged_bolts = next(r for r in plant.work_order(wo.number).requirements if r.component_code == "RM-BOLT")
        assert staged_bolts.issued_qty == 40
    # Two bolts dropped: the operator records them on top of what backflush will take (4 × 9).
    plant.engine.command(lambda s: operations.record_consumption(
        s, operations.get_operation(s, assembly.id), component="RM-BOLT", lot_id=None, quantity=2,
        key="test:dropped-bolts", now=plant.engine.clock.now()))
    plant.parts("ASSY-01", 9)
    plant.complete("confirm_quantities", {"goodQuantity": 9})
    plant.run_operation("WC-PACK", "PACK-01", 9, good=9)
    done = plant.work_order(wo.number)
    assert (done.state, done.good_qty, done.scrap_qty) == ("closed", 9, 1)
    with plant.engine.db.read() as session:
        bolts = next(r for r in done.requirements if r.component_code == "RM-BOLT")
        assert (bolts.consumed_qty, bolts.returned_qty) == (38, 2)
        # +2 bolts × 0.10 over the standard of the 9 assembled; the blank scrapped at cutting used its steel at
        # standard (its value is scrap, 5200, not usage variance).
        assert ledger.account_balance(session, ledger.USAGE_VARIANCE) == Decimal("0.20")
        assert ledger.account_balance(session, ledger.SCRAP) > 0
        variances = [e for e in ledger.list_journal_entries(session, account=ledger.USAGE_VARIANCE, limit=10)]
        assert [e.memo for e in variances] == [f"{wo.number}: usage variance RM-BOLT 2"]


def test_completing_an_operation_twice_is_refused_and_books_nothing(plant):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=2)
    plant.complete("start_operation")
    plant.parts("CUT-01", 2)
    task = plant.task("confirm_quantities")
    tasks.complete(plant.engine, task.id, {"goodQuantity": 2}, actor="op-anna")
    before = _books(plant)
    with pytest.raises(Conflict, match="was completed already"):
        tasks.complete(plant.engine, task.id, {"goodQuantity": 2}, actor="op-anna")
    cut = _operation(plant, wo.number, 10)
    with pytest.raises(Conflict, match=f"operation {wo.number}/10 is confirmed: it was confirmed already"):
        plant.engine.command(lambda s: operations.confirm(
            s, operations.get_operation(s, cut.id), good=2, scrap=0, operator="op-anna",
            now=plant.engine.clock.now(), key="test:second-confirmation"))
    assert _books(plant) == before
    assert plant.open_tasks() == ["inspect"]


def test_genealogy_across_two_levels_and_back_to_the_sales_order(plant):
    from taktflow.handlers.erp.sales.service import place_sales_order
    from tests.erp.flow import complete

    brackets = process.release(plant.engine, item_code="FG-BRACKET", quantity=10)
    plant.run_operation("WC-CUT", "CUT-01", 10, good=10, measured=100.0)
    plant.run_operation("WC-ASSY", "ASSY-01", 10, good=10)
    plant.run_operation("WC-PACK", "PACK-01", 10, good=10)
    # 101 frames need 202 brackets: FIFO takes the 200 of the opening lot and 2 of the brackets just made.
    frames = process.release(plant.engine, item_code="FG-FRAME", quantity=101)
    for device, measured in (("CUT-01", 100.0), ("ASSY-01", None), ("PACK-01", None)):
        plant.complete("start_operation")
        plant.parts(device, 101, per_signal=101)  # one reading for the whole batch
        plant.complete("confirm_quantities", {"goodQuantity": 101})
        if measured is not None:
            plant.complete("inspect", {"measuredValue": measured}, actor="qa-ben")
    assert plant.work_order(frames.number).state == "closed"
    # The 8 brackets left of the made lot are sold (the opening lot is used up by the frames).
    _, so_number, o2c = place_sales_order(plant.engine, customer="C-NORD",
                                          lines=[{"itemCode": "FG-BRACKET", "quantity": 8}])
    complete(plant.engine, o2c, "pick_and_ship")
    with plant.engine.db.read() as session:
        steel = genealogy(session, _lot_id(plant, "OPEN-STEEL-1"))
        used = {u["workOrder"]: u for u in steel["usedIn"]}
        assert set(used) == {brackets.number, frames.number}
        assert used[brackets.number]["code"] == brackets.number
        assert [(u["workOrder"], u["itemCode"], u["code"], u["quantity"])
                for u in used[brackets.number]["usedIn"]] == [(frames.number, "FG-FRAME", None, 2)]
        assert used[frames.number]["code"] is None  # frames are not tracked by lot: the trail ends at the order
        assert [(o["salesOrder"], o["customer"], o["lotCode"], o["quantity"]) for o in steel["salesOrders"]] == [
            (so_number, "C-NORD", brackets.number, 8)]
        made = genealogy(session, plant.work_order(brackets.number).fg_lot_id)
        assert [(c["code"], c["itemCode"]) for c in made["consumed"]] == [("OPEN-STEEL-1", "RM-STEEL")]
        assert [(u["workOrder"], u["quantity"]) for u in made["usedIn"]] == [(frames.number, 2)]
        assert [(o["salesOrder"], o["quantity"]) for o in made["salesOrders"]] == [(so_number, 8)]


def test_demo_plant_seeding_is_idempotent_with_three_work_centers_two_products_and_a_multi_level_bom(plant):
    def counts(session) -> tuple[int, ...]:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (
            WorkCenter, Machine, Bom, Routing, RoutingOperation))

    with plant.engine.db.read() as session:
        first = counts(session)
    plant.engine.command(seed_plant)
    plant.engine.command(seed_plant)
    with plant.engine.db.read() as session:
        assert counts(session) == first == (3, 3, 3, 2, 6)
        frame = {(r.component_code, r.operation_seq): r for r in explode(session, "FG-FRAME")}
        # FG-FRAME → FG-BRACKET (a stocked sub-assembly with its own BOM) and steel; FG-BRACKET → phantom
        # SA-BLANK → steel: the phantom level is exploded through, with both scrap allowances compounded.
        assert set(frame) == {("FG-BRACKET", 20), ("RM-STEEL", 10), ("RM-BOLT", 20)}
        assert session.scalar(select(Bom).where(Bom.item_code == "FG-BRACKET")) is not None
        bracket = {r.component_code: r for r in explode(session, "FG-BRACKET")}
        assert bracket["RM-STEEL"].required_per_unit == (Decimal("0.5") / Decimal("0.95") / Decimal("0.98")).quantize(
            Decimal("0.0001"))
        assert [item_by_code(session, code).kind for code in ("FG-BRACKET", "FG-FRAME")] == ["finished_good"] * 2
    with pytest.raises(MesError, match="has a BOM already"):
        plant.engine.command(lambda s: create_bom(s, item_code="FG-FRAME",
                                                  lines=[{"component": "RM-BOLT", "quantity": 1}]))
