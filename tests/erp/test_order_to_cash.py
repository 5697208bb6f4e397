"""Order to cash end to end through the engine: every branch, with the books reconciled after each test."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from taktflow.engine import jobs
from taktflow.engine.handlers import HandlerContext, registry
from taktflow.handlers.erp.errors import ErpError
from taktflow.handlers.erp.invoicing.models import CustomerInvoice
from taktflow.handlers.erp.invoicing.service import receive_payment
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, Requisition
from taktflow.handlers.erp.sales.models import Delivery, SalesOrder
from taktflow.handlers.erp.sales.service import place_sales_order
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import StockMove
from tests.erp.conftest import deploy_erp
from tests.erp.flow import complete, incidents, instance, open_tasks


def _book_production(ctx: HandlerContext) -> dict:
    """The MES test double books like the MES will: material issue, then finished goods receipt."""
    s = ctx.session
    steel, product = item_by_code(s, "RM-STEEL"), item_by_code(s, ctx.variables["itemCode"])
    [(lot, _)] = stock.lots_on_hand(s, item_id=steel.id, location_id=stock.location_by_code(s, "WH1/STOCK").id)[:1]
    qty = Decimal(str(ctx.variables["quantity"]))
    stock.post_move(s, f"{ctx.booking_key}:issue", item_id=steel.id, quantity=qty * 2, lot_id=lot.id,
                    from_location="WH1/STOCK", to_location=stock.PRODUCTION, moved_at=ctx.now)
    fg_lot = stock.create_lot(s, item_id=product.id, code=f"{ctx.variables['productionRequest']['id']}", now=ctx.now)
    stock.post_move(s, f"{ctx.booking_key}:receipt", item_id=product.id, quantity=qty, lot_id=fg_lot.id,
                    from_location=stock.PRODUCTION, to_location=ctx.variables["destinationLocation"], moved_at=ctx.now,
                    unit_cost=Decimal("5.00"))
    return {"productionPerformance": {"materialActuals": [
        {"materialDefinitionId": product.code, "materialLotId": fg_lot.code, "materialUse": "Produced",
         "quantity": float(qty)}]}}


if registry.get("test.mes.book") is None:
    registry.register("test.mes.book", _book_production)


@pytest.fixture
def o2c(erp):
    deploy_erp(erp.engine, "work_order.bpmn")
    return erp


def _order(erp, order_id):
    with erp.read() as s:
        order = s.get(SalesOrder, order_id)
        s.expunge(order)
        return order


def _entries(erp, instance_id):
    with erp.read() as s:
        return [[(ln.account_code, ln.debit, ln.credit) for ln in e.lines]
                for e in ledger.list_journal_entries(s, instance_id=instance_id, limit=1000)]


def test_happy_path_ships_invoices_and_collects(o2c):
    e = o2c.engine
    order_id, number, iid = place_sales_order(e, customer="C-ACME", lines=[{"itemCode": "FG-FRAME", "quantity": 10}])
    assert open_tasks(e, iid) == ["pick_and_ship"]
    complete(e, iid, "pick_and_ship")
    assert instance(e, iid).active_elements == ["await_payment"]
    d, c = Decimal, Decimal("0")
    assert _entries(o2c, iid) == [
        [(ledger.DELIVERED_NOT_INVOICED, d("400.00"), c), (ledger.FINISHED_GOODS, c, d("400.00"))],
        [(ledger.RECEIVABLE, d("1071.00"), c), (ledger.REVENUE, c, d("900.00")), (ledger.TAX, c, d("171.00")),
         (ledger.COGS, d("400.00"), c), (ledger.DELIVERED_NOT_INVOICED, c, d("400.00"))],
    ]
    receive_payment(e, order_id=order_id, amount="1071.00", reference="bank 4711")
    assert instance(e, iid).state == "completed"
    assert _order(o2c, order_id).state == "closed"
    assert _entries(o2c, iid)[-1] == [(ledger.BANK, d("1071.00"), c), (ledger.RECEIVABLE, c, d("1071.00"))]


def test_credit_block_released_by_credit_control(o2c):
    e = o2c.engine
    order_id, _, iid = place_sales_order(e, customer="C-TINY", lines=[{"itemCode": "MR-GLOVES", "quantity": 100}])
    assert open_tasks(e, iid) == ["review_credit"]
    assert _order(o2c, order_id).state == "credit_hold"
    with o2c.read() as s:
        assert stock.reservations_of(s, document_type="sales_order", document_id=order_id) == []
    complete(e, iid, "review_credit", {"creditApproved": True, "creditComment": "prepaid by phone"})
    assert open_tasks(e, iid) == ["pick_and_ship"]
    order = _order(o2c, order_id)
    assert (order.state, order.credit_note) == ("confirmed", "prepaid by phone")


def test_credit_block_rejected_ends_the_order_and_books_nothing(o2c):
    e = o2c.engine
    order_id, _, iid = place_sales_order(e, customer="C-TINY", lines=[{"itemCode": "MR-GLOVES", "quantity": 100}])
    complete(e, iid, "review_credit", {"creditApproved": False, "creditApprovedReason": "two invoices overdue"})
    assert instance(e, iid).state == "completed"
    assert (_order(o2c, order_id).state, _order(o2c, order_id).credit_note) == ("rejected", "two invoices overdue")
    assert _entries(o2c, iid) == []
    with o2c.read() as s:
        assert stock.reservations_of(s, document_type="sales_order", document_id=order_id, state=None) == []


def test_overdue_invoices_block_credit_even_under_the_limit(o2c, clock):
    e = o2c.engine
    first, _, iid1 = place_sales_order(e, customer="C-NORD", lines=[{"itemCode": "MR-GLOVES", "quantity": 10}])
    complete(e, iid1, "pick_and_ship")
    clock.advance(days=30)  # C-NORD pays in 14 days
    _, _, iid2 = place_sales_order(e, customer="C-NORD", lines=[{"itemCode": "MR-GLOVES", "quantity": 1}])
    assert open_tasks(e, iid2) == ["review_credit"]
    variables = instance(e, iid2).variables
    assert variables["overdueAmount"] == 77.35 and variables["creditDecision"] == "review"


def test_partial_delivery_creates_a_backorder_and_a_buy_shortage_starts_procurement(o2c):
    e = o2c.engine
    order_id, number, iid = place_sales_order(e, customer="C-ACME", lines=[{"itemCode": "MR-GLOVES", "quantity": 600}])
    with o2c.read() as s:
        [req] = s.scalars(select(Requisition)).all()
        assert (req.source, req.sales_order_id, req.state) == ("shortage", order_id, "ordered")  # 300 → auto
        [po] = s.scalars(select(PurchaseOrder)).all()
        p2p = req.instance_id
    assert open_tasks(e, p2p) == ["receive_goods"]
    # The warehouse ships only 450 of the 500 reserved now: 150 stay open as a backorder.
    complete(e, iid, "pick_and_ship", {"shipAll": False, "shippedQuantities": {"MR-GLOVES": 450}})
    assert open_tasks(e, iid) == ["pick_and_ship"]  # the 50 still reserved go on the backorder delivery
    complete(e, iid, "pick_and_ship")
    assert instance(e, iid).active_elements == ["gw_wait"]  # waiting for goods, production or the re-check
    complete(e, p2p, "receive_goods")  # the receipt's message wakes the order up
    assert open_tasks(e, iid) == ["pick_and_ship"]
    complete(e, iid, "pick_and_ship")
    with o2c.read() as s:
        deliveries = s.scalars(select(Delivery).where(Delivery.order_id == order_id).order_by(Delivery.id)).all()
        assert [(d.is_backorder, d.lines[0].shipped_qty) for d in deliveries] == [
            (False, Decimal("450")), (True, Decimal("50")), (True, Decimal("100"))]
        invoices = s.scalars(select(CustomerInvoice).where(CustomerInvoice.order_id == order_id)).all()
        assert len(invoices) == 3
        total = sum(i.total for i in invoices)
        po_number = po.number
    assert _order(o2c, order_id).state == "delivered"
    from taktflow.handlers.erp.purchasing.service import submit_vendor_bill

    submit_vendor_bill(e, order_id=po.id, bill={"supplierReference": "F-1", "lines": [
        {"itemCode": "MR-GLOVES", "quantity": 100, "unitPrice": 3.00}]})
    complete(e, p2p, "pay_vendor", {"paymentReference": f"pay {po_number}"})
    assert instance(e, p2p).state == "completed"
    receive_payment(e, order_id=order_id, amount=total)
    assert instance(e, iid).state == "completed"


def test_make_shortage_requests_a_work_order_and_waits_for_production_performance(o2c):
    e = o2c.engine
    order_id, number, iid = place_sales_order(e, customer="C-ACME", lines=[{"itemCode": "FG-BRACKET", "quantity": 230}])
    from taktflow.engine.store.models import ProcessInstance

    with o2c.read() as s:
        [wo] = s.scalars(select(ProcessInstance).where(ProcessInstance.process_key == "work_order")).all()
        assert wo.business_key == number
    request = instance(e, wo.id).variables["productionRequest"]
    assert request["segmentRequirements"][0]["materialRequirements"][0] == {
        "materialDefinitionId": "FG-BRACKET", "materialUse": "Produced", "quantity": 30.0, "unitOfMeasure": "pcs",
        "storageLocation": "WH1/STOCK"}
    complete(e, iid, "pick_and_ship")  # the 200 on hand (lot OPEN-BRK-1)
    assert instance(e, iid).active_elements == ["gw_wait"]
    complete(e, wo.id, "produce")  # books issue + FG receipt, throws production_performance
    assert instance(e, wo.id).state == "completed"
    assert open_tasks(e, iid) == ["pick_and_ship"]
    assert instance(e, iid).variables["productionPerformance"]["materialActuals"][0]["quantity"] == 30.0
    complete(e, iid, "pick_and_ship")
    assert instance(e, iid).active_elements == ["await_payment"]
    with o2c.read() as s:
        lots = [m.lot_id for m in s.scalars(select(StockMove).where(StockMove.document_type == "delivery"))]
    assert len(set(lots)) == 2  # shipped from the opening lot and from the produced lot


def test_dunning_reminds_after_the_due_date_and_payment_closes_everything(o2c, clock):
    e = o2c.engine
    order_id, _, iid = place_sales_order(e, customer="C-ACME", lines=[{"itemCode": "FG-FRAME", "quantity": 1}])
    complete(e, iid, "pick_and_ship")
    clock.advance(days=30)
    assert jobs.run_due_jobs(e, "w") == 0  # due in 30 days, reminded the day after
    clock.advance(days=1, minutes=1)
    assert jobs.run_due_jobs(e, "w") == 1
    assert open_tasks(e, iid) == ["follow_up_overdue"]
    with o2c.read() as s:
        [invoice] = s.scalars(select(CustomerInvoice).where(CustomerInvoice.order_id == order_id)).all()
        assert (invoice.state, invoice.dunning_level) == ("overdue", 1)
    receive_payment(e, order_id=order_id, amount="50")  # partial: still waiting, still overdue
    assert "await_payment" in instance(e, iid).active_elements
    receive_payment(e, order_id=order_id, amount="57.10")
    assert instance(e, iid).state == "completed"
    assert open_tasks(e, iid) == []  # the terminate end event ends the follow-up too
    assert incidents(e, iid) == []


def test_overpayment_and_bad_orders_are_refused_and_book_nothing(o2c):
    e = o2c.engine
    with o2c.read() as s:
        before = len(ledger.list_journal_entries(s, limit=1000))
    bad = [
        ({"customer": "C-NOPE", "lines": [{"itemCode": "FG-FRAME", "quantity": 1}]}, "C-NOPE does not exist"),
        ({"customer": "S-STEEL", "lines": [{"itemCode": "FG-FRAME", "quantity": 1}]}, "not a customer"),
        ({"customer": "C-ACME", "lines": []}, "at least one line"),
        ({"customer": "C-ACME", "lines": [{"itemCode": "FG-FRAME", "quantity": 0}]}, "line 1: quantity must be"),
        ({"customer": "C-ACME", "lines": [{"itemCode": "XX", "quantity": 1}]}, "line 1: item XX does not exist"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ErpError, match=message):
            place_sales_order(e, **kwargs)
    order_id, _, iid = place_sales_order(e, customer="C-ACME", lines=[{"itemCode": "FG-FRAME", "quantity": 1}])
    with pytest.raises(ErpError, match="has no open invoice"):
        receive_payment(e, order_id=order_id, amount="10")
    complete(e, iid, "pick_and_ship")
    with pytest.raises(ErpError, match="exceeds what SO-.* owes"):
        receive_payment(e, order_id=order_id, amount="1000")
    with o2c.read() as s:
        assert s.scalar(select(SalesOrder.id).where(SalesOrder.id != order_id)) is None
        assert len(ledger.list_journal_entries(s, limit=1000)) == before + 2  # goods issue + invoice only


def test_shipping_more_than_was_picked_is_refused_at_the_task_and_books_nothing(o2c):
    e = o2c.engine
    order_id, _, iid = place_sales_order(e, customer="C-ACME", lines=[{"itemCode": "MR-GLOVES", "quantity": 20}])
    with o2c.read() as s:
        entries_before = len(ledger.list_journal_entries(s, limit=1000))

    for shipped, message in (({"MR-GLOVES": 25}, "MR-GLOVES: ship between 0 and 20"),
                             ({"FG-FRAME": 1}, "FG-FRAME is not on delivery"),
                             ([20], "ship quantities must be an object")):
        with pytest.raises(ErpError, match=message):
            complete(e, iid, "pick_and_ship", {"shipAll": False, "shippedQuantities": shipped})

    # Refused as a whole: the task is still open, nothing was booked, no retry job or incident waits.
    assert open_tasks(e, iid) == ["pick_and_ship"] and incidents(e, iid) == []
    with o2c.read() as s:
        assert len(ledger.list_journal_entries(s, limit=1000)) == entries_before
        assert s.scalars(select(Delivery.state).where(Delivery.order_id == order_id)).all() == ["ready"]
    complete(e, iid, "pick_and_ship", {"shipAll": False, "shippedQuantities": {"MR-GLOVES": 20}})
    assert _order(o2c, order_id).state == "delivered"
