"""Procure-to-pay service tasks (processes/procure_to_pay.bpmn). Each books under ctx.booking_key."""

from __future__ import annotations

from typing import Any

from taktflow.engine.handlers import HandlerContext, service_task_handler
from taktflow.handlers.erp.documents import transition
from taktflow.handlers.erp.errors import ErpError
from taktflow.handlers.erp.invoicing import service as invoicing
from taktflow.handlers.erp.partners.service import partner_by_code
from taktflow.handlers.erp.purchasing import service as purchasing
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, Requisition


def _requisition(ctx: HandlerContext) -> Requisition:
    return purchasing.get_requisition(ctx.session, int(ctx.variables["requisitionId"]))


def _purchase_order(ctx: HandlerContext) -> PurchaseOrder:
    return purchasing.get_purchase_order(ctx.session, int(ctx.variables["purchaseOrderId"]))


@service_task_handler("erp.p2p.submit_requisition")
def submit_requisition(ctx: HandlerContext) -> dict[str, Any]:
    """Submit the requisition for approval; a process started from a form (supplierCode, lines) creates it."""
    if ctx.variables.get("requisitionId") is None:
        if not ctx.variables.get("supplierCode"):
            raise ErpError("start procure-to-pay with a requisitionId, or with supplierCode and lines")
        req = purchasing.create_requisition(
            ctx.session, supplier_id=partner_by_code(ctx.session, str(ctx.variables["supplierCode"])).id,
            lines=ctx.variables.get("lines"), now=ctx.now, requested_by=ctx.actor)
        req.instance_id = ctx.instance_id
    else:
        req = _requisition(ctx)
    if req.state == "draft":
        transition(req, "submit")
    return {"requisitionId": req.id, "requisitionNumber": req.number,
            "requisitionAmount": float(req.estimated_total)}


def _approval_note(ctx: HandlerContext, *, approved: bool) -> str | None:
    comment = ctx.variables.get("managementComment") or ctx.variables.get("approvalComment")
    if approved:
        return comment
    # A No comes with its reason (docs/forms.md): the management level's if it decided, else the buyer's.
    level = ctx.variables.get("approvalLevel")
    reason = ctx.variables.get("managementApprovedReason" if level == "management" else "approvedReason")
    return reason or comment


@service_task_handler("erp.p2p.approve_requisition")
def approve_requisition(ctx: HandlerContext) -> dict[str, Any]:
    req = _requisition(ctx)
    purchasing.decide_requisition(ctx.session, req, approved=True, level=ctx.variables.get("approvalLevel"),
                                  note=_approval_note(ctx, approved=True))
    return {"requisitionState": req.state}


@service_task_handler("erp.p2p.reject_requisition")
def reject_requisition(ctx: HandlerContext) -> dict[str, Any]:
    req = _requisition(ctx)
    purchasing.decide_requisition(ctx.session, req, approved=False, level=ctx.variables.get("approvalLevel"),
                                  note=_approval_note(ctx, approved=False))
    return {"requisitionState": req.state}


@service_task_handler("erp.p2p.create_purchase_order")
def create_purchase_order(ctx: HandlerContext) -> dict[str, Any]:
    order = purchasing.create_purchase_order(ctx.session, _requisition(ctx), ctx.booking_key, ctx.now)
    order.instance_id = order.instance_id or ctx.instance_id
    return {"purchaseOrderId": order.id, "purchaseOrderNumber": order.number, "purchaseOrderTotal": float(order.total)}


@service_task_handler("erp.p2p.post_goods_receipt")
def post_goods_receipt(ctx: HandlerContext) -> dict[str, Any]:
    order = _purchase_order(ctx)
    received = None if ctx.variables.get("receiveAll", True) else (ctx.variables.get("receivedQuantities") or {})
    receipt = purchasing.post_goods_receipt(ctx.session, order, ctx.booking_key, ctx.now, received,
                                            lot_code=ctx.variables.get("lotCode") or None)
    return {"receiptNumber": receipt.number if receipt else None,
            "fullyReceived": all(ln.received_qty >= ln.quantity for ln in order.lines),
            # The next receipt starts from "everything arrived" again, not from this one's answers.
            "receiveAll": True, "receivedQuantities": None, "lotCode": None}


@service_task_handler("erp.p2p.register_vendor_bill")
def register_vendor_bill(ctx: HandlerContext) -> dict[str, Any]:
    bill = invoicing.register_vendor_bill(ctx.session, _purchase_order(ctx), ctx.variables.get("vendorBill"),
                                          ctx.booking_key, ctx.now)
    return {"vendorBillId": bill.id, "vendorBillNumber": bill.number, "vendorBillTotal": float(bill.total)}


@service_task_handler("erp.p2p.match_vendor_bill")
def match_vendor_bill(ctx: HandlerContext) -> dict[str, Any]:
    return invoicing.match_vendor_bill(ctx.session, invoicing.get_vendor_bill(ctx.session,
                                                                               int(ctx.variables["vendorBillId"])))


@service_task_handler("erp.p2p.resolve_vendor_bill")
def resolve_vendor_bill(ctx: HandlerContext) -> dict[str, Any]:
    bill = invoicing.get_vendor_bill(ctx.session, int(ctx.variables["vendorBillId"]))
    invoicing.resolve_vendor_bill(ctx.session, bill, str(ctx.variables.get("resolution")),
                                  ctx.variables.get("resolutionNote"))
    return {"vendorBillState": bill.state}


@service_task_handler("erp.p2p.post_vendor_bill")
def post_vendor_bill(ctx: HandlerContext) -> dict[str, Any]:
    bill = invoicing.get_vendor_bill(ctx.session, int(ctx.variables["vendorBillId"]))
    invoicing.post_vendor_bill(ctx.session, bill, ctx.booking_key, ctx.now)
    return {"vendorBillState": bill.state, "billDueDate": bill.due_date.isoformat()}


@service_task_handler("erp.p2p.pay_vendor_bill")
def pay_vendor_bill(ctx: HandlerContext) -> dict[str, Any]:
    bill = invoicing.get_vendor_bill(ctx.session, int(ctx.variables["vendorBillId"]))
    payment = invoicing.pay_vendor_bill(ctx.session, bill, ctx.booking_key, ctx.now,
                                        ctx.variables.get("paymentReference"))
    return {"vendorPaymentNumber": payment.number}


@service_task_handler("erp.p2p.close_purchase_order")
def close_purchase_order(ctx: HandlerContext) -> dict[str, Any]:
    order = _purchase_order(ctx)
    if order.state == "received":
        transition(order, "close")
    return {"purchaseOrderState": order.state}
