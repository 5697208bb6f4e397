"""Purchasing REST: raise requisitions (starts procure-to-pay), read POs and receipts, submit vendor bills."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.erp.errors import ErpError
from taktflow.handlers.erp.purchasing import service
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, Requisition
from taktflow.handlers.erp.web import document_out, num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64, RowId
from taktflow.web.auth.service import FINANCE, WORK, Principal

router = APIRouter(tags=["erp: purchasing"])


class RequisitionIn(BaseModel):
    supplierCode: str | None = None  # noqa: N815 - API names
    supplierId: RowId | None = None  # noqa: N815
    lines: list[dict[str, Any]] = Field(min_length=1)


class VendorBillIn(BaseModel):
    supplierReference: str | None = Field(default=None, max_length=100)  # noqa: N815
    lines: list[dict[str, Any]] = Field(min_length=1)


def requisition_out(r: Requisition) -> dict[str, Any]:
    return document_out(r, supplierId=r.supplier_id, source=r.source, salesOrderId=r.sales_order_id,
                        estimatedTotal=num(r.estimated_total), approvalLevel=r.approval_level,
                        decisionNote=r.decision_note, requestedBy=r.requested_by, processInstanceId=r.instance_id,
                        lines=[{"itemId": ln.item_id, "quantity": num(ln.quantity), "unitPrice": num(ln.unit_price)}
                               for ln in r.lines])


def order_out(o: PurchaseOrder) -> dict[str, Any]:
    return document_out(o, supplierId=o.supplier_id, requisitionId=o.requisition_id, orderedAt=o.ordered_at,
                        total=num(o.total), processInstanceId=o.instance_id,
                        lines=[{"id": ln.id, "lineNo": ln.line_no, "itemId": ln.item_id, "quantity": num(ln.quantity),
                                "unitPrice": num(ln.unit_price), "receivedQty": num(ln.received_qty),
                                "billedQty": num(ln.billed_qty)} for ln in o.lines])


@router.post("/requisitions", status_code=201)
def raise_requisition(body: RequisitionIn, engine: Engine = Depends(get_engine),
                      principal: Principal = Depends(require(WORK))) -> dict[str, Any]:
    supplier = body.supplierCode if body.supplierCode else body.supplierId
    if supplier is None:
        raise ErpError("name the supplier (supplierCode or supplierId)")
    req_id, _, _ = service.raise_requisition(engine, supplier=supplier, lines=body.lines, requested_by=principal.name)
    with engine.db.read() as session:
        return requisition_out(service.get_requisition(session, req_id))


@router.get("/requisitions")
def list_requisitions(
    state: str | None = None, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),
    engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK)),
) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [requisition_out(r) for r in service.list_requisitions(session, state=state, limit=limit, offset=offset)]


@router.get("/requisitions/{requisition_id}")
def read_requisition(requisition_id: RowId, engine: Engine = Depends(get_engine),
                     _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return requisition_out(service.get_requisition(session, requisition_id))


@router.get("/purchase-orders")
def list_orders(state: str | None = None, limit: int = Query(100, ge=1, le=1000),
                offset: int = Query(0, ge=0, le=MAX_INT64),
                engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [order_out(o) for o in service.list_purchase_orders(session, state=state, limit=limit, offset=offset)]


@router.get("/purchase-orders/{order_id}")
def read_order(order_id: RowId, engine: Engine = Depends(get_engine),
               _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return order_out(service.get_purchase_order(session, order_id))


@router.get("/receipts")
def list_receipts(orderId: RowId | None = None, engine: Engine = Depends(get_engine),  # noqa: N803
                  _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [document_out(r, orderId=r.order_id, receivedAt=r.received_at,
                             lines=[{"itemId": ln.item_id, "quantity": num(ln.quantity), "lotId": ln.lot_id}
                                    for ln in r.lines]) for r in service.list_receipts(session, order_id=orderId)]


@router.post("/purchase-orders/{order_id}/vendor-bills")
def submit_vendor_bill(order_id: RowId, body: VendorBillIn, engine: Engine = Depends(get_engine),
                       principal: Principal = Depends(require(FINANCE))) -> dict[str, Any]:
    """A vendor bill (EDI, OCR or AP clerk): validated against the PO, then correlated as `vendor_bill_received`."""
    reached = service.submit_vendor_bill(engine, order_id=order_id, bill=body.model_dump(), actor=principal.name)
    return {"processInstanceIds": [r.instance_id for r in reached]}
