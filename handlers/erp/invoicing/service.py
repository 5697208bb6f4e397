"""Customer invoices, incoming payments and dunning; vendor bills with the 3-way match; outgoing payments."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from taktflow.engine import events
from taktflow.engine.core import Engine
from taktflow.handlers.erp.documents import fmt, money, transition
from taktflow.handlers.erp.errors import ErpError, NotFound
from taktflow.handlers.erp.invoicing.models import CustomerInvoice, Payment, VendorBill, VendorBillLine
from taktflow.handlers.erp.items.service import get_item
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.service import cr, dr
from taktflow.handlers.erp.lines import parse_lines
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from taktflow.handlers.erp.sales.models import Delivery, SalesOrder

ZERO = Decimal("0")
# 3-way match tolerances: a bill line may differ from the PO price by 2 % and must bill what was received.
PRICE_TOLERANCE = Decimal("0.02")
QUANTITY_TOLERANCE = Decimal("0")
REMINDER_INTERVAL = timedelta(days=7)


# --- customer invoices ------------------------------------------------------------------------------------


def invoice_delivery(session: Session, delivery: Delivery, booking_key: str, now: datetime) -> CustomerInvoice | None:
    """Invoice what a delivery shipped: Dr Receivable / Cr Revenue, Cr Tax; and Dr COGS / Cr Delivered-not-invoiced.

    One invoice per delivery (keyed by the booking key); None when the delivery shipped nothing.
    """
    existing = session.scalar(select(CustomerInvoice).where(CustomerInvoice.delivery_id == delivery.id))
    if existing is not None:
        return existing
    if delivery.state != "done":
        return None
    order = session.get(SalesOrder, delivery.order_id)
    customer = session.get(Partner, order.customer_id)
    prices = {ln.id: ln.unit_price for ln in order.lines}
    net = sum((money(ln.shipped_qty * prices[ln.order_line_id]) for ln in delivery.lines), ZERO)
    tax = money(net * order.tax_rate)
    cost = sum((ln.cost_value for ln in delivery.lines), ZERO)
    invoice = CustomerInvoice(
        booking_key=booking_key, order_id=order.id, delivery_id=delivery.id, customer_id=customer.id, state="posted",
        invoice_date=now.date(), due_date=now.date() + timedelta(days=customer.payment_terms_days), net_total=net,
        tax_total=tax, total=net + tax, paid_amount=ZERO, instance_id=order.instance_id,
    )
    session.add(invoice)
    session.flush()
    invoice.number = f"INV-{invoice.id:05d}"
    ledger.post_entry(
        session, booking_key,
        [dr(ledger.RECEIVABLE, invoice.total, partner_id=customer.id), cr(ledger.REVENUE, net, partner_id=customer.id),
         cr(ledger.TAX, tax, partner_id=customer.id),
         dr(ledger.COGS, cost, label=f"cost of {delivery.number}"),
         cr(ledger.DELIVERED_NOT_INVOICED, cost, label=f"cost of {delivery.number}")],
        memo=f"Invoice {invoice.number} for {order.number} / {delivery.number}", posted_at=now,
        document_type="customer_invoice", document_id=invoice.id, document_number=invoice.number,
        instance_id=order.instance_id,
    )
    session.flush()
    return invoice


def open_invoices(session: Session, order_id: int) -> list[CustomerInvoice]:
    return list(session.scalars(select(CustomerInvoice).where(
        CustomerInvoice.order_id == order_id, CustomerInvoice.state.in_(("posted", "overdue"))
    ).order_by(CustomerInvoice.due_date, CustomerInvoice.id)))


def next_dunning_at(session: Session, order_id: int) -> str | None:
    """When the earliest open invoice becomes overdue (the day after its due date), ISO 8601 for a timer."""
    invoices = open_invoices(session, order_id)
    if not invoices:
        return None
    due = min(i.due_date for i in invoices) + timedelta(days=1)
    return datetime(due.year, due.month, due.day).isoformat() + "+00:00"


def record_customer_payment(
    session: Session, order: SalesOrder, amount: Any, booking_key: str, now: datetime, reference: str | None = None,
) -> list[Payment]:
    """Apply a payment to the order's open invoices, oldest first: Dr Bank / Cr Receivable per invoice."""
    existing = list(session.scalars(select(Payment).where(Payment.booking_key.startswith(f"{booking_key}:"))))
    if existing:
        return existing
    remaining = money(amount)
    invoices = open_invoices(session, order.id)
    check_customer_payment(order, remaining, invoices)
    payments = []
    for invoice in invoices:
        if remaining <= 0:
            break
        take = min(remaining, invoice.open_amount)
        key = f"{booking_key}:{invoice.id}"
        payment = Payment(booking_key=key, direction="in", partner_id=invoice.customer_id, state="posted", amount=take,
                          paid_at=now, reference=reference, invoice_id=invoice.id, instance_id=order.instance_id)
        session.add(payment)
        session.flush()
        payment.number = f"PAY-{payment.id:05d}"
        ledger.post_entry(session, key, [dr(ledger.BANK, take), cr(ledger.RECEIVABLE, take,
                                                                    partner_id=invoice.customer_id)],
                          memo=f"Payment {payment.number} for {invoice.number}", posted_at=now,
                          document_type="payment", document_id=payment.id, document_number=payment.number,
                          instance_id=order.instance_id)
        invoice.paid_amount = invoice.paid_amount + take
        transition(invoice, "pay" if invoice.open_amount <= 0 else "pay_partially")
        remaining -= take
        payments.append(payment)
    session.flush()
    return payments


def check_customer_payment(order: SalesOrder, amount: Decimal, invoices: list[CustomerInvoice]) -> None:
    if amount <= 0:
        raise ErpError("a payment amount must be greater than zero")
    due = sum((i.open_amount for i in invoices), ZERO)
    if not invoices:
        raise ErpError(f"sales order {order.number} has no open invoice to pay")
    if amount > due:
        raise ErpError(f"payment {fmt(amount)} exceeds what {order.number} owes ({fmt(due)})")


def receive_payment(engine: Engine, *, order_id: int, amount: Any, reference: str | None = None,
                    actor: str | None = None) -> list[Any]:
    """A customer paid: checked against the open invoices, then handed to the waiting order-to-cash instance."""
    with engine.db.read() as session:
        order = session.get(SalesOrder, order_id)
        if order is None:
            raise NotFound(f"sales order {order_id} does not exist")
        check_customer_payment(order, money(amount), open_invoices(session, order.id))
        number = order.number
    return events.correlate_message(engine, "payment_received", business_key=number, actor=actor,
                                    variables={"paymentAmount": float(money(amount)), "paymentReference": reference})


def dun_overdue_invoices(session: Session, order: SalesOrder, today: date) -> dict[str, Any]:
    """Mark the order's invoices past their due date overdue and raise their dunning level."""
    overdue = [i for i in open_invoices(session, order.id) if i.due_date < today]
    for invoice in overdue:
        transition(invoice, "remind")
        invoice.dunning_level += 1
    session.flush()
    return {"overdueInvoices": [i.number for i in overdue],
            "overdueAmount": float(sum((i.open_amount for i in overdue), ZERO)),
            "dunningLevel": max((i.dunning_level for i in overdue), default=0)}


def get_invoice(session: Session, invoice_id: int) -> CustomerInvoice:
    invoice = session.get(CustomerInvoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    return invoice


def invoices_query(*, order_id: int | None = None, state: str | None = None) -> Select[tuple[CustomerInvoice]]:
    stmt = select(CustomerInvoice).order_by(CustomerInvoice.id.desc())
    if order_id is not None:
        stmt = stmt.where(CustomerInvoice.order_id == order_id)
    if state:
        stmt = stmt.where(CustomerInvoice.state == state)
    return stmt


def list_invoices(session: Session, *, order_id: int | None = None, state: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[CustomerInvoice]:
    return list(session.scalars(invoices_query(order_id=order_id, state=state).limit(limit).offset(offset)))


def payments_query(*, direction: str | None = None, invoice_ids: list[int] | None = None,
                   vendor_bill_ids: list[int] | None = None) -> Select[tuple[Payment]]:
    stmt = select(Payment).order_by(Payment.id.desc())
    if direction:
        stmt = stmt.where(Payment.direction == direction)
    if invoice_ids is not None:
        stmt = stmt.where(Payment.invoice_id.in_(invoice_ids))
    if vendor_bill_ids is not None:
        stmt = stmt.where(Payment.vendor_bill_id.in_(vendor_bill_ids))
    return stmt


def list_payments(session: Session, *, direction: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[Payment]:
    return list(session.scalars(payments_query(direction=direction).limit(limit).offset(offset)))


# --- vendor bills -------------------------------------------------------------------------------------------


def check_vendor_bill(session: Session, order: PurchaseOrder, bill: Any) -> list[tuple[PurchaseOrderLine, Any]]:
    """Validate a bill payload {supplierReference, lines: [{itemCode, quantity, unitPrice}]} against its PO."""
    if not isinstance(bill, dict):
        raise ErpError("a vendor bill must be an object with supplierReference and lines")
    parsed = parse_lines(session, bill.get("lines"), "vendor bill")
    by_item = {ln.item_id: ln for ln in order.lines}
    matched = []
    for number, line in enumerate(parsed, start=1):
        if line.unit_price is None:
            raise ErpError(f"line {number}: the bill must state a unit price")
        if line.item.id not in by_item:
            raise ErpError(f"line {number}: {line.item.code} is not on purchase order {order.number}")
        matched.append((by_item[line.item.id], line))
    return matched


def register_vendor_bill(
    session: Session, order: PurchaseOrder, bill: Any, booking_key: str, now: datetime,
) -> VendorBill:
    existing = session.scalar(select(VendorBill).where(VendorBill.booking_key == booking_key))
    if existing is not None:
        return existing
    matched = check_vendor_bill(session, order, bill)
    supplier = session.get(Partner, order.supplier_id)
    row = VendorBill(booking_key=booking_key, supplier_id=order.supplier_id, purchase_order_id=order.id,
                     supplier_reference=str(bill.get("supplierReference") or "")[:100] or None, state="draft",
                     bill_date=now.date(), due_date=now.date() + timedelta(days=supplier.payment_terms_days),
                     total=ZERO, match_issues=[], instance_id=order.instance_id)
    for po_line, line in matched:
        row.lines.append(VendorBillLine(po_line_id=po_line.id, item_id=line.item.id, quantity=line.quantity,
                                        unit_price=line.unit_price, amount=money(line.quantity * line.unit_price)))
    row.total = sum((ln.amount for ln in row.lines), ZERO)
    session.add(row)
    session.flush()
    row.number = f"BILL-{row.id:05d}"
    session.flush()
    return row


def match_vendor_bill(session: Session, bill: VendorBill) -> dict[str, Any]:
    """3-way match per line: bill price vs PO price (± PRICE_TOLERANCE), bill quantity vs received, not billed."""
    if bill.state != "draft":
        return {"matchStatus": bill.match_status, "matchIssues": bill.match_issues}
    issues = []
    billed = {}
    for line in bill.lines:
        po_line = session.get(PurchaseOrderLine, line.po_line_id)
        code = get_item(session, line.item_id).code
        billed[po_line.id] = billed.get(po_line.id, ZERO) + line.quantity
        if po_line.unit_price:
            deviation = (line.unit_price - po_line.unit_price) / po_line.unit_price
            if abs(deviation) > PRICE_TOLERANCE:
                issues.append(f"{code}: billed price {fmt(line.unit_price)} vs ordered {fmt(po_line.unit_price)} "
                              f"({deviation * 100:+.1f} %, tolerance {PRICE_TOLERANCE * 100:.0f} %)")
        elif line.unit_price:
            issues.append(f"{code}: billed price {fmt(line.unit_price)} on a free line")
    order = session.get(PurchaseOrder, bill.purchase_order_id)
    for po_line in order.lines:
        unbilled = po_line.received_qty - po_line.billed_qty
        amount = billed.get(po_line.id, ZERO)
        if abs(amount - unbilled) > QUANTITY_TOLERANCE:
            code = get_item(session, po_line.item_id).code
            issues.append(f"{code}: billed quantity {fmt(amount)} vs received and not billed {fmt(unbilled)}")
    bill.match_issues = issues
    bill.match_status = "exception" if issues else "matched"
    transition(bill, "flag_exception" if issues else "match")
    session.flush()
    return {"matchStatus": bill.match_status, "matchIssues": issues}


def resolve_vendor_bill(session: Session, bill: VendorBill, resolution: str, note: str | None) -> None:
    """An AP clerk accepts the variance (it posts to Price variance) or rejects the bill."""
    if resolution not in ("accept", "reject"):
        raise ErpError("resolution must be accept or reject")
    if bill.state in ("matched", "rejected") and bill.resolution_note is not None:
        return  # resolved already (a retried task)
    transition(bill, resolution)
    bill.resolution_note = (note or resolution)[:400]
    session.flush()


def post_vendor_bill(session: Session, bill: VendorBill, booking_key: str, now: datetime) -> None:
    """Dr GR/IR for the received quantity at the PO price, Cr Payable for the bill; the difference is variance."""
    if bill.state in ("posted", "paid"):
        return  # posted already (a retried task)
    if bill.state != "matched":
        transition(bill, "post")  # refuses, naming the state the bill is in
    grir, lines = ZERO, []
    for line in bill.lines:
        po_line = session.get(PurchaseOrderLine, line.po_line_id)
        cleared = min(line.quantity, po_line.received_qty - po_line.billed_qty)
        grir += money(cleared * po_line.unit_price)
        po_line.billed_qty = po_line.billed_qty + cleared
    variance = bill.total - grir
    lines = [dr(ledger.GRIR, grir, partner_id=bill.supplier_id), dr(ledger.PRICE_VARIANCE, variance,
                                                                     label=f"variance {bill.number}"),
             cr(ledger.PAYABLE, bill.total, partner_id=bill.supplier_id)]
    ledger.post_entry(session, booking_key, lines, memo=f"Vendor bill {bill.number}", posted_at=now,
                      document_type="vendor_bill", document_id=bill.id, document_number=bill.number,
                      instance_id=bill.instance_id)
    transition(bill, "post")
    session.flush()


def pay_vendor_bill(session: Session, bill: VendorBill, booking_key: str, now: datetime,
                    reference: str | None = None) -> Payment:
    """Dr Payable / Cr Bank for the bill's total."""
    existing = session.scalar(select(Payment).where(Payment.booking_key == booking_key))
    if existing is not None:
        return existing
    transition(bill, "pay")
    payment = Payment(booking_key=booking_key, direction="out", partner_id=bill.supplier_id, state="posted",
                      amount=bill.total, paid_at=now, reference=reference, vendor_bill_id=bill.id,
                      instance_id=bill.instance_id)
    session.add(payment)
    session.flush()
    payment.number = f"PAY-{payment.id:05d}"
    ledger.post_entry(session, booking_key, [dr(ledger.PAYABLE, bill.total, partner_id=bill.supplier_id),
                                             cr(ledger.BANK, bill.total)],
                      memo=f"Payment {payment.number} of {bill.number}", posted_at=now, document_type="payment",
                      document_id=payment.id, document_number=payment.number, instance_id=bill.instance_id)
    session.flush()
    return payment


def get_vendor_bill(session: Session, bill_id: int) -> VendorBill:
    bill = session.get(VendorBill, bill_id, options=[selectinload(VendorBill.lines)])
    if bill is None:
        raise NotFound(f"vendor bill {bill_id} does not exist")
    return bill


def vendor_bills_query(*, purchase_order_id: int | None = None, state: str | None = None) -> Select[tuple[VendorBill]]:
    stmt = select(VendorBill).options(selectinload(VendorBill.lines)).order_by(VendorBill.id.desc())
    if purchase_order_id is not None:
        stmt = stmt.where(VendorBill.purchase_order_id == purchase_order_id)
    if state:
        stmt = stmt.where(VendorBill.state == state)
    return stmt


def list_vendor_bills(session: Session, *, purchase_order_id: int | None = None, state: str | None = None,
                      limit: int = 100, offset: int = 0) -> list[VendorBill]:
    stmt = vendor_bills_query(purchase_order_id=purchase_order_id, state=state)
    return list(session.scalars(stmt.limit(limit).offset(offset)))
