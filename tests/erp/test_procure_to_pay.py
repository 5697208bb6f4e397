"""Procure to pay end to end: approval thresholds, partial receipts, 3-way match variances, rejection."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from taktflow.engine.handlers import HandlerContext
from taktflow.handlers.erp.documents import transition
from taktflow.handlers.erp.errors import ErpError, InvalidTransition
from taktflow.handlers.erp.invoicing.models import VendorBill
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.purchasing import handlers
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, Receipt, Requisition
from taktflow.handlers.erp.purchasing.service import raise_requisition, submit_vendor_bill
from tests.erp.conftest import deploy_erp
from tests.erp.flow import complete, incidents, instance, open_tasks


@pytest.fixture
def p2p(erp):
    deploy_erp(erp.engine)
    return erp


def _po(erp):
    with erp.read() as s:
        [po] = s.scalars(select(PurchaseOrder)).all()
        s.expunge(po)
        return po


def _bill(erp):
    with erp.read() as s:
        bills = s.scalars(select(VendorBill).order_by(VendorBill.id)).all()
        for b in bills:
            s.expunge(b)
        return bills


def _balance(erp, account):
    with erp.read() as s:
        return ledger.account_balance(s, account)


def _bill_of(quantity, price):
    return {"lines": [{"itemCode": "RM-STEEL", "quantity": quantity, "unitPrice": price}]}


def _steel(quantity=200):
    return [{"itemCode": "RM-STEEL", "quantity": quantity}]


def test_small_requisition_is_auto_approved_received_in_parts_billed_and_paid(p2p):
    e = p2p.engine
    req_id, number, iid = raise_requisition(p2p.engine, supplier="S-STEEL", lines=_steel())  # 500.00 → auto
    assert open_tasks(e, iid) == ["receive_goods"]
    complete(e, iid, "receive_goods", {"receiveAll": False, "receivedQuantities": {"RM-STEEL": 120},
                                       "lotCode": "HEAT-881"})
    assert open_tasks(e, iid) == ["receive_goods"]
    assert _balance(p2p, ledger.GRIR) == Decimal("-300.00")
    complete(e, iid, "receive_goods")
    po = _po(p2p)
    assert po.state == "received"
    submit_vendor_bill(e, order_id=po.id, bill={"supplierReference": "RS-1", "lines": [
        {"itemCode": "RM-STEEL", "quantity": 200, "unitPrice": "2.54"}]})  # +1.6 %: within tolerance
    [bill] = _bill(p2p)
    assert (bill.state, bill.match_status) == ("posted", "matched")
    assert _balance(p2p, ledger.PRICE_VARIANCE) == Decimal("8.00")
    complete(e, iid, "pay_vendor", {"paymentReference": "SEPA 1"})
    assert instance(e, iid).state == "completed"
    assert (_po(p2p).state, _bill(p2p)[0].state) == ("closed", "paid")
    assert _balance(p2p, ledger.GRIR) == 0 and _balance(p2p, ledger.PAYABLE) == 0
    with p2p.read() as s:
        lots = [ln.lot_id for r in s.scalars(select(Receipt)) for ln in r.lines]
    assert len(set(lots)) == 2  # the supplier's heat number and a generated lot


def test_price_variance_goes_to_an_ap_clerk_who_accepts_it(p2p):
    e = p2p.engine
    _, _, iid = raise_requisition(e, supplier="S-STEEL", lines=_steel())
    complete(e, iid, "receive_goods")
    po = _po(p2p)
    submit_vendor_bill(e, order_id=po.id, bill=_bill_of(200, 2.60))
    assert open_tasks(e, iid) == ["resolve_exception"]
    [bill] = _bill(p2p)
    assert bill.state == "exception"
    assert bill.match_issues == ["RM-STEEL: billed price 2.6 vs ordered 2.5 (+4.0 %, tolerance 2 %)"]
    assert _balance(p2p, ledger.PAYABLE) == 0  # nothing posted before the decision
    complete(e, iid, "resolve_exception", {"resolution": "accept", "resolutionNote": "steel surcharge agreed"})
    assert _balance(p2p, ledger.PRICE_VARIANCE) == Decimal("20.00")
    assert _balance(p2p, ledger.PAYABLE) == Decimal("-520.00")
    assert _balance(p2p, ledger.GRIR) == 0


def test_quantity_variance_is_rejected_and_a_corrected_bill_is_matched(p2p):
    e = p2p.engine
    _, _, iid = raise_requisition(e, supplier="S-STEEL", lines=_steel())
    complete(e, iid, "receive_goods")
    po = _po(p2p)
    submit_vendor_bill(e, order_id=po.id, bill=_bill_of(210, 2.50))
    [bill] = _bill(p2p)
    assert bill.match_issues == ["RM-STEEL: billed quantity 210 vs received and not billed 200"]
    complete(e, iid, "resolve_exception", {"resolution": "reject", "resolutionNote": "we got 200"})
    assert _bill(p2p)[0].state == "rejected"
    assert instance(e, iid).active_elements == ["vendor_bill_received"]
    assert _balance(p2p, ledger.PAYABLE) == 0
    submit_vendor_bill(e, order_id=po.id, bill=_bill_of(200, 2.50))
    assert [b.state for b in _bill(p2p)] == ["rejected", "posted"]
    assert open_tasks(e, iid) == ["pay_vendor"]


def test_approval_levels_from_the_dmn_table_and_rejection(p2p):
    e = p2p.engine
    _, _, buyer = raise_requisition(e, supplier="S-STEEL", lines=_steel(2000))  # 5 000 → buyer
    _, _, mgmt = raise_requisition(e, supplier="S-STEEL", lines=_steel(8000))  # 20 000 → management
    assert open_tasks(e, buyer) == ["approve_purchasing"]
    assert open_tasks(e, mgmt) == ["approve_management"]
    complete(e, buyer, "approve_purchasing", {"approved": False, "approvedReason": "too much stock"})
    complete(e, mgmt, "approve_management", {"managementApproved": True})
    assert instance(e, buyer).state == "completed" and open_tasks(e, mgmt) == ["receive_goods"]
    with p2p.read() as s:
        reqs = {r.instance_id: r for r in s.scalars(select(Requisition))}
    assert (reqs[buyer].state, reqs[buyer].approval_level, reqs[buyer].decision_note) == (
        "rejected", "purchasing", "too much stock")
    assert (reqs[mgmt].state, reqs[mgmt].approval_level) == ("ordered", "management")
    assert incidents(e, buyer) == incidents(e, mgmt) == []


def test_bad_requisitions_and_bills_are_refused_and_book_nothing(p2p):
    e = p2p.engine
    for supplier, lines, message in [("C-ACME", _steel(), "not a supplier"), ("S-NOPE", _steel(), "does not exist"),
                                     ("S-STEEL", [{"itemCode": "RM-STEEL", "quantity": -1}], "greater than zero")]:
        with pytest.raises(ErpError, match=message):
            raise_requisition(e, supplier=supplier, lines=lines)
    _, _, iid = raise_requisition(e, supplier="S-STEEL", lines=_steel())
    complete(e, iid, "receive_goods")
    po = _po(p2p)
    with pytest.raises(ErpError, match="RM-BOLT is not on purchase order"):
        submit_vendor_bill(e, order_id=po.id, bill={"lines": [{"itemCode": "RM-BOLT", "quantity": 1, "unitPrice": 1}]})
    with pytest.raises(ErpError, match="must state a unit price"):
        submit_vendor_bill(e, order_id=po.id, bill={"lines": [{"itemCode": "RM-STEEL", "quantity": 1}]})
    assert _bill(p2p) == []


def test_a_retried_handler_books_nothing_twice_and_states_refuse_wrong_actions(p2p):
    e = p2p.engine
    _, _, iid = raise_requisition(e, supplier="S-STEEL", lines=_steel())
    po = _po(p2p)

    def receive_twice(s):
        ctx = HandlerContext(instance_id=iid, business_key=None, process_key="procure_to_pay", element_id="x",
                             task_id="retried", variables={"purchaseOrderId": po.id, "receiveAll": True},
                             parameters={}, open_session=lambda: s, now=e.clock.now())
        first = handlers.post_goods_receipt(ctx)
        again = handlers.post_goods_receipt(ctx)
        return first["receiptNumber"], again["receiptNumber"]

    first, again = e.command(receive_twice)
    assert first == again
    assert _balance(p2p, ledger.GRIR) == Decimal("-500.00")
    with p2p.read() as s:
        order = s.get(PurchaseOrder, po.id)
        refused = r"purchase order PO-\d+ is received: cannot cancel \(allowed: close\)"
        with pytest.raises(InvalidTransition, match=refused):
            transition(order, "cancel")
    # The process's own receipt task now finds nothing open: close the books the normal way.
    complete(e, iid, "receive_goods", {"receiveAll": False, "receivedQuantities": {}})
    submit_vendor_bill(e, order_id=po.id, bill=_bill_of(200, 2.5))
    complete(e, iid, "pay_vendor", {"paymentReference": "x"})
    assert instance(e, iid).state == "completed"
