"""Invoicing REST: customer invoices, payments, vendor bills (read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from taktflow.engine.core import Engine
from taktflow.handlers.erp.invoicing import service
from taktflow.handlers.erp.invoicing.models import VendorBill
from taktflow.handlers.erp.web import document_out, num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64, RowId
from taktflow.web.auth.service import FINANCE, WORK, Principal

router = APIRouter(tags=["erp: invoicing"])


def bill_out(b: VendorBill) -> dict[str, Any]:
    return document_out(b, supplierId=b.supplier_id, purchaseOrderId=b.purchase_order_id,
                        supplierReference=b.supplier_reference, billDate=b.bill_date, dueDate=b.due_date,
                        total=num(b.total), matchStatus=b.match_status, matchIssues=b.match_issues,
                        resolutionNote=b.resolution_note, processInstanceId=b.instance_id,
                        lines=[{"itemId": ln.item_id, "quantity": num(ln.quantity), "unitPrice": num(ln.unit_price),
                                "amount": num(ln.amount)} for ln in b.lines])


@router.get("/invoices")
def list_invoices(orderId: RowId | None = None, state: str | None = None,  # noqa: N803
                  limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),
                  engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [document_out(i, orderId=i.order_id, deliveryId=i.delivery_id, customerId=i.customer_id,
                             invoiceDate=i.invoice_date, dueDate=i.due_date, netTotal=num(i.net_total),
                             taxTotal=num(i.tax_total), total=num(i.total), paidAmount=num(i.paid_amount),
                             dunningLevel=i.dunning_level, processInstanceId=i.instance_id)
                for i in service.list_invoices(session, order_id=orderId, state=state, limit=limit, offset=offset)]


@router.get("/payments")
def list_payments(direction: str | None = None, limit: int = Query(100, ge=1, le=1000),
                  offset: int = Query(0, ge=0, le=MAX_INT64), engine: Engine = Depends(get_engine),
                  _: Principal = Depends(require(FINANCE))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [document_out(p, direction=p.direction, partnerId=p.partner_id, amount=num(p.amount), paidAt=p.paid_at,
                             reference=p.reference, invoiceId=p.invoice_id, vendorBillId=p.vendor_bill_id,
                             processInstanceId=p.instance_id)
                for p in service.list_payments(session, direction=direction, limit=limit, offset=offset)]


@router.get("/vendor-bills")
def list_bills(purchaseOrderId: RowId | None = None, state: str | None = None,  # noqa: N803
               engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [bill_out(b) for b in service.list_vendor_bills(session, purchase_order_id=purchaseOrderId, state=state)]


@router.get("/vendor-bills/{bill_id}")
def read_bill(bill_id: RowId, engine: Engine = Depends(get_engine),
              _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return bill_out(service.get_vendor_bill(session, bill_id))
