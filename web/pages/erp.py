"""ERP screens: sales and purchase orders with their documents and state, stock, journal, trial balance.

Thin: each page reads through the ERP slice's services (handlers/erp) and renders; nothing is booked here.
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.purchasing import service as purchasing
from taktflow.handlers.erp.sales import service as sales
from taktflow.handlers.erp.stock import service as stock
from taktflow.web.auth.service import FINANCE, WORK, Principal
from taktflow.web.pages.deps import get_engine, render, require_page

router = APIRouter(prefix="/erp", include_in_schema=False)
LIMIT = 200


def _partners(session: object) -> dict[int, Partner]:
    return {p.id: p for p in session.scalars(select(Partner))}  # type: ignore[attr-defined]


@router.get("/sales")
def sales_orders(request: Request, state: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        orders = sales.list_sales_orders(session, state=state or None, limit=LIMIT)
        deliveries = sales.list_deliveries(session, limit=LIMIT)
        return render(request, "erp/sales.html", {"orders": orders, "deliveries": deliveries, "state": state,
                                                  "partners": _partners(session)})


@router.get("/purchasing")
def purchase_orders(request: Request, state: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        orders = purchasing.list_purchase_orders(session, state=state or None, limit=LIMIT)
        receipts = purchasing.list_receipts(session, limit=LIMIT)
        requisitions = purchasing.list_requisitions(session, limit=LIMIT)
        return render(request, "erp/purchasing.html", {
            "orders": orders, "receipts": receipts, "requisitions": requisitions, "state": state,
            "partners": _partners(session)})


@router.get("/stock")
def stock_page(request: Request, item: str = "", location: str = "", lot: str = "",
               _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        levels = [row for row in stock.stock_levels(session)
                  if item.lower() in row.item_code.lower() and location.lower() in row.location_code.lower()
                  and lot.lower() in (row.lot_code or "").lower()]
        return render(request, "erp/stock.html", {"levels": levels, "item": item, "location": location, "lot": lot})


@router.get("/ledger")
def ledger_page(request: Request, account: str = "", _: Principal = Depends(require_page(FINANCE))) -> Response:
    with get_engine(request).db.read() as session:
        balance = ledger.trial_balance(session)
        entries = ledger.list_journal_entries(session, limit=LIMIT, account=account or None)
        total_debit = sum((r.debit for r in balance), Decimal("0"))
        total_credit = sum((r.credit for r in balance), Decimal("0"))
        return render(request, "erp/ledger.html", {
            "balance": balance, "entries": list(reversed(entries)), "account": account,
            "total_debit": total_debit, "total_credit": total_credit})
