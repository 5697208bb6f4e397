"""ERP screens: document lists (paged, by number), sales and purchase order pages with their next steps,
stock, stock moves, journal and trial balance, and the pick list on the pick task.

Thin: each page reads through the ERP slice's services (handlers/erp) and renders; actions post to those
services, which book (or refuse) in one command. Lists page through `?page=`; htmx swaps only the results
block (#erp-results), and the same links work without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from taktflow.engine.errors import EngineError
from taktflow.handlers.erp.invoicing import service as invoicing
from taktflow.handlers.erp.invoicing.models import CustomerInvoice, VendorBill
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import list_items
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.models import JournalEntry
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.partners.service import list_partners
from taktflow.handlers.erp.purchasing import service as purchasing
from taktflow.handlers.erp.purchasing.models import PurchaseOrder
from taktflow.handlers.erp.reading import Page, by_id, page_of, page_of_list
from taktflow.handlers.erp.sales import service as sales
from taktflow.handlers.erp.sales.models import Delivery, SalesOrder
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import Location, Lot, StockMove
from taktflow.web.auth.service import FINANCE, WORK, Principal
from taktflow.web.pages.deps import csrf_protect, get_engine, is_htmx, navigate, render, require_page, see_other
from taktflow.web.pages.inbox import task_panel

router = APIRouter(prefix="/erp", include_in_schema=False)
RESULTS = "erp-results"  # the element a pager's htmx request swaps


def _page_number(request: Request) -> int:
    try:
        return max(int(request.query_params.get("page") or 1), 1)
    except ValueError:
        return 1


def _list(request: Request, template: str, page: Page[Any], noun: str, **context: Any) -> Response:
    """A list page, or only its results block when the pager or a filter asks through htmx."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v != ""]
    base = request.url.path + "?" + (urlencode(kept) + "&" if kept else "")
    block = "results" if is_htmx(request) and request.headers.get("HX-Target") == RESULTS else None
    return render(request, template, {"page": page, "base": base, "noun": noun, **context}, block=block)


# --- sales --------------------------------------------------------------------------------------------------


@router.get("/sales")
def sales_orders(request: Request, state: str = "", q: str = "", _: Principal = Depends(require_page(WORK))
                 ) -> Response:
    with get_engine(request).db.read() as session:
        page = page_of(session, sales.sales_orders_query(state=state or None, number=q or None), _page_number(request))
        return _list(request, "erp/sales.html", page, "sales orders", state=state, q=q,
                     partners=by_id(session, Partner, (o.customer_id for o in page.rows)),
                     items=by_id(session, Item, (ln.item_id for o in page.rows for ln in o.lines)),
                     states=sorted({s for s, _ in SalesOrder.TRANSITIONS} | set(SalesOrder.TRANSITIONS.values())))


def _sales_order_page(request: Request, number: str, *, message: str | None = None, problem: str | None = None,
                      status_code: int = 200) -> Response:
    with get_engine(request).db.read() as session:
        view = sales.sales_order_view(session, number)
        block = "detail" if is_htmx(request) and request.method == "POST" else None
        return render(request, "erp/sales_order.html", {"v": view, "message": message, "problem": problem},
                      block=block, status_code=status_code)


# --- new documents: a sales order or a requisition, booked and started by the slice's service --------------


@dataclass
class LineInput:
    """One line row of a new document's form, as typed (shown again with the error when refused)."""

    item: str = ""
    quantity: str = ""
    unit_price: str = ""


def lines_of(form: Any | None, *, rows: int = 3) -> tuple[list[LineInput], list[dict[str, str]]]:
    """The rows as typed (at least `rows`, one more when "Add line" was pressed) and the filled ones as the
    service's lines (`itemCode`, `quantity`, `unitPrice`); a half-filled row goes to the service, which names it."""
    typed = [] if form is None else [LineInput(str(i), str(q), str(p)) for i, q, p in zip(
        form.getlist("item"), form.getlist("quantity"),
        form.getlist("unit_price") or [""] * len(form.getlist("item")), strict=False)]
    wanted = max(rows, len(typed) + (1 if form is not None and form.get("add_line") else 0))
    typed += [LineInput() for _ in range(wanted - len(typed))]
    lines = []
    for row in typed:
        if not (row.item.strip() or row.quantity.strip()):
            continue
        line = {"itemCode": row.item.strip(), "quantity": row.quantity.strip()}
        if row.unit_price.strip():
            line["unitPrice"] = row.unit_price.strip()
        lines.append(line)
    return typed, lines


def _new_document(request: Request, template: str, *, role: str, form: Any = None, problem: str | None = None,
                  status_code: int = 200) -> Response:
    with get_engine(request).db.read() as session:
        partners = list_partners(session, role=role)
        items = list_items(session)
    typed, _ = lines_of(form)
    block = "form" if is_htmx(request) and request.method == "POST" else None
    return render(request, template, {"partners": partners, "items": items, "lines": typed, "problem": problem,
                                      "values": form or {}}, block=block, status_code=status_code)


async def _place(request: Request, template: str, role: str, place: Any, shown_at: Any) -> Response:
    """Book the new document and start its process, or show the form again with what was typed and why not."""
    form = await request.form()
    _, lines = lines_of(form)
    partner = str(form.get("partner") or "").strip()
    if form.get("add_line"):
        return _new_document(request, template, role=role, form=form)
    problem = None
    if not partner:
        problem = f"choose the {role}"
    elif not lines:
        problem = "enter at least one line (item and quantity)"
    if problem is None:
        try:
            number = place(partner, lines, form)
        except EngineError as exc:
            if exc.status_code >= 500:
                raise
            problem = str(exc)
        else:
            return navigate(request, shown_at(number))
    return _new_document(request, template, role=role, form=form, problem=problem, status_code=422)


@router.get("/sales/new")
def new_sales_order(request: Request, _: Principal = Depends(require_page(WORK))) -> Response:
    return _new_document(request, "erp/sales_order_new.html", role="customer")


@router.post("/sales/new", dependencies=[Depends(csrf_protect)])
async def place_sales_order(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)

    def place(customer: str, lines: list[dict[str, str]], form: Any) -> str:
        reference = str(form.get("customer_reference") or "").strip()[:100] or None
        _, number, _ = sales.place_sales_order(engine, customer=customer, lines=lines, actor=principal.name,
                                               customer_reference=reference)
        return number

    return await _place(request, "erp/sales_order_new.html", "customer", place,
                        lambda number: f"/erp/sales/{number}?" + urlencode({"msg": f"Created: {number}"}))


@router.get("/sales/{number}")
def sales_order_page(request: Request, number: str, _: Principal = Depends(require_page(WORK))) -> Response:
    return _sales_order_page(request, number, message=request.query_params.get("msg"))


async def _act(request: Request, detail: str, action: Any, done: str, page: Any) -> Response:
    """Run a next step; a refusal is said on the order's page and nothing was booked (the service's one command)."""
    try:
        action(await request.form())
    except EngineError as exc:
        if exc.status_code >= 500:
            raise
        # htmx swaps 422 (base.html), so a refusal replaces the fragment with the message; a plain form post
        # gets the page with the status of the refusal.
        return page(problem=str(exc), status_code=422 if is_htmx(request) else exc.status_code)
    if not is_htmx(request):
        return see_other(f"{detail}?" + urlencode({"msg": done}))
    return page(message=done)


@router.post("/sales/{number}/cancel", dependencies=[Depends(csrf_protect)])
async def cancel_sales_order(request: Request, number: str, principal: Principal = Depends(require_page(WORK))
                             ) -> Response:
    engine = get_engine(request)
    return await _act(request, f"/erp/sales/{number}",
                      lambda form: sales.cancel_sales_order(engine, number, actor=principal.name),
                      f"Cancelled: {number}", lambda **kw: _sales_order_page(request, number, **kw))


@router.post("/sales/{number}/pay", dependencies=[Depends(csrf_protect)])
async def pay_sales_order(request: Request, number: str, principal: Principal = Depends(require_page(FINANCE))
                          ) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        order_id = sales.sales_order_by_number(session, number).id

    def pay(form: Any) -> None:
        invoicing.receive_payment(engine, order_id=order_id, amount=str(form.get("amount") or "").strip(),
                                  reference=str(form.get("reference") or "")[:100] or None, actor=principal.name)

    return await _act(request, f"/erp/sales/{number}", pay, f"Payment recorded: {number}",
                      lambda **kw: _sales_order_page(request, number, **kw))


@router.get("/deliveries")
def deliveries(request: Request, state: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        page = page_of(session, sales.deliveries_query(state=state or None), _page_number(request))
        return _list(request, "erp/deliveries.html", page, "deliveries", state=state,
                     orders=by_id(session, SalesOrder, (d.order_id for d in page.rows)),
                     items=by_id(session, Item, (ln.item_id for d in page.rows for ln in d.lines)))


@router.get("/invoices")
def customer_invoices(request: Request, state: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        page = page_of(session, invoicing.invoices_query(state=state or None), _page_number(request))
        return _list(request, "erp/invoices.html", page, "invoices", state=state,
                     orders=by_id(session, SalesOrder, (i.order_id for i in page.rows)),
                     deliveries=by_id(session, Delivery, (i.delivery_id for i in page.rows)),
                     partners=by_id(session, Partner, (i.customer_id for i in page.rows)))


@router.get("/payments")
def payments(request: Request, direction: str = "", _: Principal = Depends(require_page(FINANCE))) -> Response:
    with get_engine(request).db.read() as session:
        page = page_of(session, invoicing.payments_query(direction=direction or None), _page_number(request))
        invoices = by_id(session, CustomerInvoice, (p.invoice_id for p in page.rows))
        bills = by_id(session, VendorBill, (p.vendor_bill_id for p in page.rows))
        return _list(request, "erp/payments.html", page, "payments", direction=direction, invoices=invoices,
                     bills=bills, partners=by_id(session, Partner, (p.partner_id for p in page.rows)),
                     orders=by_id(session, SalesOrder, (i.order_id for i in invoices.values())),
                     purchase_orders=by_id(session, PurchaseOrder, (b.purchase_order_id for b in bills.values())))


# --- purchasing ---------------------------------------------------------------------------------------------


@router.get("/purchasing")
def purchase_orders(request: Request, state: str = "", q: str = "", _: Principal = Depends(require_page(WORK))
                    ) -> Response:
    with get_engine(request).db.read() as session:
        stmt = purchasing.purchase_orders_query(state=state or None, number=q or None)
        page = page_of(session, stmt, _page_number(request))
        return _list(request, "erp/purchasing.html", page, "purchase orders", state=state, q=q,
                     partners=by_id(session, Partner, (o.supplier_id for o in page.rows)),
                     items=by_id(session, Item, (ln.item_id for o in page.rows for ln in o.lines)),
                     states=sorted({s for s, _ in PurchaseOrder.TRANSITIONS}
                                   | set(PurchaseOrder.TRANSITIONS.values())))


def _purchase_order_page(request: Request, number: str, *, message: str | None = None, problem: str | None = None,
                         status_code: int = 200) -> Response:
    with get_engine(request).db.read() as session:
        view = purchasing.purchase_order_view(session, number)
        block = "detail" if is_htmx(request) and request.method == "POST" else None
        return render(request, "erp/purchase_order.html", {"v": view, "message": message, "problem": problem},
                      block=block, status_code=status_code)


@router.get("/purchasing/{number}")
def purchase_order_page(request: Request, number: str, _: Principal = Depends(require_page(WORK))) -> Response:
    return _purchase_order_page(request, number, message=request.query_params.get("msg"))


@router.post("/purchasing/{number}/cancel", dependencies=[Depends(csrf_protect)])
async def cancel_purchase_order(request: Request, number: str, principal: Principal = Depends(require_page(WORK))
                                ) -> Response:
    engine = get_engine(request)
    return await _act(request, f"/erp/purchasing/{number}",
                      lambda form: purchasing.cancel_purchase_order(engine, number, actor=principal.name),
                      f"Cancelled: {number}", lambda **kw: _purchase_order_page(request, number, **kw))


@router.get("/requisitions/new")
def new_requisition(request: Request, _: Principal = Depends(require_page(WORK))) -> Response:
    return _new_document(request, "erp/requisition_new.html", role="supplier")


@router.post("/requisitions/new", dependencies=[Depends(csrf_protect)])
async def raise_requisition(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)

    def place(supplier: str, lines: list[dict[str, str]], form: Any) -> str:
        _, number, _ = purchasing.raise_requisition(engine, supplier=supplier, lines=lines,
                                                    requested_by=principal.name)
        return number

    return await _place(request, "erp/requisition_new.html", "supplier", place,
                        lambda number: "/erp/requisitions?" + urlencode({"msg": f"Raised: {number}"}))


@router.get("/requisitions")
def requisitions(request: Request, state: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        page = page_of(session, purchasing.requisitions_query(state=state or None), _page_number(request))
        ordered = {o.requisition_id: o for o in session.scalars(
            purchasing.purchase_orders_query().where(PurchaseOrder.requisition_id.in_([r.id for r in page.rows])))}
        return _list(request, "erp/requisitions.html", page, "requisitions", state=state, ordered=ordered,
                     message=request.query_params.get("msg"),
                     partners=by_id(session, Partner, (r.supplier_id for r in page.rows)),
                     sales_orders=by_id(session, SalesOrder, (r.sales_order_id for r in page.rows)),
                     items=by_id(session, Item, (ln.item_id for r in page.rows for ln in r.lines)))


@router.get("/receipts")
def goods_receipts(request: Request, _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        page = page_of(session, purchasing.receipts_query(), _page_number(request))
        return _list(request, "erp/receipts.html", page, "goods receipts",
                     orders=by_id(session, PurchaseOrder, (r.order_id for r in page.rows)),
                     items=by_id(session, Item, (ln.item_id for r in page.rows for ln in r.lines)),
                     lots=by_id(session, Lot, (ln.lot_id for r in page.rows for ln in r.lines)))


@router.get("/vendor-bills")
def vendor_bills(request: Request, state: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        page = page_of(session, invoicing.vendor_bills_query(state=state or None), _page_number(request))
        return _list(request, "erp/vendor_bills.html", page, "vendor bills", state=state,
                     orders=by_id(session, PurchaseOrder, (b.purchase_order_id for b in page.rows)),
                     partners=by_id(session, Partner, (b.supplier_id for b in page.rows)))


# --- stock and books ----------------------------------------------------------------------------------------


@router.get("/stock")
def stock_page(request: Request, item: str = "", location: str = "", lot: str = "",
               _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        levels = [row for row in stock.stock_levels(session)
                  if item.lower() in row.item_code.lower() and location.lower() in row.location_code.lower()
                  and lot.lower() in (row.lot_code or "").lower()]
        return _list(request, "erp/stock.html", page_of_list(levels, _page_number(request)), "stock rows",
                     item=item, location=location, lot=lot)


@router.get("/moves")
def stock_moves(request: Request, document: str = "", _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        stmt = stock.moves_query().order_by(None).order_by(StockMove.id.desc())
        if document:
            stmt = stmt.where(StockMove.document_number.contains(document.strip().upper(), autoescape=True))
        page = page_of(session, stmt, _page_number(request))
        return _list(request, "erp/moves.html", page, "stock moves", document=document,
                     items=by_id(session, Item, (m.item_id for m in page.rows)),
                     lots=by_id(session, Lot, (m.lot_id for m in page.rows)),
                     locations=by_id(session, Location, [m.from_location_id for m in page.rows]
                                     + [m.to_location_id for m in page.rows]))


@router.get("/ledger")
def ledger_page(request: Request, account: str = "", _: Principal = Depends(require_page(FINANCE))) -> Response:
    with get_engine(request).db.read() as session:
        balance = ledger.trial_balance(session)
        newest_first = ledger.journal_query(account=account or None).order_by(None).order_by(JournalEntry.id.desc())
        page = page_of(session, newest_first, _page_number(request))
        total_debit = sum((r.debit for r in balance), Decimal("0"))
        total_credit = sum((r.credit for r in balance), Decimal("0"))
        return _list(request, "erp/ledger.html", page, "journal entries", balance=balance, account=account,
                     total_debit=total_debit, total_credit=total_credit)


# --- the pick list on the pick task -----------------------------------------------------------------------


@task_panel("order_to_cash", "pick_and_ship")
def pick_list_panel(session: Session, variables: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The warehouse worker picks from this list: item, quantity, bin and lot of the delivery's reserved stock."""
    delivery_id = variables.get("deliveryId")
    if delivery_id is None:
        return None
    delivery = sales.get_delivery(session, int(delivery_id))
    return "erp/_pick_list.html", {"delivery": delivery, "picks": sales.pick_list(session, delivery)}
