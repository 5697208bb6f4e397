"""`taktflow demo`: seed master data and run sales orders and purchases end to end through the real processes.

A simulated user completes every open task of the demo's instances with sensible answers, sends the vendor
bills and customer payments, and the books are checked at the end (trial balance zero).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from taktflow.engine import tasks
from taktflow.engine.core import Engine
from taktflow.engine.store.models import Incident, ProcessInstance, UserTask
from taktflow.handlers.erp.invoicing.models import CustomerInvoice
from taktflow.handlers.erp.invoicing.service import receive_payment
from taktflow.handlers.erp.items.service import get_item, item_by_code
from taktflow.handlers.erp.ledger.service import trial_balance
from taktflow.handlers.erp.purchasing.models import PurchaseOrder
from taktflow.handlers.erp.purchasing.service import raise_requisition, submit_vendor_bill
from taktflow.handlers.erp.sales.service import place_sales_order
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.erp.stock.service import on_hand

ANSWERS: dict[str, dict[str, Any]] = {
    "review_credit": {"creditApproved": True, "creditComment": "demo: released"},
    "approve_purchasing": {"approved": True}, "approve_management": {"managementApproved": True},
    "resolve_exception": {"resolution": "accept"}, "pay_vendor": {"paymentReference": "demo transfer"},
}
CUSTOMERS = ("C-ACME", "C-NORD")


@dataclass
class DemoResult:
    orders: list[float] = field(default_factory=list)  # seconds per order-to-cash run
    purchases: list[float] = field(default_factory=list)  # seconds per procure-to-pay run
    completed: int = 0
    incidents: list[str] = field(default_factory=list)
    trial_balance_zero: bool = False


def run_demo(engine: Engine, *, orders: int = 5, purchases: int = 2) -> DemoResult:
    engine.command(lambda s: seed_master_data(s, engine.clock.now()))
    result = DemoResult()
    for n in range(orders):
        started = time.perf_counter()
        lines = [{"itemCode": "MR-GLOVES", "quantity": 20 + 10 * (n % 5)}]
        with engine.db.read() as session:
            frames = on_hand(session, item_id=item_by_code(session, "FG-FRAME").id)
        if frames > 5:  # sell made items only from stock: production needs the MES process
            lines.append({"itemCode": "FG-FRAME", "quantity": 1})
        _, number, _ = place_sales_order(engine, customer=CUSTOMERS[n % len(CUSTOMERS)], lines=lines, actor="demo")
        drive(engine, number, result)
        result.orders.append(time.perf_counter() - started)
    for n in range(purchases):
        started = time.perf_counter()
        _, number, _ = raise_requisition(engine, supplier="S-PARTS", requested_by="demo",
                                         lines=[{"itemCode": "RM-BOLT", "quantity": 1000 + 100 * n}])
        drive(engine, number, result)
        result.purchases.append(time.perf_counter() - started)
    with engine.db.read() as session:
        rows = trial_balance(session)
        result.trial_balance_zero = sum(r.debit for r in rows) == sum(r.credit for r in rows)
    return result


def drive(engine: Engine, business_key: str, result: DemoResult) -> None:
    """Act as every user and outside party until all instances of this business key are done or stuck."""
    for _ in range(100):
        with engine.db.read() as session:
            live = list(session.scalars(select(ProcessInstance).where(
                ProcessInstance.business_key == business_key, ProcessInstance.state == "active")))
            open_tasks = list(session.scalars(select(UserTask).where(UserTask.instance_id.in_([i.id for i in live]))))
        if not live:
            break
        acted = False
        for task in open_tasks:
            tasks.complete(engine, task.id, dict(ANSWERS.get(task.element_id, {})), actor="demo")
            acted = True
        for inst in live:
            if "vendor_bill_received" in inst.active_elements:
                _send_bill(engine, inst)
                acted = True
            elif "await_payment" in inst.active_elements and not open_tasks:
                _pay(engine, inst)
                acted = True
        if not acted:
            break
    with engine.db.read() as session:
        ids = select(ProcessInstance.id).where(ProcessInstance.business_key == business_key)
        result.incidents += [i.message for i in session.scalars(select(Incident).where(Incident.instance_id.in_(ids)))]
        result.completed += len(session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.business_key == business_key, ProcessInstance.state == "completed")).all())


def _send_bill(engine: Engine, inst: ProcessInstance) -> None:
    with engine.db.read() as session:
        po = session.get(PurchaseOrder, int(inst.variables["purchaseOrderId"]))
        lines = [{"itemCode": get_item(session, ln.item_id).code, "quantity": str(ln.received_qty - ln.billed_qty),
                  "unitPrice": str(ln.unit_price)} for ln in po.lines if ln.received_qty > ln.billed_qty]
    submit_vendor_bill(engine, order_id=po.id, bill={"supplierReference": f"DEMO-{po.number}", "lines": lines})


def _pay(engine: Engine, inst: ProcessInstance) -> None:
    order_id = int(inst.variables["salesOrderId"])
    with engine.db.read() as session:
        due = sum((i.open_amount for i in session.scalars(select(CustomerInvoice).where(
            CustomerInvoice.order_id == order_id, CustomerInvoice.state.in_(("posted", "overdue"))))), Decimal("0"))
    receive_payment(engine, order_id=order_id, amount=due, reference="demo bank feed", actor="demo")
