"""Sales orders and deliveries: creating, credit facts, reserving, shipping (goods issue), reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from taktflow.engine import instances
from taktflow.engine.core import Engine
from taktflow.engine.store.models import ProcessInstance, UserTask
from taktflow.handlers.erp.documents import NextStep, money, transition
from taktflow.handlers.erp.errors import ErpError, NotFound
from taktflow.handlers.erp.invoicing.models import CustomerInvoice, Payment
from taktflow.handlers.erp.invoicing.service import invoices_query, payments_query
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import get_item
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.models import JournalEntry
from taktflow.handlers.erp.lines import check_quantities, parse_lines
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.partners.service import partner_by_code, require_customer
from taktflow.handlers.erp.reading import by_id
from taktflow.handlers.erp.sales.models import Delivery, DeliveryLine, SalesOrder, SalesOrderLine
from taktflow.handlers.erp.stock import service as stock

ZERO = Decimal("0")
DEFAULT_TAX_RATE = Decimal("0.19")
DEFAULT_LOCATION = "WH1/STOCK"
PROCESS = "order_to_cash"
# Orders whose value counts against the customer's credit until they are invoiced.
OPEN_ORDER_STATES = ("credit_hold", "confirmed", "partially_delivered", "delivered")


def create_sales_order(
    session: Session, *, customer_id: int, lines: Any, now: datetime, tax_rate: Any = DEFAULT_TAX_RATE,
    customer_reference: str | None = None, location: str = DEFAULT_LOCATION,
) -> SalesOrder:
    """A draft order; prices default to the items' sale prices. Refuses bad lines and non-customers."""
    customer = require_customer(session, customer_id)
    rate = Decimal(str(tax_rate))
    if not ZERO <= rate < 1:
        raise ErpError("tax rate must be between 0 and 1 (0.19 for 19 %)")
    parsed = parse_lines(session, lines)
    source = stock.location_by_code(session, location)
    order = SalesOrder(customer_id=customer.id, state="draft", ordered_at=now, source_location_id=source.id,
                       tax_rate=rate, customer_reference=customer_reference, net_total=ZERO, tax_total=ZERO,
                       total=ZERO)
    for number, line in enumerate(parsed, start=1):
        price = line.item.sale_price if line.unit_price is None else line.unit_price
        order.lines.append(SalesOrderLine(line_no=number, item_id=line.item.id, quantity=line.quantity,
                                          unit_price=price, amount=money(line.quantity * price)))
    order.net_total = sum((ln.amount for ln in order.lines), ZERO)
    order.tax_total = money(order.net_total * rate)
    order.total = order.net_total + order.tax_total
    session.add(order)
    session.flush()
    order.number = f"SO-{order.id:05d}"
    session.flush()
    return order


def place_sales_order(
    engine: Engine, *, customer: int | str, lines: Any, actor: str | None = None, tax_rate: Any = DEFAULT_TAX_RATE,
    customer_reference: str | None = None,
) -> tuple[int, str, str]:
    """Create the order and start its order-to-cash instance in one transaction: (order id, number, instance id)."""

    def work(session: Session) -> tuple[int, str, str]:
        partner = partner_by_code(session, customer) if isinstance(customer, str) else require_customer(
            session, customer)
        order = create_sales_order(session, customer_id=partner.id, lines=lines, now=engine.clock.now(),
                                   tax_rate=tax_rate, customer_reference=customer_reference)
        run = instances.start_in(engine, session, PROCESS, business_key=order.number, actor=actor,
                                 variables={"salesOrderId": order.id, "salesOrderNumber": order.number})
        order.instance_id = run.row.id
        return order.id, order.number, run.row.id

    try:
        return engine.command(work)
    except NotFound as exc:
        if "partner" in str(exc):
            raise ErpError(str(exc)) from None
        raise


def get_sales_order(session: Session, order_id: int) -> SalesOrder:
    order = session.get(SalesOrder, order_id, options=[selectinload(SalesOrder.lines)])
    if order is None:
        raise NotFound(f"sales order {order_id} does not exist")
    return order


def sales_order_by_number(session: Session, number: str) -> SalesOrder:
    order = session.scalar(select(SalesOrder).where(SalesOrder.number == number))
    if order is None:
        raise NotFound(f"sales order {number} does not exist")
    return order


def sales_orders_query(*, state: str | None = None, customer_id: int | None = None,
                       number: str | None = None) -> Select[tuple[SalesOrder]]:
    """Newest first; `number` matches part of the order number (SO-00012, 00012, 12)."""
    stmt = select(SalesOrder).options(selectinload(SalesOrder.lines)).order_by(SalesOrder.id.desc())
    if state:
        stmt = stmt.where(SalesOrder.state == state)
    if customer_id is not None:
        stmt = stmt.where(SalesOrder.customer_id == customer_id)
    if number:
        stmt = stmt.where(SalesOrder.number.contains(number.strip().upper(), autoescape=True))
    return stmt


def list_sales_orders(
    session: Session, *, state: str | None = None, customer_id: int | None = None, limit: int = 100, offset: int = 0,
) -> list[SalesOrder]:
    stmt = sales_orders_query(state=state, customer_id=customer_id)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def get_delivery(session: Session, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id, options=[selectinload(Delivery.lines)])
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} does not exist")
    return delivery


def deliveries_query(*, order_id: int | None = None, state: str | None = None) -> Select[tuple[Delivery]]:
    stmt = select(Delivery).options(selectinload(Delivery.lines)).order_by(Delivery.id.desc())
    if order_id is not None:
        stmt = stmt.where(Delivery.order_id == order_id)
    if state:
        stmt = stmt.where(Delivery.state == state)
    return stmt


def list_deliveries(
    session: Session, *, order_id: int | None = None, limit: int = 100, offset: int = 0,
) -> list[Delivery]:
    return list(session.scalars(deliveries_query(order_id=order_id).limit(limit).offset(offset)))


# --- credit -----------------------------------------------------------------------------------------------


def credit_facts(session: Session, order: SalesOrder, today: Any) -> dict[str, float]:
    """What the credit check decides on: limit, exposure (open invoices + uninvoiced open orders + this one)."""
    customer = session.get(Partner, order.customer_id)
    invoices = list(session.scalars(select(CustomerInvoice).where(
        CustomerInvoice.customer_id == customer.id, CustomerInvoice.state.in_(("posted", "overdue")))))
    open_invoices = sum((i.open_amount for i in invoices), ZERO)
    overdue = sum((i.open_amount for i in invoices if i.state == "overdue" or i.due_date < today), ZERO)
    invoiced_by_order: dict[int, Decimal] = {}
    for inv in session.scalars(select(CustomerInvoice).where(CustomerInvoice.customer_id == customer.id)):
        invoiced_by_order[inv.order_id] = invoiced_by_order.get(inv.order_id, ZERO) + inv.total
    other_orders = sum((o.total - invoiced_by_order.get(o.id, ZERO) for o in session.scalars(select(SalesOrder).where(
        SalesOrder.customer_id == customer.id, SalesOrder.state.in_(OPEN_ORDER_STATES), SalesOrder.id != order.id))),
        ZERO)
    exposure = open_invoices + other_orders + order.total
    return {"creditLimit": float(customer.credit_limit), "creditExposure": float(exposure),
            "overdueAmount": float(overdue), "orderTotal": float(order.total)}


# --- availability -------------------------------------------------------------------------------------------


def reserve_order(session: Session, order: SalesOrder, booking_key: str, now: datetime) -> dict[str, Any]:
    """Reserve what is free for each open line; report shortages not yet handed to production or purchasing.

    Reservations are keyed by the booking key and line, so a retried task reserves nothing twice.
    """
    shortages = []
    for line in order.lines:
        if line.open_qty <= 0:
            continue
        held = sum((r.quantity for r in stock.reservations_of(
            session, document_type="sales_order", document_id=order.id, line_id=line.id)), ZERO)
        need = line.open_qty - held
        if need > 0:
            got = stock.reserve(session, f"{booking_key}:{line.id}", item_id=line.item_id,
                                location_id=order.source_location_id, quantity=need, now=now,
                                document_type="sales_order", document_id=order.id, document_line_id=line.id,
                                partial=True)
            held += got.quantity if got is not None else ZERO
        short = line.open_qty - held
        # One request per line: the replenishment that arrives is then reserved on the next check.
        if short > 0 and line.replenishment_qty == 0:
            item = get_item(session, line.item_id)
            shortages.append({"lineId": line.id, "itemCode": item.code, "quantity": float(short),
                              "uom": item.uom, "procurement": item.procurement})
    delivery = open_delivery(session, order, booking_key, now)
    return {"shortages": shortages, "readyToShip": delivery is not None,
            "deliveryId": delivery.id if delivery is not None else None,
            "deliveryNumber": delivery.number if delivery is not None else None}


def open_delivery(session: Session, order: SalesOrder, booking_key: str, now: datetime) -> Delivery | None:
    """The delivery (pick list) waiting to ship, made from what is reserved; None when nothing is."""
    ready = session.scalar(select(Delivery).where(Delivery.order_id == order.id, Delivery.state == "ready"))
    if ready is not None:
        return ready
    lines = []
    for line in order.lines:
        held = sum((r.quantity for r in stock.reservations_of(
            session, document_type="sales_order", document_id=order.id, line_id=line.id)), ZERO)
        if held > 0:
            lines.append(DeliveryLine(order_line_id=line.id, item_id=line.item_id, quantity=min(held, line.open_qty)))
    if not lines:
        return None
    earlier = session.scalar(select(Delivery.id).where(Delivery.order_id == order.id, Delivery.state == "done")
                             .limit(1))
    delivery = Delivery(order_id=order.id, state="ready", booking_key=f"{booking_key}:delivery", created_at=now,
                        is_backorder=earlier is not None, instance_id=order.instance_id, lines=lines)
    session.add(delivery)
    session.flush()
    delivery.number = f"DN-{delivery.id:05d}"
    session.flush()
    return delivery


def check_shipped_quantities(delivery: Delivery, quantities: Any, items: dict[int, str]) -> dict[str, Decimal]:
    """Validate {itemCode: quantity} for a partial shipment against what was picked."""
    picked = {items[ln.item_id]: ln.quantity for ln in delivery.lines}
    return check_quantities(quantities, picked, f"delivery {delivery.number}", "ship")


def post_goods_issue(
    session: Session, delivery: Delivery, booking_key: str, now: datetime, shipped: dict[str, Decimal] | None,
) -> dict[str, Any]:
    """Ship a delivery: Stock → Customer moves (Dr Delivered-not-invoiced / Cr Inventory), lots FIFO.

    `shipped` None ships everything picked; otherwise {itemCode: quantity} (the rest stays reserved and
    becomes a backorder). Idempotent: a delivery that is done is reported again, not shipped again.
    """
    order = session.get(SalesOrder, delivery.order_id)
    if delivery.state == "done":
        return _issue_result(order, delivery)
    items = {ln.item_id: get_item(session, ln.item_id) for ln in delivery.lines}
    amounts = None
    if shipped is not None:
        amounts = check_shipped_quantities(delivery, shipped, {k: v.code for k, v in items.items()})
    lines_by_id = {ln.id: ln for ln in order.lines}
    customer = order.customer_id
    for dline in delivery.lines:
        item = items[dline.item_id]
        amount = dline.quantity if amounts is None else amounts.get(item.code, ZERO)
        if amount <= 0:
            continue
        value = ZERO
        for n, (lot_id, part) in enumerate(_pick_lots(session, item, order.source_location_id, amount)):
            move = stock.post_move(
                session, f"{booking_key}:{dline.id}:{n}", item_id=item.id, quantity=part, lot_id=lot_id,
                from_location=order.source_location_id, to_location=stock.CUSTOMER, moved_at=now,
                document_type="delivery", document_id=delivery.id, document_number=delivery.number,
                instance_id=order.instance_id, partner_id=customer, memo=f"Goods issue {delivery.number}",
            )
            value += move.value
        dline.shipped_qty, dline.cost_value = amount, value
        line = lines_by_id[dline.order_line_id]
        line.delivered_qty = line.delivered_qty + amount
        remaining = amount
        for reservation in stock.reservations_of(session, document_type="sales_order", document_id=order.id,
                                                 line_id=line.id):
            take = min(remaining, reservation.quantity)
            stock.consume_reservation(session, reservation, take)
            remaining -= take
            if remaining <= 0:
                break
    if not any(ln.shipped_qty > 0 for ln in delivery.lines):
        transition(delivery, "cancel")  # nothing left the warehouse: no goods issue, the pick list goes
        session.flush()
        return _issue_result(order, delivery)
    transition(delivery, "ship")
    delivery.shipped_at = now
    transition(order, "deliver_fully" if all(ln.open_qty <= 0 for ln in order.lines) else "deliver_partially")
    session.flush()
    return _issue_result(order, delivery)


def _issue_result(order: SalesOrder, delivery: Delivery) -> dict[str, Any]:
    return {"deliveryNumber": delivery.number, "shipped": delivery.state == "done",
            "backorder": any(ln.open_qty > 0 for ln in order.lines)}


def _pick_lots(session: Session, item: Any, location_id: int, amount: Decimal) -> list[tuple[int | None, Decimal]]:
    if not item.lot_tracked:
        return [(None, amount)]
    picks, short = stock.fifo_lots(session, item_id=item.id, location_id=location_id, quantity=amount)
    if short > 0:
        raise ErpError(f"not enough {item.code} in lots at the warehouse to ship {amount.normalize()}")
    return [(lot.id, take) for lot, take in picks]


# --- what the order pages show --------------------------------------------------------------------------


@dataclass(frozen=True)
class PickLine:
    """One line of a pick list: take `quantity` of the item from the bin, from this lot (None: not lot tracked)."""

    item_code: str
    item_name: str
    uom: str
    quantity: Decimal
    location_code: str
    lot_code: str | None
    short: bool = False  # the lots on hand do not cover the reserved quantity: the picker will find less


def pick_list(session: Session, delivery: Delivery) -> list[PickLine]:
    """What to take where for a delivery: its reserved quantities at the order's bin, lots FIFO as shipping will."""
    order = session.get(SalesOrder, delivery.order_id)
    location = stock.get_location(session, order.source_location_id)
    items = by_id(session, Item, (ln.item_id for ln in delivery.lines))
    picks: list[PickLine] = []
    for line in delivery.lines:
        item = items[line.item_id]
        if not item.lot_tracked:
            picks.append(PickLine(item.code, item.name, item.uom, line.quantity, location.code, None))
            continue
        lots, short = stock.fifo_lots(session, item_id=item.id, location_id=location.id, quantity=line.quantity)
        picks += [PickLine(item.code, item.name, item.uom, take, location.code, lot.code) for lot, take in lots]
        if short > 0:
            picks.append(PickLine(item.code, item.name, item.uom, short, location.code, None, short=True))
    return picks


@dataclass(frozen=True)
class SalesOrderView:
    order: SalesOrder
    customer: Partner
    items: dict[int, Item]
    location_code: str
    deliveries: list[Delivery]
    invoices: list[CustomerInvoice]
    payments: list[Payment]
    entries: list[JournalEntry]
    tasks: list[UserTask]
    instance: ProcessInstance | None
    next_steps: list[NextStep]

    @property
    def open_amount(self) -> Decimal:
        return sum((i.open_amount for i in self.invoices if i.state in ("posted", "overdue")), ZERO)


# Transitions a person may ask for directly; the others are made by the order-to-cash process (its tasks).
USER_ACTIONS = {"cancel": "Cancel order"}


def sales_order_view(session: Session, number: str) -> SalesOrderView:
    """The order with everything booked for it, and the next steps its state allows."""
    order = sales_order_by_number(session, number)
    deliveries = list(session.scalars(deliveries_query(order_id=order.id)))
    invoices = list(session.scalars(invoices_query(order_id=order.id)))
    payments = list(session.scalars(payments_query(invoice_ids=[i.id for i in invoices]))) if invoices else []
    entries = list(session.scalars(ledger.journal_query(instance_id=order.instance_id))) if order.instance_id else []
    instance = session.get(ProcessInstance, order.instance_id) if order.instance_id else None
    # Every process working for the order carries its number (replenishment too): their open tasks are its steps.
    open_tasks = list(session.scalars(select(UserTask).where(UserTask.business_key == order.number)
                                      .order_by(UserTask.created_at, UserTask.id)))
    href = f"/erp/sales/{order.number}"
    steps = [NextStep(action, label, f"{href}/{action}") for action, label in USER_ACTIONS.items()
             if action in order.actions_from(order.state)]
    payable = [i for i in invoices if "pay" in i.actions_from(i.state)]
    if payable:
        steps.append(NextStep("pay", "Record payment", f"{href}/pay",
                              amount=sum((i.open_amount for i in payable), ZERO), permission="finance"))
    steps += [NextStep(t.element_id, t.name or t.element_id, f"/tasks/{t.id}", task=True) for t in open_tasks]
    return SalesOrderView(
        order=order, customer=session.get(Partner, order.customer_id),
        items=by_id(session, Item, (ln.item_id for ln in order.lines)),
        location_code=stock.get_location(session, order.source_location_id).code, deliveries=deliveries,
        invoices=invoices, payments=payments, entries=entries, tasks=open_tasks, instance=instance, next_steps=steps)


def cancel_sales_order(engine: Engine, number: str, *, actor: str | None = None, reason: str | None = None) -> None:
    """Cancel an order not yet shipped: its reservations go back, its pick list is cancelled, its process ends.

    One command: the order, the stock it held and its order-to-cash instance change together or not at all.
    """

    def work(session: Session) -> None:
        order = sales_order_by_number(session, number)
        transition(order, "cancel")  # refuses, naming the state, when the order is past cancelling
        stock.release_reservations(session, document_type="sales_order", document_id=order.id)
        for delivery in session.scalars(select(Delivery).where(Delivery.order_id == order.id,
                                                               Delivery.state == "ready")):
            transition(delivery, "cancel")
        session.flush()
        if order.instance_id:
            instance = session.get(ProcessInstance, order.instance_id)
            if instance is not None and instance.state not in ("completed", "cancelled"):
                instances.cancel_in(engine, session, order.instance_id, actor=actor,
                                    reason=reason or f"sales order {order.number} cancelled")

    engine.command(work)
