"""MRP service: gather demand, stock and open supply from the books, plan, store the run, firm proposals.

Where the data model has no date, the planner uses the one a planner would assume: a sales order is due
when it was ordered (it is wanted now), an open purchase order or requisition arrives its item's lead time
after it was placed, a released work order delivers on its due date (or today) and needs its unissued
material today. The forecast is demand beyond the booked orders, from the planning date on.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.engine import instances
from taktflow.engine.core import Engine
from taktflow.engine.errors import NotFound
from taktflow.handlers.erp.documents import transition
from taktflow.handlers.erp.errors import ErpError
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.planning import mrp
from taktflow.handlers.erp.planning.models import LOT_SIZING, Forecast, ItemPlanning, MrpRun, PlannedOrder
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, PurchaseOrderLine, Requisition, RequisitionLine
from taktflow.handlers.erp.purchasing.service import DEFAULT_LOCATION, create_requisition, start_procurement
from taktflow.handlers.erp.sales.models import SalesOrder, SalesOrderLine
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import Reservation

PROCESS = "mrp_run"
WORK_ORDER_PROCESS = "work_order"
OPEN_SALES_STATES = ("credit_hold", "confirmed", "partially_delivered")
OPEN_REQUISITION_STATES = ("draft", "pending_approval", "approved")
OPEN_PO_STATES = ("confirmed", "partially_received")
OPEN_WORK_ORDER_STATES = ("released", "waiting_material", "staged", "in_progress")
UNSTAGED_WORK_ORDER_STATES = ("released", "waiting_material")


# --- master data ------------------------------------------------------------------------------------


def set_item_planning(session: Session, item_code: str, **values: Any) -> ItemPlanning:
    """Lead time, safety stock and lot sizing of an item; what is not given keeps its value."""
    item = _item(session, item_code)
    row = session.scalar(select(ItemPlanning).where(ItemPlanning.item_id == item.id))
    if row is None:
        row = ItemPlanning(item_id=item.id, lead_time_days=0, safety_stock=Decimal(0), lot_sizing="lot_for_lot",
                           lot_size=Decimal(0), min_lot=Decimal(0), lot_multiple=Decimal(0))
        session.add(row)
    if values.get("lot_sizing") is not None and values["lot_sizing"] not in LOT_SIZING:
        raise ErpError(f"item {item_code}: lot sizing must be one of {', '.join(LOT_SIZING)}")
    for name in ("lead_time_days", "safety_stock", "lot_sizing", "lot_size", "min_lot", "lot_multiple"):
        value = values.get(name)
        if value is None:
            continue
        if name == "lead_time_days":
            value = int(value)
        elif name != "lot_sizing":
            value = Decimal(str(value))
        if name != "lot_sizing" and value < 0:
            raise ErpError(f"item {item_code}: {name.replace('_', ' ')} must not be negative")
        setattr(row, name, value)
    if row.lot_sizing == "fixed" and row.lot_size <= 0:
        raise ErpError(f"item {item_code}: fixed lot sizing needs a positive lot size")
    session.flush()
    return row


def add_forecast(session: Session, item_code: str, due: date, quantity: Any) -> Forecast:
    item = _item(session, item_code)
    amount = Decimal(str(quantity))
    if amount <= 0:
        raise ErpError(f"forecast of {item_code}: the quantity must be positive")
    row = Forecast(item_id=item.id, due_date=due, quantity=amount)
    session.add(row)
    session.flush()
    return row


def _item(session: Session, code: str) -> Item:
    try:
        return item_by_code(session, code)
    except NotFound:
        raise ErpError(f"item {code} does not exist") from None


# --- the run ----------------------------------------------------------------------------------------


def gather(session: Session, today: date) -> tuple[dict[str, mrp.PlanningItem], dict[str, list[mrp.Component]],
                                                   list[mrp.Demand], list[mrp.OpenSupply]]:
    """The planner's inputs, read from the books."""
    from taktflow.handlers.mes.bom import service as boms_service
    from taktflow.handlers.mes.common import MesError
    from taktflow.handlers.mes.work_order.models import WorkOrder

    items = {i.id: i for i in session.scalars(select(Item))}
    planning = {p.item_id: p for p in session.scalars(select(ItemPlanning))}
    reserved: dict[int, Decimal] = dict(session.execute(  # type: ignore[arg-type]
        select(Reservation.item_id, func.sum(Reservation.quantity)).where(Reservation.state == "active")
        .group_by(Reservation.item_id)).all())
    planning_items: dict[str, mrp.PlanningItem] = {}
    for item in items.values():
        p = planning.get(item.id)
        available = stock.on_hand(session, item_id=item.id) - Decimal(reserved.get(item.id) or 0)
        planning_items[item.code] = mrp.PlanningItem(
            item.code, item.procurement, available, p.lead_time_days if p else 0,
            p.safety_stock if p else Decimal(0), p.lot_sizing if p else "lot_for_lot", p.lot_size if p else Decimal(0),
            p.min_lot if p else Decimal(0), p.lot_multiple if p else Decimal(0))

    # The BOM graph first (a cycle is named before any explosion walks it), then single-level explosion
    # through phantoms, with the scrap allowances.
    all_boms = boms_service.list_boms(session)
    mrp.low_level_codes(planning_items, {b.item_code: [mrp.Component(ln.component_code, Decimal(0))
                                                      for ln in b.lines] for b in all_boms})
    components: dict[str, list[mrp.Component]] = {}
    for bom in all_boms:
        if bom.phantom:
            continue
        try:
            per_unit: dict[str, Decimal] = defaultdict(Decimal)
            for requirement in boms_service.explode(session, bom.item_code):
                per_unit[requirement.component_code] += requirement.required_per_unit
        except MesError as exc:
            raise ErpError(str(exc)) from None
        components[bom.item_code] = [mrp.Component(code, q) for code, q in sorted(per_unit.items())]

    demands: list[mrp.Demand] = []
    line_reserved: dict[int, Decimal] = dict(session.execute(  # type: ignore[arg-type]
        select(Reservation.document_line_id, func.sum(Reservation.quantity))
        .where(Reservation.state == "active", Reservation.document_type == "sales_order")
        .group_by(Reservation.document_line_id)).all())
    for line, order in session.execute(
            select(SalesOrderLine, SalesOrder).join(SalesOrder, SalesOrderLine.order_id == SalesOrder.id)
            .where(SalesOrder.state.in_(OPEN_SALES_STATES)).order_by(SalesOrder.id, SalesOrderLine.line_no)):
        # What stock already holds for the line is covered; what replenishment was started for is open supply.
        open_qty = line.quantity - line.delivered_qty - Decimal(line_reserved.get(line.id) or 0)
        if open_qty > 0:
            demands.append(mrp.Demand(items[line.item_id].code, open_qty, order.ordered_at.date(),
                                      f"{order.number}/{line.line_no}"))
    for forecast in session.scalars(select(Forecast).where(Forecast.due_date >= today).order_by(Forecast.id)):
        demands.append(mrp.Demand(items[forecast.item_id].code, forecast.quantity, forecast.due_date,
                                  f"forecast {forecast.due_date.isoformat()}"))

    supply: list[mrp.OpenSupply] = []
    for wo in session.scalars(select(WorkOrder).where(WorkOrder.state.in_(OPEN_WORK_ORDER_STATES))
                              .order_by(WorkOrder.id)):
        if wo.quantity - wo.good_qty > 0 and wo.item_code in planning_items:
            supply.append(mrp.OpenSupply(wo.item_code, wo.quantity - wo.good_qty, wo.due_date or today, wo.number))
        if wo.state in UNSTAGED_WORK_ORDER_STATES:
            for req in wo.requirements:
                if req.required_qty - req.issued_qty > 0 and req.component_code in planning_items:
                    demands.append(mrp.Demand(req.component_code, req.required_qty - req.issued_qty, today,
                                              wo.number))
    for line, order in session.execute(
            select(PurchaseOrderLine, PurchaseOrder).join(PurchaseOrder, PurchaseOrderLine.order_id == PurchaseOrder.id)
            .where(PurchaseOrder.state.in_(OPEN_PO_STATES)).order_by(PurchaseOrder.id, PurchaseOrderLine.line_no)):
        if line.quantity - line.received_qty > 0:
            code = items[line.item_id].code
            supply.append(mrp.OpenSupply(code, line.quantity - line.received_qty,
                                         _arrival(order.ordered_at, planning_items[code]),
                                         f"{order.number}/{line.line_no}"))
    for line, req in session.execute(
            select(RequisitionLine, Requisition).join(Requisition, RequisitionLine.requisition_id == Requisition.id)
            .where(Requisition.state.in_(OPEN_REQUISITION_STATES)).order_by(Requisition.id, RequisitionLine.id)):
        code = items[line.item_id].code
        supply.append(mrp.OpenSupply(code, line.quantity, _arrival(req.requested_at, planning_items[code]),
                                     req.number or f"REQ-{req.id}"))
    return planning_items, components, demands, supply


def _arrival(placed: datetime, item: mrp.PlanningItem) -> date:
    return placed.date() + timedelta(days=item.lead_time_days)


def run_mrp(session: Session, now: datetime, instance_id: str | None = None) -> MrpRun:
    """Plan from today's books and store the run with its proposals and exceptions."""
    today = now.date()
    run = MrpRun(state="proposed", planned_at=now, planning_date=today, instance_id=instance_id, exceptions=[])
    session.add(run)
    session.flush()
    run.number = f"MRP-{run.id:05d}"
    try:
        result = mrp.plan(*gather(session, today), today=today, name=lambda key: f"{run.number}/{key}")
    except mrp.MrpInputError as exc:
        raise ErpError(str(exc)) from None
    for p in result.proposals:
        run.proposals.append(PlannedOrder(
            number=p.ref, kind=p.kind, item_code=p.item, quantity=p.quantity, release_date=p.release,
            due_date=p.due, state="planned",
            pegging=[{"demand": ref, "quantity": float(q)} for ref, q in p.pegging]))
    run.exceptions = [{"kind": e.kind, "item": e.item, "ref": e.ref, "message": e.message} for e in result.exceptions]
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> MrpRun:
    run = session.get(MrpRun, run_id)
    if run is None:
        raise NotFound(f"MRP run {run_id} does not exist")
    return run


def run_of_instance(session: Session, instance_id: str) -> MrpRun:
    run = session.scalar(select(MrpRun).where(MrpRun.instance_id == instance_id))
    if run is None:
        raise NotFound(f"no MRP run belongs to instance {instance_id}")
    return run


def latest_run(session: Session) -> MrpRun | None:
    return session.scalar(select(MrpRun).order_by(MrpRun.id.desc()).limit(1))


def get_proposal(session: Session, proposal_id: int) -> PlannedOrder:
    proposal = session.get(PlannedOrder, proposal_id)
    if proposal is None:
        raise NotFound(f"MRP proposal {proposal_id} does not exist")
    return proposal


def start_run(engine: Engine, *, actor: str | None = None) -> MrpRun:
    """Start mrp_run.bpmn: it plans, then waits for the planner's approval. Returns the stored run."""
    def work(session: Session) -> int:
        run = instances.start_in(engine, session, PROCESS, business_key=None, variables={}, actor=actor,
                                 refuse_bad_input=True)
        return run_of_instance(session, run.row.id).id

    run_id = engine.command(work)
    with engine.db.read() as session:
        run = get_run(session, run_id)
        session.expunge_all()
        return run


def firm(engine: Engine, session: Session, proposal: PlannedOrder, *, now: datetime, actor: str | None) -> str:
    """Turn a proposal into a real order in the caller's transaction: a requisition run through
    procure-to-pay for a buy, a work order through the MES work_order process for a make."""
    if proposal.run.state == "rejected":
        raise ErpError(f"{proposal.number}: the planner rejected {proposal.run.number}; run MRP again")
    transition(proposal, "firm")
    item = item_by_code(session, proposal.item_code)
    if proposal.kind == "buy":
        if item.default_supplier_id is None:
            raise ErpError(f"item {item.code} has no default supplier to buy it from")
        req = create_requisition(session, supplier_id=item.default_supplier_id, now=now, requested_by=actor,
                                 source="mrp", lines=[{"itemId": item.id, "quantity": str(proposal.quantity)}])
        proposal.firmed_instance_id = start_procurement(engine, session, req, business_key=proposal.number,
                                                        actor=actor)
        proposal.firmed_document = req.number
    else:
        from taktflow.handlers.erp.sales.handlers import production_request

        latest_end = datetime.combine(proposal.due_date, datetime.min.time(), tzinfo=now.tzinfo).isoformat()
        run = instances.start_in(engine, session, WORK_ORDER_PROCESS, business_key=proposal.number, actor=actor,
                                 variables=production_request(proposal.number, proposal.number, item,
                                                              proposal.quantity, DEFAULT_LOCATION,
                                                              DEFAULT_LOCATION.split("/")[0], latest_end))
        proposal.firmed_instance_id = run.row.id
        proposal.firmed_document = proposal.number
    session.flush()
    return proposal.firmed_instance_id


def firm_proposal(engine: Engine, proposal_id: int, *, actor: str | None = None) -> PlannedOrder:
    def work(session: Session) -> int:
        firm(engine, session, get_proposal(session, proposal_id), now=engine.clock.now(), actor=actor)
        return proposal_id

    engine.command(work)
    with engine.db.read() as session:
        proposal = get_proposal(session, proposal_id)
        session.expunge_all()
        return proposal


def decide(engine: Engine, session: Session, run: MrpRun, *, approved: bool, now: datetime,
           actor: str | None) -> list[str]:
    """The planner's decision: approving firms every proposal not yet firmed; rejecting cancels them."""
    transition(run, "approve" if approved else "reject")
    started = []
    for proposal in run.proposals:
        if proposal.state != "planned":
            continue
        if approved:
            started.append(firm(engine, session, proposal, now=now, actor=actor))
        else:
            transition(proposal, "cancel")
    return started
