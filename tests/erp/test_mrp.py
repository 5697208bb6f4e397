"""MRP: a textbook multi-level example computed by hand, through the real data model, API and process."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import create_item
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.planning import mrp
from taktflow.handlers.erp.planning import service as planning
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.mes.bom.service import create_bom
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token
from tests.erp.conftest import PROCESSES, deploy_erp
from tests.erp.flow import complete, open_tasks

# Item        make/buy  lead time  on hand  safety  lot sizing             BOM (per parent unit)
# A-TABLE     make      7 d        20       0       lot-for-lot            2 B-FRAME, 1 C-TOP with 20 % scrap (1.25)
# B-FRAME     make      14 d       10       5       fixed 50               3 D-TUBE
# C-TOP       buy       7 d        0        0       min 40, multiple 10
# D-TUBE      buy       3 d        100      0       lot-for-lot            open PO 60, placed today: arrives T+3
# E-FELT      buy       5 d        0        0       lot-for-lot            open PO 10, nothing needs it
# Demand: sales order 10 A (stock reserves it), forecast 50 A at T+21 and 30 A at T+28.
#
# A: 20 on hand - 10 reserved = 10. Forecast T+21: 10 from stock, 40 short -> P1 make 40 A due T+21, release
#    T+14. Forecast T+28: P2 make 30 A due T+28, release T+21.
# B: gross 80 at T+14 (P1: 40 x 2), 60 at T+21 (P2), safety stock 5 first. Stock 10 - 5 = 5 for the 80:
#    75 short -> P3 fixed 100 (2 lots) due T+14, release T+0, 25 left; the 60 takes those 25, 35 short ->
#    P4 fixed 50 due T+21, release T+7.
# C: gross 50 at T+14 (40 x 1.25), 37.5 at T+21 (30 x 1.25). P5 buy 50 due T+14, release T+7;
#    P6 buy 40 (min 40) due T+21, release T+14.
# D: gross 300 at T+0 (P3: 100 x 3), 150 at T+7 (P4). Stock 100, the PO's 60 arrives T+3: expedite it;
#    140 short -> P7 buy 140 due T+0, release T-3: late. 150 at T+7 -> P8 buy 150 due T+7, release T+4.
# E: the PO's 10 serve nothing: cancel.
EXPECTED = [  # kind, item, quantity, release (days from today), due, pegging
    ("make", "A-TABLE", 40, 14, 21, [("forecast +21", 40)]),
    ("make", "A-TABLE", 30, 21, 28, [("forecast +28", 30)]),
    ("make", "B-FRAME", 100, 0, 14, [("P1", 75), ("P2", 25)]),
    ("make", "B-FRAME", 50, 7, 21, [("P2", 35)]),
    ("buy", "C-TOP", 50, 7, 14, [("P1", 50)]),
    ("buy", "C-TOP", 40, 14, 21, [("P2", 37.5)]),
    ("buy", "D-TUBE", 140, -3, 0, [("P3", 140)]),
    ("buy", "D-TUBE", 150, 4, 7, [("P4", 150)]),
]


@pytest.fixture
def planner(erp, database_url, tmp_path):
    deploy_erp(erp.engine, "work_order.bpmn")
    from taktflow.engine.definitions.service import ModelFile, deploy

    engine = erp.engine
    engine.command(lambda s: deploy(s, [ModelFile("mrp_run.bpmn", (PROCESSES / "mrp_run.bpmn").read_bytes())],
                                    clock=engine.clock, serializer=engine.serializer))
    runtime = Runtime(Settings(database_url=database_url, processes_dir=tmp_path), engine.db, engine)
    token = erp.command(lambda s: create_token(s, "planning", "operator", engine.clock.now()))
    with TestClient(create_app(runtime)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _textbook_plant(s, now):
    parts = s.query(Partner).filter_by(code="S-PARTS").one().id
    for code, kind, procurement, cost in (("A-TABLE", "finished_good", "make", 50), ("B-FRAME", "finished_good",
                                          "make", 20), ("C-TOP", "raw_material", "buy", 5),
                                          ("D-TUBE", "raw_material", "buy", 1), ("E-FELT", "raw_material", "buy", 1)):
        create_item(s, code=code, name=code, kind=kind, procurement=procurement, standard_cost=cost, sale_price=90,
                    default_supplier_id=parts if procurement == "buy" else None)
    for code, quantity in (("A-TABLE", 20), ("B-FRAME", 10), ("D-TUBE", 100)):
        item = s.query(Item).filter_by(code=code).one()
        stock.post_move(s, f"test:opening:{code}", item_id=item.id, quantity=Decimal(quantity),
                        from_location=stock.OPENING, to_location="WH1/STOCK", moved_at=now)
    create_bom(s, item_code="A-TABLE", lines=[{"component": "B-FRAME", "quantity": 2},
                                              {"component": "C-TOP", "quantity": 1, "scrap_factor": "0.2"}])
    create_bom(s, item_code="B-FRAME", lines=[{"component": "D-TUBE", "quantity": 3}])
    planning.set_item_planning(s, "A-TABLE", lead_time_days=7)
    planning.set_item_planning(s, "B-FRAME", lead_time_days=14, safety_stock=5, lot_sizing="fixed", lot_size=50)
    planning.set_item_planning(s, "C-TOP", lead_time_days=7, min_lot=40, lot_multiple=10)
    planning.set_item_planning(s, "D-TUBE", lead_time_days=3)
    planning.set_item_planning(s, "E-FELT", lead_time_days=5)


def test_a_textbook_multi_level_plan_computed_by_hand(planner, erp):
    engine = erp.engine
    today = engine.clock.now().date()
    erp.command(lambda s: _textbook_plant(s, engine.clock.now()))
    for code, quantity in (("D-TUBE", 60), ("E-FELT", 10)):
        r = planner.post("/api/v1/requisitions", json={"supplierCode": "S-PARTS",
                                                        "lines": [{"itemCode": code, "quantity": quantity}]})
        assert r.json()["state"] == "ordered", r.text
    order = planner.post("/api/v1/sales-orders", json={"customerCode": "C-ACME",
                                                        "lines": [{"itemCode": "A-TABLE", "quantity": 10}]}).json()
    assert order["state"] == "confirmed"
    for days, quantity in ((21, 50), (28, 30)):
        r = planner.post("/api/v1/mrp/forecasts", json={"itemCode": "A-TABLE", "quantity": quantity,
                                                         "dueDate": (today + timedelta(days=days)).isoformat()})
        assert r.status_code == 201, r.text

    r = planner.post("/api/v1/mrp/runs")
    assert r.status_code == 201, r.text
    run = r.json()
    number = run["number"]

    def label(ref: str) -> str:
        if ref.startswith("P"):
            return f"{number}/{ref[1:]}"
        return f"forecast {(today + timedelta(days=int(ref.split('+')[1]))).isoformat()}"

    assert [(p["kind"], p["item"], p["quantity"], p["releaseDate"], p["dueDate"],
             [(g["demand"], g["quantity"]) for g in p["pegging"]]) for p in run["proposals"]] == [
        (kind, item, quantity, (today + timedelta(days=release)).isoformat(), (today + timedelta(days=due)).isoformat(),
         [(label(ref), q) for ref, q in pegging]) for kind, item, quantity, release, due, pegging in EXPECTED]
    assert [(e["kind"], e["item"]) for e in run["exceptions"]] == [
        ("cancel", "E-FELT"), ("expedite", "D-TUBE"), ("late", "D-TUBE")]
    assert run["exceptions"][2]["ref"] == f"{number}/7" and "will be late" in run["exceptions"][2]["message"]
    assert run["exceptions"][1]["message"].endswith("expedite it")

    # Firming one proposal starts its process; the planner's approval firms the rest.
    c_top = run["proposals"][4]
    firmed = planner.post(f"/api/v1/mrp/proposals/{c_top['id']}/firm").json()
    assert firmed["state"] == "firmed" and firmed["firmedDocument"].startswith("REQ-")
    r = planner.post(f"/api/v1/mrp/proposals/{c_top['id']}/firm")
    assert r.status_code == 409  # InvalidTransition: the document is no longer in that state
    assert "is firmed: cannot firm" in r.json()["detail"]
    requisition = [q for q in planner.get("/api/v1/requisitions").json() if q["number"] == firmed["firmedDocument"]]
    c_top_id = next(i["id"] for i in planner.get("/api/v1/items").json() if i["code"] == "C-TOP")
    assert [(ln["itemId"], ln["quantity"]) for ln in requisition[0]["lines"]] == [(c_top_id, 50.0)]
    assert requisition[0]["source"] == "mrp"

    assert open_tasks(engine, run["processInstanceId"]) == ["approve_plan"]
    complete(engine, run["processInstanceId"], "approve_plan", {"approved": True})
    after = planner.get(f"/api/v1/mrp/runs/{run['id']}").json()
    assert after["state"] == "approved"
    assert all(p["state"] == "firmed" and p["firmedInstanceId"] for p in after["proposals"])
    make = planner.get("/api/v1/process-instances", params={"key": "work_order"}).json()
    assert sorted(i["businessKey"] for i in make) == sorted(f"{number}/{n}" for n in (1, 2, 3, 4))
    table = next(i for i in make if i["businessKey"] == f"{number}/1")
    assert (table["variables"]["itemCode"], table["variables"]["quantity"]) == ("A-TABLE", 40.0)


def test_bad_planning_data_is_a_clear_4xx_naming_the_item(planner, erp):
    now = erp.engine.clock.now()
    erp.command(lambda s: _textbook_plant(s, now))
    # D-TUBE made of A-TABLE closes a loop A -> B -> D -> A.
    erp.command(lambda s: create_bom(s, item_code="D-TUBE", lines=[{"component": "A-TABLE", "quantity": 1}]))
    r = planner.post("/api/v1/mrp/runs")
    assert r.status_code == 422
    assert r.json()["detail"] == "the BOM of A-TABLE contains itself: A-TABLE -> B-FRAME -> D-TUBE -> A-TABLE"
    assert planner.get("/api/v1/process-instances", params={"key": "mrp_run"}).json() == []
    r = planner.put("/api/v1/mrp/items/NOPE", json={"leadTimeDays": 3})
    assert r.status_code == 422 and r.json()["detail"] == "item NOPE does not exist"
    r = planner.put("/api/v1/mrp/items/B-FRAME", json={"lotSizing": "fixed", "lotSize": 0})
    assert r.status_code == 422 and "fixed lot sizing needs a positive lot size" in r.json()["detail"]
    r = planner.post("/api/v1/mrp/forecasts", json={"itemCode": "NOPE", "quantity": 1, "dueDate": "2027-01-01"})
    assert r.status_code == 422 and "item NOPE does not exist" in r.json()["detail"]


def test_lot_sizing_rules():
    item = mrp.PlanningItem("X", "buy", Decimal(0), lot_sizing="fixed", lot_size=Decimal(50))
    assert [mrp.order_quantity(item, Decimal(n)) for n in (1, 50, 51)] == [50, 50, 100]
    item = mrp.PlanningItem("X", "buy", Decimal(0), min_lot=Decimal(40), lot_multiple=Decimal(15))
    assert [mrp.order_quantity(item, Decimal(n)) for n in (1, 44, 46)] == [45, 45, 60]


def test_a_make_item_without_bom_is_named_when_it_must_be_made():
    items = {"X": mrp.PlanningItem("X", "make", Decimal(0))}
    planning_date = date(2027, 1, 4)
    demand = mrp.Demand("X", Decimal(3), planning_date, "SO-1/1")
    with pytest.raises(mrp.MrpInputError, match="item X is made but has no BOM: SO-1/1 needs 3 more"):
        mrp.plan(items, {}, [demand], [], planning_date)
    assert mrp.plan(items, {}, [], [], planning_date).proposals == []
