"""The MES REST API: master data, work orders, the dispatch list, genealogy; who may do what; bad input is a
4xx with a message and books nothing."""

from __future__ import annotations

import pytest


@pytest.fixture
def worker(plant):
    return plant.api("worker")


@pytest.fixture
def planner(plant):
    return plant.api("operator")


def test_reading_needs_a_token_and_writing_needs_the_operate_permission(plant, worker):
    anonymous = plant.api()
    del anonymous.headers["Authorization"]
    for path in ("/api/v1/work-centers", "/api/v1/boms", "/api/v1/routings", "/api/v1/work-orders",
                 "/api/v1/work-centers/WC-CUT/dispatch-list", "/api/v1/lots/1/genealogy"):
        assert anonymous.get(path).status_code == 401, path
        assert worker.get(path).status_code in (200, 404), path
    released = worker.post("/api/v1/work-orders", json={"itemCode": "FG-BRACKET", "quantity": 1})
    assert released.status_code == 403, released.text
    assert released.json()["detail"] == "releasing a work order is for planners and operations"
    for path, body in (("/api/v1/work-centers", {"code": "WC-X", "name": "X", "hourlyCost": 1}),
                       ("/api/v1/boms", {"itemCode": "X", "lines": [{"component": "RM-BOLT", "quantity": 1}]}),
                       ("/api/v1/routings", {"itemCode": "X", "name": "X", "operations": []})):
        r = worker.post(path, json=body)
        assert r.status_code == 403 and "may not operate" in r.json()["detail"], path
    assert worker.get("/api/v1/work-orders").json() == []


def test_master_data_reads_and_creates_with_refusals(worker, planner):
    centers = worker.get("/api/v1/work-centers").json()
    assert [(c["id"], c["hourlyCost"], [m["code"] for m in c["machines"]], c["operatorGroup"]) for c in centers] == [
        ("WC-ASSY", 45, ["ASSY-01"], "operator_WC-ASSY"), ("WC-CUT", 60, ["CUT-01"], "operator_WC-CUT"),
        ("WC-PACK", 30, ["PACK-01"], "operator_WC-PACK")]
    assert worker.get("/api/v1/work-centers/WC-CUT").json()["name"] == "Cutting"
    r = worker.get("/api/v1/work-centers/WC-NOPE")
    assert r.status_code == 404 and "work center WC-NOPE does not exist" in r.json()["detail"]
    r = planner.post("/api/v1/work-centers", json={"code": "WC-PAINT", "name": "Painting", "hourlyCost": 52.5,
                                                   "machines": ["PAINT-01"]})
    assert r.status_code == 201 and r.json()["machines"] == [{"code": "PAINT-01", "name": "PAINT-01"}]
    r = planner.post("/api/v1/work-centers", json={"code": "WC-PAINT", "name": "Again", "hourlyCost": 1})
    assert r.status_code == 422 and "exists already" in r.json()["detail"]
    assert planner.post("/api/v1/work-centers", json={"code": "WC-Y", "name": "Y", "hourlyCost": -1}).status_code == 422

    bracket = worker.get("/api/v1/boms/FG-BRACKET").json()
    assert [(ln["component"], ln["quantity"], ln["scrapFactor"]) for ln in bracket["lines"]] == [
        ("SA-BLANK", 1, 0.02), ("RM-BOLT", 4, 0)]
    assert {r["componentCode"]: (r["standardPerUnit"], r["requiredPerUnit"]) for r in bracket["requirements"]} == {
        "RM-STEEL": (0.5, 0.5371), "RM-BOLT": (4, 4)}
    assert [b["itemCode"] for b in worker.get("/api/v1/boms").json()] == ["FG-BRACKET", "FG-FRAME", "SA-BLANK"]
    assert worker.get("/api/v1/boms/RM-BOLT").status_code == 404
    r = planner.post("/api/v1/boms", json={"itemCode": "SA-PLATE", "lines": [
        {"component": "RM-STEEL", "quantity": 1, "scrapFactor": 1}]})
    assert r.status_code == 422 and "scrap factor of RM-STEEL must be below 1" in r.json()["detail"]
    r = planner.post("/api/v1/boms", json={"itemCode": "SA-PLATE", "lines": []})
    assert r.status_code == 422
    r = planner.post("/api/v1/boms", json={"itemCode": "SA-PLATE", "phantom": True, "lines": [
        {"component": "RM-STEEL", "quantity": 1.2, "scrapFactor": 0.1, "operationSeq": 10}]})
    assert r.status_code == 201 and r.json()["lines"][0]["quantity"] == 1.2

    frame = worker.get("/api/v1/routings/FG-FRAME").json()
    assert [(op["seq"], op["workCenter"], op["idealCycleSeconds"]) for op in frame["operations"]] == [
        (10, "WC-CUT", 40), (20, "WC-ASSY", 90), (30, "WC-PACK", 6)]
    assert len(worker.get("/api/v1/routings").json()) == 2
    assert worker.get("/api/v1/routings/RM-BOLT").status_code == 404
    operation = {"seq": 10, "name": "Paint", "workCenter": "WC-NOPE", "idealCycleSeconds": 30}
    r = planner.post("/api/v1/routings", json={"itemCode": "SA-PLATE", "name": "Plate", "operations": [operation]})
    assert r.status_code == 422 and "work center WC-NOPE does not exist" in r.json()["detail"]
    r = planner.post("/api/v1/routings", json={"itemCode": "SA-PLATE", "name": "Plate", "operations": [
        {**operation, "workCenter": "WC-PAINT"}, {**operation, "workCenter": "WC-PAINT"}]})
    assert r.status_code == 422 and "repeats an operation number" in r.json()["detail"]
    r = planner.post("/api/v1/routings", json={"itemCode": "SA-PLATE", "name": "Plate", "operations": [
        {**operation, "workCenter": "WC-PAINT", "idealCycleSeconds": 0}]})
    assert r.status_code == 422 and "positive ideal cycle time" in r.json()["detail"]
    assert worker.get("/api/v1/routings/SA-PLATE").status_code == 404  # nothing of the refused ones was stored


def test_work_orders_and_the_dispatch_list_in_priority_order(plant, worker, planner):
    r = planner.post("/api/v1/work-orders", json={"itemCode": "FG-BRACKET", "quantity": 4})
    assert r.status_code == 201, r.text
    normal = r.json()
    assert (normal["state"], normal["origin"], [op["state"] for op in normal["operations"]]) == (
        "in_progress", "planner", ["queued", "planned", "planned"])
    assert {q["componentCode"]: q["issued"] for q in normal["requirements"]} == {"RM-STEEL": 2.1484, "RM-BOLT": 16}
    urgent = planner.post("/api/v1/work-orders", json={"itemCode": "FG-BRACKET", "quantity": 2, "priority": 80,
                                                       "dueDate": "2026-12-01"}).json()
    board = worker.get("/api/v1/work-centers/WC-CUT/dispatch-list").json()
    assert [(op["workOrder"], op["state"], op["startable"]) for op in board] == [
        (urgent["number"], "queued", True), (normal["number"], "queued", True)]

    plant.complete("start_operation", instance_id=normal["processInstanceId"])  # the operator picks the older one
    board = worker.get("/api/v1/work-centers/WC-CUT/dispatch-list").json()
    # The running one waits for its machine (no task for people); the queued one waits for an operator.
    assert [(op["workOrder"], op["state"], op["openTask"] and op["openTask"]["element"]) for op in board] == [
        (normal["number"], "running", None), (urgent["number"], "queued", "start_operation")]
    plant.parts("CUT-01", 4)
    plant.complete("confirm_quantities", {"goodQuantity": 4}, instance_id=normal["processInstanceId"])
    plant.complete("inspect", {"measuredValue": 100.0}, instance_id=normal["processInstanceId"], actor="qa-ben")
    board = worker.get("/api/v1/work-centers/WC-CUT/dispatch-list").json()
    assert [(op["workOrder"], op["state"]) for op in board] == [(urgent["number"], "queued"),
                                                                 (normal["number"], "done")]
    assert [op["state"] for op in worker.get("/api/v1/work-centers/WC-CUT/dispatch-list",
                                             params={"includeDone": False}).json()] == ["queued"]
    assembly = worker.get("/api/v1/work-centers/WC-ASSY/dispatch-list").json()
    assert [(op["workOrder"], op["state"], op["startable"]) for op in assembly] == [
        (normal["number"], "queued", True), (urgent["number"], "planned", False)]
    assert worker.get("/api/v1/work-centers/WC-NOPE/dispatch-list").status_code == 404

    one = worker.get(f"/api/v1/work-orders/{normal['number']}").json()
    assert one == worker.get(f"/api/v1/work-orders/{normal['id']}").json()
    cut = one["operations"][0]
    assert (cut["state"], cut["machine"], cut["operator"], cut["goodQuantity"], cut["conversionCost"] > 0) == (
        "done", "CUT-01", "op-anna", 4, True)
    detail = worker.get(f"/api/v1/operations/{cut['id']}").json()
    assert (detail["oee"]["idealCycleSeconds"], detail["oee"]["goodCount"], detail["alerts"]) == (12, 4, [])
    assert worker.get("/api/v1/operations/999999").status_code == 404
    assert [w["number"] for w in worker.get("/api/v1/work-orders", params={"state": "in_progress"}).json()] == [
        urgent["number"], normal["number"]]
    assert worker.get("/api/v1/work-orders", params={"state": "closed"}).json() == []
    assert worker.get("/api/v1/work-orders/WO-99999").status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"itemCode": "FG-BRACKET", "quantity": 0}, "greater than zero"),
    ({"itemCode": "FG-BRACKET", "quantity": "many"}, "quantity"),
    ({"itemCode": "RM-BOLT", "quantity": 1}, "cannot release a work order for RM-BOLT"),
    ({"itemCode": "NOPE", "quantity": 1}, "cannot release a work order for NOPE"),
    ({"itemCode": "FG-BRACKET", "quantity": 1, "priority": 101}, "priority"),
])
def test_bad_work_orders_are_refused_and_nothing_is_started(plant, planner, body, message):
    r = planner.post("/api/v1/work-orders", json=body)
    assert r.status_code == 422 and message in r.text, r.text
    assert planner.get("/api/v1/work-orders").json() == []
    assert plant.open_tasks() == []


def test_genealogy_of_an_unknown_lot_is_404(worker):
    r = worker.get("/api/v1/lots/424242/genealogy")
    assert r.status_code == 404 and "lot 424242 does not exist" in r.json()["detail"]
