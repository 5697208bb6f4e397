"""The closed loop ERP ↔ MES ↔ machines: a sales order for a make item that is out of stock releases a work
order, machines drive its operations through the engine's correlation API, the production performance wakes
the waiting order-to-cash, which delivers, invoices and is paid. The books reconcile after each test (fixture)."""

from __future__ import annotations

from sqlalchemy import select

from taktflow.handlers.erp.invoicing.models import CustomerInvoice
from taktflow.handlers.erp.invoicing.service import receive_payment
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, Requisition
from taktflow.handlers.erp.purchasing.service import submit_vendor_bill
from taktflow.handlers.erp.sales.models import SalesOrder
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.mes.work_order.models import WorkOrder
from tests.erp.flow import complete, open_tasks


def _order_work_order(plant, sales_order: str) -> WorkOrder:
    with plant.engine.db.read() as session:
        [wo] = session.scalars(select(WorkOrder).where(WorkOrder.origin == sales_order)).all()
        return wo


def _pay_in_full(plant, order_id: int) -> None:
    with plant.engine.db.read() as session:
        invoices = session.scalars(select(CustomerInvoice).where(CustomerInvoice.order_id == order_id))
        total = sum(i.total for i in invoices)
    receive_payment(plant.engine, order_id=order_id, amount=total, reference="bank")


def test_sales_order_for_an_out_of_stock_make_item_is_produced_delivered_invoiced_and_paid(plant):
    api = plant.api()
    # 230 brackets ordered, 200 on hand: order-to-cash releases a work order for 30 (ISA-95 production request).
    r = api.post("/api/v1/sales-orders", json={"customerCode": "C-ACME",
                                               "lines": [{"itemCode": "FG-BRACKET", "quantity": 230}]})
    assert r.status_code == 201, r.text
    order = r.json()
    o2c = order["processInstanceId"]
    wo = _order_work_order(plant, order["number"])
    assert (wo.item_code, wo.quantity, wo.state, wo.request_key) == ("FG-BRACKET", 30, "in_progress",
                                                                      f"{order['number']}-L1")
    assert plant.instance(wo.instance_id).business_key == order["number"]
    complete(plant.engine, o2c, "pick_and_ship")  # the 200 on hand leave now; the 30 wait for production
    assert open_tasks(plant.engine, o2c) == []

    board = api.get("/api/v1/work-centers/WC-CUT/dispatch-list").json()
    assert [(op["workOrder"], op["state"], op["startable"], op["openTask"]["element"]) for op in board] == [
        (wo.number, "queued", True, "start_operation")]
    plant.complete("start_operation", {"machine": "CUT-01"}, instance_id=wo.instance_id)
    plant.parts("CUT-01", 30, per_signal=10, seconds=120)  # the machine's counter moves in three steps of ten
    plant.complete("confirm_quantities", {"goodQuantity": 30, "scrapQuantity": 0}, instance_id=wo.instance_id)
    plant.complete("inspect", {"measuredValue": 100.2}, actor="qa-ben", instance_id=wo.instance_id)
    plant.complete("start_operation", instance_id=wo.instance_id, actor="op-carl")
    plant.engine.clock.advance(minutes=15)
    # The devices slice counts against its job (devices.start_job) and says once when the quantity is there.
    [assembly] = api.get("/api/v1/work-centers/WC-ASSY/dispatch-list").json()
    assert (assembly["state"], assembly["machine"], assembly["operator"]) == ("running", "ASSY-01", "op-carl")
    plant.machine("machine.quantity_reached", "WC-ASSY", device="ASSY-01", operationId=assembly["id"], quantity=30,
                  good=30, scrap=0, count=30)
    plant.complete("confirm_quantities", {"goodQuantity": 30}, instance_id=wo.instance_id, actor="op-carl")
    plant.run_operation("WC-PACK", "PACK-01", 30, good=30)

    # Production performance went up: order-to-cash reserved the 30 and waits for the warehouse.
    done = plant.work_order(wo.number)
    assert (done.state, done.good_qty, done.fg_lot_code) == ("closed", 30, wo.number)
    variables = plant.instance(o2c).variables
    assert variables["productionPerformance"]["workOrderNumber"] == wo.number
    assert variables["productionPerformance"]["responseState"] == "Completed"
    assert open_tasks(plant.engine, o2c) == ["pick_and_ship"]
    complete(plant.engine, o2c, "pick_and_ship")
    _pay_in_full(plant, order["id"])
    assert plant.instance(o2c).state == "completed"
    assert api.get(f"/api/v1/sales-orders/{order['id']}").json()["state"] == "closed"

    # Genealogy, forward: the steel lot reached this sales order through the bracket lot.
    with plant.engine.db.read() as session:
        steel = stock.get_lot(session, session.scalar(select(stock.Lot.id).where(stock.Lot.code == "OPEN-STEEL-1")))
        steel_id = steel.id
    forward = api.get(f"/api/v1/lots/{steel_id}/genealogy").json()
    assert [(lot["code"], lot["workOrder"]) for lot in forward["usedIn"]] == [(wo.number, wo.number)]
    assert [(o["salesOrder"], o["customer"], o["lotCode"], o["quantity"]) for o in forward["salesOrders"]] == [
        (order["number"], "C-ACME", wo.number, 30)]
    # Backward: the bracket lot's material, machines, operators and inspection.
    back = api.get(f"/api/v1/lots/{done.fg_lot_id}/genealogy").json()
    assert [(c["code"], c["itemCode"], c["quantity"]) for c in back["consumed"]] == [("OPEN-STEEL-1", "RM-STEEL", 15)]
    made = back["madeBy"]
    assert [(op["machine"], op["operator"]) for op in made["operations"]] == [
        ("CUT-01", "op-anna"), ("ASSY-01", "op-carl"), ("PACK-01", "op-anna")]
    assert [(i["characteristic"], i["measuredValue"], i["result"], i["disposition"], i["inspector"])
            for i in made["inspections"]] == [("length_mm", 100.2, "pass", "accept", "qa-ben")]
    assert {(m["itemCode"], m["lotCode"], m["quantity"]) for m in made["materials"]} == {
        ("RM-STEEL", "OPEN-STEEL-1", 15), ("RM-BOLT", None, 120)}
    assert [o["salesOrder"] for o in back["salesOrders"]] == [order["number"]]


def test_component_shortage_in_the_loop_buys_through_procure_to_pay_then_produces_and_delivers(plant):
    # 1500 brackets ordered, 200 on hand: 1300 to make need 5200 bolts, 5000 are in stock.
    r = plant.api().post("/api/v1/sales-orders", json={"customerCode": "C-ACME",
                                                       "lines": [{"itemCode": "FG-BRACKET", "quantity": 1500}]})
    assert r.status_code == 201, r.text
    order = r.json()
    o2c = order["processInstanceId"]
    wo = _order_work_order(plant, order["number"])
    assert wo.state == "waiting_material"
    with plant.engine.db.read() as session:
        [req] = session.scalars(select(Requisition)).all()
        assert (req.source, [(ln.quantity, ln.item_id) for ln in req.lines][0][0]) == ("production", 200)
        p2p = req.instance_id
        assert plant.instance(p2p).business_key == order["number"]
    complete(plant.engine, o2c, "pick_and_ship")  # 200 brackets from stock leave
    # 200 bolts for 20.00 are approved automatically; the warehouse receives them.
    assert open_tasks(plant.engine, p2p) == ["receive_goods"]
    complete(plant.engine, p2p, "receive_goods")
    # The receipt's stock_replenished message woke the work order (same business key), which staged.
    assert plant.work_order(wo.number).state == "in_progress"
    assert plant.task("start_operation").candidate_groups == ["operator_WC-CUT"]
    for work_center, device in (("WC-CUT", "CUT-01"), ("WC-ASSY", "ASSY-01"), ("WC-PACK", "PACK-01")):
        plant.complete("start_operation", instance_id=wo.instance_id)
        plant.parts(device, 1300, per_signal=1300, seconds=3600)
        plant.complete("confirm_quantities", {"goodQuantity": 1300}, instance_id=wo.instance_id)
        if work_center == "WC-CUT":
            plant.complete("inspect", {"measuredValue": 100.0}, actor="qa-ben", instance_id=wo.instance_id)
    assert plant.work_order(wo.number).state == "closed"
    complete(plant.engine, o2c, "pick_and_ship")
    _pay_in_full(plant, order["id"])
    with plant.engine.db.read() as session:
        assert session.get(SalesOrder, order["id"]).state == "closed"
        [po] = session.scalars(select(PurchaseOrder)).all()
        po_id, po_number = po.id, po.number
    submit_vendor_bill(plant.engine, order_id=po_id, bill={"supplierReference": "FP-77", "lines": [
        {"itemCode": "RM-BOLT", "quantity": 200, "unitPrice": "0.10"}]})
    complete(plant.engine, p2p, "pay_vendor", {"paymentReference": f"pay {po_number}"})
    assert plant.instance(p2p).state == "completed" and plant.instance(o2c).state == "completed"
