"""The books reconcile: one check, used after every ERP test.

- the trial balance sums to zero (every entry balanced);
- stock per item and location is the sum of its moves, and the stock report says the same;
- each stock account's balance equals the value of the moves into and out of its locations;
- GR/IR equals what was received but not billed (zero for fully billed receipts);
- Delivered-not-invoiced equals the cost of shipped lines not invoiced yet;
- Receivable equals the open amount of customer invoices, Payable that of posted vendor bills.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.invoicing.models import CustomerInvoice, Payment, VendorBill
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.purchasing.models import PurchaseOrderLine
from taktflow.handlers.erp.sales.models import Delivery
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import PHYSICAL, Location, StockMove

ZERO = Decimal("0")


def reconcile(session: Session, *, wip_without_moves: Decimal = ZERO) -> None:
    """`wip_without_moves`: what production booked to WIP by plain journal entries (conversion cost, usage
    variance, scrap; see tests/mes), so WIP is the value of its stock moves plus that."""
    rows = ledger.trial_balance(session)
    assert sum((r.debit for r in rows), ZERO) == sum((r.credit for r in rows), ZERO), "trial balance is not zero"
    balance = {r.account: r.balance for r in rows}

    locations = {loc.id: loc for loc in session.scalars(select(Location))}
    items = {i.id: i for i in session.scalars(select(Item))}
    moves = list(session.scalars(select(StockMove)))
    quantity: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    value: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for m in moves:
        quantity[(m.item_id, m.to_location_id)] += m.quantity
        quantity[(m.item_id, m.from_location_id)] -= m.quantity
        value[stock.location_account(locations[m.to_location_id], items[m.item_id])] += m.value
        value[stock.location_account(locations[m.from_location_id], items[m.item_id])] -= m.value
    report: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    for level in stock.stock_levels(session, include_zero=True):
        report[(level.item_id, level.location_id)] += level.quantity
    for (item_id, location_id), q in quantity.items():
        if locations[location_id].usage in PHYSICAL:
            assert q >= 0, f"negative stock of {items[item_id].code} at {locations[location_id].code}"
            assert report[(item_id, location_id)] == q, f"stock report of {items[item_id].code} differs from moves"
            assert stock.on_hand(session, item_id=item_id, location_id=location_id) == q
    for item_id in items:
        physical = sum((q for (i, loc), q in quantity.items() if i == item_id and locations[loc].usage in PHYSICAL),
                       ZERO)
        assert stock.on_hand(session, item_id=item_id) == physical
    for account in (ledger.INVENTORY, ledger.RAW_MATERIALS, ledger.FINISHED_GOODS, ledger.WIP):
        expected = value[account] + (wip_without_moves if account == ledger.WIP else ZERO)
        assert balance[account] == expected, f"account {account} differs from the value of its stock moves"

    unbilled = sum((ln.unit_price * (ln.received_qty - ln.billed_qty) for ln in session.scalars(
        select(PurchaseOrderLine))), ZERO)
    assert balance[ledger.GRIR] == -unbilled.quantize(Decimal("0.01")), "GR/IR differs from received-not-billed"

    not_invoiced = ZERO
    invoiced = set(session.scalars(select(CustomerInvoice.delivery_id)))
    for delivery in session.scalars(select(Delivery).where(Delivery.state == "done")):
        if delivery.id not in invoiced:
            not_invoiced += sum((ln.cost_value for ln in delivery.lines), ZERO)
    assert balance[ledger.DELIVERED_NOT_INVOICED] == not_invoiced

    open_receivables = sum((i.open_amount for i in session.scalars(select(CustomerInvoice))), ZERO)
    assert balance[ledger.RECEIVABLE] == open_receivables, "receivable differs from open invoices"
    paid_out = {p.vendor_bill_id for p in session.scalars(select(Payment).where(Payment.direction == "out"))}
    open_bills = sum((b.total for b in session.scalars(select(VendorBill).where(VendorBill.state == "posted"))
                      if b.id not in paid_out), ZERO)
    assert balance[ledger.PAYABLE] == -open_bills, "payable differs from posted, unpaid vendor bills"
