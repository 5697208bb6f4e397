"""Sales REST: place orders (starts order-to-cash), read orders and deliveries, record a customer payment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.erp.invoicing import service as invoicing
from taktflow.handlers.erp.sales import service
from taktflow.handlers.erp.sales.models import Delivery, SalesOrder
from taktflow.handlers.erp.web import document_out, num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64, RowId
from taktflow.web.auth.service import FINANCE, WORK, Principal

router = APIRouter(tags=["erp: sales"])


class SalesOrderIn(BaseModel):
    customerCode: str | None = None  # noqa: N815 - API names
    customerId: RowId | None = None  # noqa: N815
    lines: list[dict[str, Any]] = Field(min_length=1)
    customerReference: str | None = Field(default=None, max_length=100)  # noqa: N815
    taxRate: Decimal = service.DEFAULT_TAX_RATE  # noqa: N815


class PaymentIn(BaseModel):
    amount: Decimal
    reference: str | None = Field(default=None, max_length=100)


def order_out(o: SalesOrder) -> dict[str, Any]:
    return document_out(
        o, customerId=o.customer_id, orderedAt=o.ordered_at, netTotal=num(o.net_total), taxTotal=num(o.tax_total),
        total=num(o.total), customerReference=o.customer_reference, creditNote=o.credit_note,
        processInstanceId=o.instance_id,
        lines=[{"id": ln.id, "lineNo": ln.line_no, "itemId": ln.item_id, "quantity": num(ln.quantity),
                "unitPrice": num(ln.unit_price), "amount": num(ln.amount), "deliveredQty": num(ln.delivered_qty)}
               for ln in o.lines])


def delivery_out(d: Delivery) -> dict[str, Any]:
    return document_out(d, orderId=d.order_id, isBackorder=d.is_backorder, createdAt=d.created_at,
                        shippedAt=d.shipped_at, lines=[{"itemId": ln.item_id, "pickedQty": num(ln.quantity),
                                                        "shippedQty": num(ln.shipped_qty),
                                                        "costValue": num(ln.cost_value)} for ln in d.lines])


@router.post("/sales-orders", status_code=201)
def place_order(body: SalesOrderIn, engine: Engine = Depends(get_engine),
                principal: Principal = Depends(require(WORK))) -> dict[str, Any]:
    customer = body.customerCode if body.customerCode else body.customerId
    if customer is None:
        from taktflow.handlers.erp.errors import ErpError

        raise ErpError("name the customer (customerCode or customerId)")
    order_id, _, _ = service.place_sales_order(engine, customer=customer, lines=body.lines, actor=principal.name,
                                               tax_rate=body.taxRate, customer_reference=body.customerReference)
    with engine.db.read() as session:
        return order_out(service.get_sales_order(session, order_id))


@router.get("/sales-orders")
def list_orders(state: str | None = None, customerId: RowId | None = None,  # noqa: N803
                limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),
                engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [order_out(o) for o in service.list_sales_orders(session, state=state, customer_id=customerId,
                                                                limit=limit, offset=offset)]


@router.get("/sales-orders/{order_id}")
def read_order(order_id: RowId, engine: Engine = Depends(get_engine),
               _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return order_out(service.get_sales_order(session, order_id))


@router.post("/sales-orders/{order_id}/payments")
def pay_order(order_id: RowId, body: PaymentIn, engine: Engine = Depends(get_engine),
              principal: Principal = Depends(require(FINANCE))) -> dict[str, Any]:
    """A customer payment (bank feed or clerk): checked, then correlated as `payment_received`."""
    reached = invoicing.receive_payment(engine, order_id=order_id, amount=body.amount, reference=body.reference,
                                        actor=principal.name)
    return {"processInstanceIds": [r.instance_id for r in reached]}


@router.get("/deliveries")
def list_deliveries(orderId: RowId | None = None, engine: Engine = Depends(get_engine),  # noqa: N803
                    _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [delivery_out(d) for d in service.list_deliveries(session, order_id=orderId)]


@router.get("/deliveries/{delivery_id}")
def read_delivery(delivery_id: RowId, engine: Engine = Depends(get_engine),
                  _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return delivery_out(service.get_delivery(session, delivery_id))
