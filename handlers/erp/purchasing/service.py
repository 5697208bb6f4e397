"""Requisitions, purchase orders and goods receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from taktflow.engine import events, instances
from taktflow.engine.core import Engine
from taktflow.engine.store.models import ProcessInstance, UserTask
from taktflow.handlers.erp.documents import NextStep, money, transition
from taktflow.handlers.erp.errors import ErpError, NotFound
from taktflow.handlers.erp.invoicing.models import Payment, VendorBill
from taktflow.handlers.erp.invoicing.service import check_vendor_bill, payments_query, vendor_bills_query
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import get_item
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.models import JournalEntry
from taktflow.handlers.erp.lines import check_quantities, parse_lines
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.partners.service import partner_by_code, require_supplier
from taktflow.handlers.erp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    Requisition,
    RequisitionLine,
)
from taktflow.handlers.erp.reading import by_id
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import Lot

ZERO = Decimal("0")
PROCESS = "procure_to_pay"
DEFAULT_LOCATION = "WH1/STOCK"


def create_requisition(
    session: Session, *, supplier_id: int, lines: Any, now: datetime, requested_by: str | None = None,
    source: str = "user", sales_order_id: int | None = None, location: str = DEFAULT_LOCATION,
    sales_order_line_ids: list[int | None] | None = None,
) -> Requisition:
    """A draft requisition; prices default to the items' standard cost."""
    supplier = require_supplier(session, supplier_id)
    parsed = parse_lines(session, lines, "requisition")
    destination = stock.location_by_code(session, location)
    req = Requisition(state="draft", supplier_id=supplier.id, requested_by=requested_by, requested_at=now,
                      source=source, sales_order_id=sales_order_id, destination_location_id=destination.id,
                      estimated_total=ZERO)
    links = sales_order_line_ids or [None] * len(parsed)
    for line, link in zip(parsed, links, strict=True):
        price = line.item.standard_cost if line.unit_price is None else line.unit_price
        req.lines.append(RequisitionLine(item_id=line.item.id, quantity=line.quantity, unit_price=price,
                                         sales_order_line_id=link))
    req.estimated_total = sum((money(ln.quantity * ln.unit_price) for ln in req.lines), ZERO)
    session.add(req)
    session.flush()
    req.number = f"REQ-{req.id:05d}"
    session.flush()
    return req


def start_procurement(engine: Engine, session: Session, req: Requisition, *, business_key: str | None = None,
                      actor: str | None = None) -> str:
    """Start procure-to-pay for a requisition in the caller's transaction; returns the instance id."""
    run = instances.start_in(engine, session, PROCESS, business_key=business_key or req.number, actor=actor,
                             variables={"requisitionId": req.id, "requisitionNumber": req.number})
    req.instance_id = req.instance_id or run.row.id
    return run.row.id


def raise_requisition(engine: Engine, *, supplier: int | str, lines: Any, requested_by: str | None = None,
                      ) -> tuple[int, str, str]:
    """Create a requisition and start its procure-to-pay instance: (requisition id, number, instance id)."""

    def work(session: Session) -> tuple[int, str, str]:
        try:
            partner = partner_by_code(session, supplier) if isinstance(supplier, str) else require_supplier(
                session, supplier)
        except NotFound as exc:
            raise ErpError(str(exc)) from None
        req = create_requisition(session, supplier_id=partner.id, lines=lines, now=engine.clock.now(),
                                 requested_by=requested_by)
        instance_id = start_procurement(engine, session, req, actor=requested_by)
        return req.id, req.number, instance_id

    return engine.command(work)


def get_requisition(session: Session, requisition_id: int) -> Requisition:
    req = session.get(Requisition, requisition_id, options=[selectinload(Requisition.lines)])
    if req is None:
        raise NotFound(f"requisition {requisition_id} does not exist")
    return req


def requisitions_query(*, state: str | None = None) -> Select[tuple[Requisition]]:
    stmt = select(Requisition).options(selectinload(Requisition.lines)).order_by(Requisition.id.desc())
    if state:
        stmt = stmt.where(Requisition.state == state)
    return stmt


def list_requisitions(session: Session, *, state: str | None = None, limit: int = 100, offset: int = 0
                      ) -> list[Requisition]:
    return list(session.scalars(requisitions_query(state=state).limit(limit).offset(offset)))


def decide_requisition(session: Session, req: Requisition, *, approved: bool, level: str | None,
                       note: str | None = None) -> None:
    """Approve or reject a requisition waiting for approval (a retried task finds it decided already)."""
    if req.state in ("approved", "ordered", "rejected") and req.approval_level is not None:
        return
    transition(req, "approve" if approved else "reject")
    req.approval_level = level or "auto"
    req.decision_note = (note or None) and note[:400]
    session.flush()


def create_purchase_order(session: Session, req: Requisition, booking_key: str, now: datetime) -> PurchaseOrder:
    """Order what an approved requisition asks for (once per booking key)."""
    existing = session.scalar(select(PurchaseOrder).where(PurchaseOrder.booking_key == booking_key))
    if existing is not None:
        return existing
    transition(req, "order")
    order = PurchaseOrder(booking_key=booking_key, requisition_id=req.id, supplier_id=req.supplier_id,
                          state="confirmed", ordered_at=now, destination_location_id=req.destination_location_id,
                          total=req.estimated_total, instance_id=req.instance_id)
    for number, line in enumerate(req.lines, start=1):
        order.lines.append(PurchaseOrderLine(line_no=number, item_id=line.item_id, quantity=line.quantity,
                                             unit_price=line.unit_price))
    session.add(order)
    session.flush()
    order.number = f"PO-{order.id:05d}"
    session.flush()
    return order


def get_purchase_order(session: Session, order_id: int) -> PurchaseOrder:
    order = session.get(PurchaseOrder, order_id, options=[selectinload(PurchaseOrder.lines)])
    if order is None:
        raise NotFound(f"purchase order {order_id} does not exist")
    return order


def purchase_orders_query(*, state: str | None = None, number: str | None = None) -> Select[tuple[PurchaseOrder]]:
    stmt = select(PurchaseOrder).options(selectinload(PurchaseOrder.lines)).order_by(PurchaseOrder.id.desc())
    if state:
        stmt = stmt.where(PurchaseOrder.state == state)
    if number:
        stmt = stmt.where(PurchaseOrder.number.contains(number.strip().upper(), autoescape=True))
    return stmt


def list_purchase_orders(session: Session, *, state: str | None = None, limit: int = 100, offset: int = 0
                         ) -> list[PurchaseOrder]:
    return list(session.scalars(purchase_orders_query(state=state).limit(limit).offset(offset)))


def receipts_query(*, order_id: int | None = None) -> Select[tuple[Receipt]]:
    stmt = select(Receipt).options(selectinload(Receipt.lines)).order_by(Receipt.id.desc())
    if order_id is not None:
        stmt = stmt.where(Receipt.order_id == order_id)
    return stmt


def list_receipts(session: Session, *, order_id: int | None = None, limit: int = 100, offset: int = 0) -> list[Receipt]:
    return list(session.scalars(receipts_query(order_id=order_id).limit(limit).offset(offset)))


def check_received_quantities(session: Session, order: PurchaseOrder, quantities: Any) -> dict[str, Decimal]:
    """Validate {itemCode: quantity} for a partial receipt: no more than is still open on the PO."""
    open_qty = {get_item(session, ln.item_id).code: ln.quantity - ln.received_qty for ln in order.lines}
    return check_quantities(quantities, open_qty, f"purchase order {order.number}", "receive")


def post_goods_receipt(
    session: Session, order: PurchaseOrder, booking_key: str, now: datetime, received: dict[str, Decimal] | None,
    lot_code: str | None = None,
) -> Receipt | None:
    """Receive goods: Supplier → stock at standard cost, Dr Inventory / Cr GR/IR at the PO price, the difference
    to Price variance. `received` None receives everything still open. None when nothing was received."""
    existing = session.scalar(select(Receipt).where(Receipt.booking_key == booking_key))
    if existing is not None:
        return existing
    amounts = check_received_quantities(session, order, received) if received is not None else None
    receipt = Receipt(booking_key=booking_key, order_id=order.id, state="done", received_at=now,
                      instance_id=order.instance_id)
    session.add(receipt)
    session.flush()
    receipt.number = f"GR-{receipt.id:05d}"
    for line in order.lines:
        item = get_item(session, line.item_id)
        open_qty = line.quantity - line.received_qty
        amount = open_qty if amounts is None else amounts.get(item.code, ZERO)
        if amount <= 0:
            continue
        lot = None
        if item.lot_tracked:
            code = lot_code or f"{order.number}-{line.line_no}-{receipt.id}"
            lot = stock.create_lot(session, item_id=item.id, code=code, now=now, origin=receipt.number)
        # GR/IR is credited at the PO price (what the bill will clear); stock is valued at standard cost.
        variance = money(amount * line.unit_price) - money(amount * item.standard_cost)
        stock.post_move(
            session, f"{booking_key}:{line.id}", item_id=item.id, quantity=amount, lot_id=lot.id if lot else None,
            from_location=stock.SUPPLIER, to_location=order.destination_location_id, moved_at=now,
            document_type="receipt", document_id=receipt.id, document_number=receipt.number,
            instance_id=order.instance_id, partner_id=order.supplier_id, memo=f"Goods receipt {receipt.number}",
            extra_lines=[ledger.dr(ledger.PRICE_VARIANCE, variance, label=f"purchase price variance {order.number}"),
                         ledger.cr(ledger.GRIR, variance, partner_id=order.supplier_id)],
        )
        line.received_qty = line.received_qty + amount
        receipt.lines.append(ReceiptLine(po_line_id=line.id, item_id=item.id, quantity=amount,
                                         lot_id=lot.id if lot else None))
    if not receipt.lines:
        session.delete(receipt)
        session.flush()
        return None
    transition(order, "receive_fully" if all(ln.received_qty >= ln.quantity for ln in order.lines)
               else "receive_partially")
    session.flush()
    return receipt


def submit_vendor_bill(engine: Engine, *, order_id: int, bill: Any, actor: str | None = None) -> list[Any]:
    """A vendor bill arrived for a PO: validated here, then handed to the waiting procure-to-pay instance."""
    with engine.db.read() as session:
        order = get_purchase_order(session, order_id)
        check_vendor_bill(session, order, bill)
        number = order.number
    return events.correlate_message(engine, "vendor_bill_received", correlation_keys={"purchaseOrderNumber": number},
                                    variables={"vendorBill": bill}, actor=actor)


# --- what the order pages show --------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseOrderView:
    order: PurchaseOrder
    supplier: Partner
    items: dict[int, Item]
    location_code: str
    requisition: Requisition | None
    receipts: list[Receipt]
    lots: dict[int, Lot]
    bills: list[VendorBill]
    payments: list[Payment]
    entries: list[JournalEntry]
    tasks: list[UserTask]
    instance: ProcessInstance | None
    next_steps: list[NextStep]


# Transitions a person may ask for directly; receiving, billing and paying are the procure-to-pay process's tasks.
USER_ACTIONS = {"cancel": "Cancel order"}


def purchase_order_view(session: Session, number: str) -> PurchaseOrderView:
    order = purchase_order_by_number(session, number)
    receipts = list(session.scalars(receipts_query(order_id=order.id)))
    bills = list(session.scalars(vendor_bills_query(purchase_order_id=order.id)))
    payments = list(session.scalars(payments_query(vendor_bill_ids=[b.id for b in bills]))) if bills else []
    entries = list(session.scalars(ledger.journal_query(instance_id=order.instance_id))) if order.instance_id else []
    open_tasks = list(session.scalars(select(UserTask).where(UserTask.instance_id == order.instance_id)
                                      .order_by(UserTask.created_at, UserTask.id))) if order.instance_id else []
    href = f"/erp/purchasing/{order.number}"
    steps = [NextStep(action, label, f"{href}/{action}") for action, label in USER_ACTIONS.items()
             if action in order.actions_from(order.state)]
    steps += [NextStep(t.element_id, t.name or t.element_id, f"/tasks/{t.id}", task=True) for t in open_tasks]
    return PurchaseOrderView(
        order=order, supplier=session.get(Partner, order.supplier_id),
        items=by_id(session, Item, (ln.item_id for ln in order.lines)),  # receipts and bills are of these
        location_code=stock.get_location(session, order.destination_location_id).code,
        requisition=session.get(Requisition, order.requisition_id) if order.requisition_id else None,
        receipts=receipts, lots=by_id(session, Lot, (ln.lot_id for r in receipts for ln in r.lines)), bills=bills,
        payments=payments, entries=entries, tasks=open_tasks,
        instance=session.get(ProcessInstance, order.instance_id) if order.instance_id else None, next_steps=steps)


def purchase_order_by_number(session: Session, number: str) -> PurchaseOrder:
    order = session.scalar(select(PurchaseOrder).options(selectinload(PurchaseOrder.lines))
                           .where(PurchaseOrder.number == number))
    if order is None:
        raise NotFound(f"purchase order {number} does not exist")
    return order


def cancel_purchase_order(engine: Engine, number: str, *, actor: str | None = None, reason: str | None = None) -> None:
    """Cancel an order nothing was received on yet; its procure-to-pay instance ends in the same command."""

    def work(session: Session) -> None:
        order = purchase_order_by_number(session, number)
        transition(order, "cancel")  # refuses, naming the state, once goods arrived
        session.flush()
        if order.instance_id:
            instance = session.get(ProcessInstance, order.instance_id)
            if instance is not None and instance.state not in ("completed", "cancelled"):
                instances.cancel_in(engine, session, order.instance_id, actor=actor,
                                    reason=reason or f"purchase order {order.number} cancelled")

    engine.command(work)
