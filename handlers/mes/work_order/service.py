"""Work orders: release (explode BOM and routing), material availability, staging, finished-goods receipt,
and the production performance that goes back to ERP. Services never commit."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from taktflow.engine import events, instances
from taktflow.engine.errors import NotFound
from taktflow.handlers.erp.documents import transition
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.purchasing import service as purchasing
from taktflow.handlers.erp.purchasing.models import PurchaseOrder
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.mes import books
from taktflow.handlers.mes.bom.service import explode
from taktflow.handlers.mes.common import ZERO, MesError, as_number, money, qty, quantity_of
from taktflow.handlers.mes.genealogy.models import LotLink
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.routing.service import get_routing
from taktflow.handlers.mes.work_order.models import (
    MaterialIssue,
    MaterialRequirement,
    ProcurementRequest,
    WorkOrder,
)

PROCESS_KEY = "work_order"


def release_work_order(
    session: Session, *, item_code: str, quantity: Any, now: datetime, due_date: date | str | None = None,
    priority: int = 50, origin: str = "planner", origin_instance_id: str | None = None,
    request_key: str | None = None,
) -> WorkOrder:
    """Create a released work order: its material requirements (BOM exploded) and operations (routing).

    Idempotent per `request_key` (the booking key of the ERP request that asked for it).
    """
    if request_key:
        earlier = session.scalar(select(WorkOrder).where(WorkOrder.request_key == request_key))
        if earlier is not None:
            return earlier
    amount = quantity_of(quantity, "work order quantity")
    if amount <= 0:
        raise MesError("a work order needs a quantity greater than zero")
    try:  # what to make must exist in ERP, with a routing and a BOM here: bad input, not a missing page
        books.item(session, item_code)
        routing = get_routing(session, item_code)
        requirements = explode(session, item_code)
    except NotFound as exc:
        raise MesError(f"cannot release a work order for {item_code}: {exc}") from None
    if isinstance(due_date, str):
        due_date = date.fromisoformat(due_date[:10])
    count = session.scalar(select(func.count()).select_from(WorkOrder)) or 0
    wo = WorkOrder(number=f"WO-{count + 1:05d}", item_code=item_code, quantity=amount, state="released",
                   priority=int(priority), due_date=due_date, origin=origin, origin_instance_id=origin_instance_id,
                   request_key=request_key, created_at=now)
    for req in requirements:
        wo.requirements.append(MaterialRequirement(
            component_code=req.component_code, operation_seq=req.operation_seq,
            standard_per_unit=req.standard_per_unit, required_qty=qty(req.required_per_unit * amount),
        ))
    session.add(wo)
    session.flush()
    for step in routing.operations:
        session.add(Operation(work_order_id=wo.id, seq=step.seq, name=step.name, work_center_id=step.work_center_id,
                              routing_operation_id=step.id, state="planned", priority=wo.priority,
                              input_qty=amount))
    session.flush()
    return wo


def get_work_order(session: Session, ref: int | str) -> WorkOrder:
    stmt = select(WorkOrder).where(WorkOrder.id == ref if isinstance(ref, int) else WorkOrder.number == ref)
    wo = session.scalar(stmt)
    if wo is None:
        raise NotFound(f"work order {ref} does not exist")
    return wo


def work_orders_query(*, state: str | None = None, item_code: str | None = None,
                      origin: str | None = None) -> Select[tuple[WorkOrder]]:
    stmt = select(WorkOrder)
    if state:
        stmt = stmt.where(WorkOrder.state == state)
    if item_code:
        stmt = stmt.where(WorkOrder.item_code == item_code)
    if origin:
        stmt = stmt.where(WorkOrder.origin == origin)
    return stmt.order_by(WorkOrder.id.desc())


def list_work_orders(session: Session, *, limit: int = 100, offset: int = 0, **filters: Any) -> list[WorkOrder]:
    return list(session.scalars(work_orders_query(**filters).limit(limit).offset(offset)))


def operations_of(session: Session, wo: WorkOrder) -> list[Operation]:
    return list(session.scalars(select(Operation).where(Operation.work_order_id == wo.id).order_by(Operation.seq)))


# --- material --------------------------------------------------------------------------------------------


def shortages(session: Session, wo: WorkOrder) -> list[dict[str, Any]]:
    """Components whose stock does not cover what staging still has to issue."""
    where = books.plant(session).stock
    short = []
    for req in wo.requirements:
        needed = req.required_qty - req.issued_qty
        if needed <= 0:
            continue
        have = books.free(session, req.component_code, where)
        if have < needed:
            short.append({"itemCode": req.component_code, "required": as_number(needed),
                          "onHand": as_number(max(have, Decimal(0))), "shortQuantity": as_number(needed - have)})
    return short


def check_material(session: Session, wo: WorkOrder) -> list[dict[str, Any]]:
    found = shortages(session, wo)
    if found:
        transition(wo, "wait_for_material")
    return found


def request_procurement(
    engine: Any, session: Session, wo: WorkOrder, *, now: datetime, business_key: str, actor: str | None = None,
) -> list[dict[str, Any]]:
    """Hand what staging lacks to where it comes from. A buy item goes to ERP's procure-to-pay: one
    requisition per supplier, each started as a procure-to-pay instance under `business_key` (the work
    order's), so the goods receipt's `stock_replenished` message comes back to the waiting work order. A make
    item gets a child work order through the work-order process; its finished-goods receipt wakes this one.
    Asks only for what this order's earlier requisitions and children do not cover yet (requested and not
    received; a rejected requisition counts as answered: the buyer said no)."""
    to_buy: dict[int, list[tuple[Any, Decimal]]] = defaultdict(list)
    requested = []
    for short in shortages(session, wo):
        code = short["itemCode"]
        component = books.item(session, code)
        if component.procurement == "make":
            missing = qty(short["shortQuantity"]) - _covered_by_children(session, wo, code)
            if missing > 0:
                child = start_child(engine, session, wo, code, missing, now=now, actor=actor)
                requested.append({"workOrderNumber": child.number, "itemCode": code,
                                  "quantity": as_number(missing), "processInstanceId": child.instance_id})
            continue
        missing = qty(short["shortQuantity"]) - _covered(session, wo, code)
        if missing <= 0:
            continue
        if component.procurement != "buy" or component.default_supplier_id is None:
            raise MesError(f"{wo.number}: {as_number(missing)} {component.uom} of {code} are missing and "
                           f"{code} has no supplier to buy it from; make it or set a default supplier")
        to_buy[component.default_supplier_id].append((component, missing))
    for supplier_id, wanted in to_buy.items():
        req = purchasing.create_requisition(
            session, supplier_id=supplier_id, now=now, requested_by=actor or wo.number, source="production",
            location=books.plant(session).stock.code,
            lines=[{"itemId": component.id, "quantity": str(amount)} for component, amount in wanted])
        instance_id = purchasing.start_procurement(engine, session, req, business_key=business_key, actor=actor)
        for component, amount in wanted:
            session.add(ProcurementRequest(work_order_id=wo.id, component_code=component.code, quantity=amount,
                                           requisition_id=req.id, requisition_number=req.number,
                                           instance_id=instance_id, requested_at=now))
            requested.append({"requisitionNumber": req.number, "itemCode": component.code,
                              "quantity": as_number(amount), "processInstanceId": instance_id})
    session.flush()
    return requested


def start_child(engine: Any, session: Session, parent: WorkOrder, item_code: str, quantity: Decimal, *,
                now: datetime, actor: str | None = None) -> WorkOrder:
    """Release a child work order for a make-item shortfall of `parent` and start its work-order process
    (its own business key: its own shortages and machines are its own). Due with the parent, one above its
    priority, so the component is made before the parent needs it. An item that cannot be made (no BOM or
    routing) is refused with the reason, like any release."""
    child = release_work_order(session, item_code=item_code, quantity=quantity, now=now, due_date=parent.due_date,
                               priority=min(parent.priority + 1, 100), origin=parent.number,
                               origin_instance_id=parent.instance_id)
    child.parent_id = parent.id
    run = instances.start_in(engine, session, PROCESS_KEY, business_key=child.number, actor=actor, variables={
        "workOrderNumber": child.number, "itemCode": child.item_code, "quantity": as_number(child.quantity),
        "priority": child.priority, "parentWorkOrderNumber": parent.number})
    child.instance_id = run.row.id
    session.flush()
    return child


def wake_parent(engine: Any, session: Session, child: WorkOrder, actor: str | None = None) -> str | None:
    """The child's finished goods are in stock: the parent waiting for material checks again now (its
    `stock_replenished` wait, by its instance's business key as procure-to-pay's receipt does). A parent not
    waiting (it re-checked already) is fine: the hourly re-check finds the stock too. Returns the parent
    instance reached, if any."""
    parent = child.parent
    if parent is None or parent.instance_id is None:
        return None
    business_key = instances.get(session, parent.instance_id).business_key or parent.number
    savepoint = session.begin_nested()
    try:
        reached = events.correlate_in(engine, session, "stock_replenished", business_key=business_key,
                                      variables={"replenishedBy": child.number}, actor=actor)
    except NotFound:
        savepoint.rollback()
        return None
    savepoint.commit()
    return reached[0].instance_id if reached else None


def children_of(session: Session, wo: WorkOrder) -> list[WorkOrder]:
    return list(session.scalars(select(WorkOrder).where(WorkOrder.parent_id == wo.id).order_by(WorkOrder.id)))


def _covered_by_children(session: Session, wo: WorkOrder, component_code: str) -> Decimal:
    """What this order's children still bring of a component: the quantity of those not received yet (a
    received child's output is in stock already, so the shortage check sees it)."""
    return sum((child.quantity for child in children_of(session, wo)
                if child.item_code == component_code and child.state not in ("completed", "scrapped", "closed")),
               ZERO)


def _covered(session: Session, wo: WorkOrder, component_code: str) -> Decimal:
    """What this order's requisitions for a component still bring (requested minus received so far)."""
    covered = ZERO
    for request in procurement_requests(session, wo, component_code=component_code):
        requisition = purchasing.get_requisition(session, request.requisition_id)
        received = ZERO
        if requisition.state != "rejected":
            item_id = books.item(session, component_code).id
            received = sum((line.received_qty for order in session.scalars(
                select(PurchaseOrder).where(PurchaseOrder.requisition_id == requisition.id))
                for line in order.lines if line.item_id == item_id), ZERO)
        covered += max(request.quantity - received, ZERO)
    return covered


def procurement_requests(session: Session, wo: WorkOrder, *, component_code: str | None = None,
                         ) -> list[ProcurementRequest]:
    stmt = select(ProcurementRequest).where(ProcurementRequest.work_order_id == wo.id)
    if component_code:
        stmt = stmt.where(ProcurementRequest.component_code == component_code)
    return list(session.scalars(stmt.order_by(ProcurementRequest.id)))


def stage_material(session: Session, wo: WorkOrder, key: str, now: datetime) -> list[dict[str, Any]]:
    """Issue every requirement to WIP, oldest lot first (Dr WIP / Cr Raw materials). All or nothing."""
    where = books.plant(session)
    issued = []
    for req in wo.requirements:
        needed = req.required_qty - req.issued_qty
        free = books.free(session, req.component_code, where.stock)  # reserved stock stays for its document
        for lot, have in books.lots_on_hand(session, req.component_code, where.stock):
            if needed <= 0 or free <= 0:
                break
            take = min(have, needed, free)
            free -= take
            lot_id = lot.id if lot else None
            moved = books.move(session, f"{key}:issue:{req.id}:{lot_id}", wo, req.component_code, take, where.stock,
                               where.wip, now, lot_id=lot_id)
            session.add(MaterialIssue(work_order_id=wo.id, requirement_id=req.id, kind="issue", lot_id=lot_id,
                                      lot_code=lot.code if lot else None, quantity=take, value=moved.value,
                                      erp_ref=f"stock_move:{moved.id}", at=now))
            req.issued_qty += take
            needed -= take
            issued.append({"itemCode": req.component_code, "lot": lot.code if lot else None,
                           "quantity": as_number(take)})
        if needed > 0:
            raise MesError(f"{wo.number}: {as_number(needed)} of {req.component_code} are missing in stock; "
                           "nothing was staged")
    wo.material_cost = books.wip_balance(session, wo)
    transition(wo, "stage")
    transition(wo, "start")
    session.flush()
    return issued


def staged_by_lot(session: Session, wo: WorkOrder) -> dict[tuple[int, int | None], Decimal]:
    """What still sits in WIP per (requirement, lot): issued minus consumed minus returned."""
    left: dict[tuple[int, int | None], Decimal] = defaultdict(lambda: ZERO)
    for row in session.scalars(select(MaterialIssue).where(MaterialIssue.work_order_id == wo.id)
                               .order_by(MaterialIssue.id)):
        sign = 1 if row.kind == "issue" else -1
        left[(row.requirement_id, row.lot_id)] += sign * row.quantity
    return {k: v for k, v in left.items() if v != 0}


def consume(
    session: Session, wo: WorkOrder, req: MaterialRequirement, amount: Decimal, key: str, now: datetime, *,
    operation_id: int | None, lot_id: int | None = None, any_lot: bool = True,
) -> list[MaterialIssue]:
    """Consume from what is staged (oldest lot first, or the named lot); issue the rest from stock first.
    Returns the issue and consumption rows it booked.

    Consuming from a lot with nothing left, in WIP or in stock, is refused by the stock service.
    """
    where = books.plant(session)
    booked: list[MaterialIssue] = []
    remaining = amount
    staged = staged_by_lot(session, wo)
    lots = [(lid, q) for (rid, lid), q in staged.items() if rid == req.id and (any_lot or lid == lot_id)]
    if lot_id is not None and not any_lot and not lots:
        lots = [(lot_id, ZERO)]
    for index, (lid, have) in enumerate(sorted(lots, key=lambda x: (x[0] is None, x[0] or 0))):
        if remaining <= 0:
            break
        take = min(have, remaining)
        last = index == len(lots) - 1
        if last and take < remaining:  # over-consumption: issue the difference from stock of that lot
            extra = remaining - take
            moved = books.move(session, f"{key}:extra:{req.id}:{lid}", wo, req.component_code, extra, where.stock,
                               where.wip, now, lot_id=lid)
            booked.append(MaterialIssue(work_order_id=wo.id, requirement_id=req.id, kind="issue", lot_id=lid,
                                        lot_code=_lot_code(session, lid), quantity=extra, value=moved.value,
                                        operation_id=operation_id, erp_ref=f"stock_move:{moved.id}", at=now))
            req.issued_qty += extra
            take = remaining
        moved = books.move(session, f"{key}:consume:{req.id}:{lid}", wo, req.component_code, take, where.wip,
                           books.production_location(), now, lot_id=lid)
        booked.append(MaterialIssue(work_order_id=wo.id, requirement_id=req.id, kind="consume", lot_id=lid,
                                    lot_code=_lot_code(session, lid), quantity=take, value=moved.value,
                                    operation_id=operation_id, erp_ref=f"stock_move:{moved.id}", at=now))
        req.consumed_qty += take
        remaining -= take
    if remaining > 0:
        raise MesError(f"{wo.number}: nothing of {req.component_code} is staged to consume "
                       f"{as_number(remaining)} from")
    session.add_all(booked)
    session.flush()
    return booked


def _lot_code(session: Session, lot_id: int | None) -> str | None:
    return stock.get_lot(session, lot_id).code if lot_id is not None else None


# --- finished goods --------------------------------------------------------------------------------------


def receive_finished_goods(session: Session, wo: WorkOrder, key: str, now: datetime) -> dict[str, Any]:
    """Close the work order's WIP: return unconsumed material, book usage variance and scrap, and receive
    the good quantity into stock as a new lot (Dr Finished goods / Cr WIP). WIP of the order ends at zero."""
    where = books.plant(session)
    ops = operations_of(session, wo)
    wo.good_qty = _output(ops)
    wo.scrap_qty = sum((op.scrap_qty for op in ops), ZERO)
    # Unconsumed material goes back to stock at its issue value (Dr Raw materials / Cr WIP).
    for (req_id, lot_id), left in staged_by_lot(session, wo).items():
        if left <= 0:
            continue
        req = session.get(MaterialRequirement, req_id)
        moved = books.move(session, f"{key}:return:{req_id}:{lot_id}", wo, req.component_code, left, where.wip,
                           where.stock, now, lot_id=lot_id)
        session.add(MaterialIssue(work_order_id=wo.id, requirement_id=req_id, kind="return", lot_id=lot_id,
                                  lot_code=_lot_code(session, lot_id), quantity=left, value=moved.value,
                                  erp_ref=f"stock_move:{moved.id}", at=now))
        req.returned_qty += left
    # Usage variance: consumed against the standard for the units that went through the consuming operation
    # (good and scrap there); material of parts scrapped later is scrap, not a usage variance.
    processed = wo.good_qty + wo.scrap_qty
    units_at = {op.seq: op.good_qty + op.scrap_qty for op in ops}
    variances = []
    for req in wo.requirements:
        over = req.consumed_qty - qty(req.standard_per_unit * units_at.get(req.operation_seq, ZERO))
        if over == 0:
            continue
        value = money(over * books.item(session, req.component_code).standard_cost)
        variances.append({"itemCode": req.component_code, "quantity": as_number(over), "value": float(value)})
        if value:
            books.entry(session, f"{key}:variance:{req.id}", wo,
                        [ledger.dr(books.USAGE_VARIANCE, value), ledger.cr(ledger.WIP, value)],
                        f"usage variance {req.component_code} {as_number(over)}", now)
    wip = books.wip_balance(session, wo)
    scrap_value = ZERO
    if wo.scrap_qty > 0 and wip:
        scrap_value = wip if wo.good_qty == 0 else money(wip * wo.scrap_qty / processed)
        books.entry(session, f"{key}:scrap", wo,
                    [ledger.dr(ledger.SCRAP, scrap_value), ledger.cr(ledger.WIP, scrap_value)],
                    f"scrap {as_number(wo.scrap_qty)} units", now)
    received = None
    if wo.good_qty > 0:
        wip = books.wip_balance(session, wo)
        unit_cost = (wip / wo.good_qty).quantize(Decimal("0.0001"))
        fg = books.item(session, wo.item_code)
        # A lot (code = work order number) only for items tracked by lot: the ERP ships untracked items without
        # one, so a lot of them would keep its quantity forever.
        lot = stock.create_lot(session, item_id=fg.id, code=wo.number, now=now, origin=wo.number) \
            if fg.lot_tracked else None
        received = books.move(session, f"{key}:receipt", wo, wo.item_code, wo.good_qty, books.production_location(),
                              where.stock, now, lot_id=lot.id if lot else None, unit_cost=unit_cost)
        if lot is not None:
            wo.fg_lot_id, wo.fg_lot_code = lot.id, lot.code
            _link_genealogy(session, wo, lot.id)
        rounding = books.wip_balance(session, wo)
        if rounding:  # unit cost is rounded to 4 places: the cents left over are a variance, not WIP
            books.entry(session, f"{key}:rounding", wo,
                        [ledger.dr(books.USAGE_VARIANCE, rounding), ledger.cr(ledger.WIP, rounding)],
                        "rounding of the finished-goods unit cost", now)
        transition(wo, "complete")
    else:
        transition(wo, "scrap")
    session.flush()
    return {"goodQuantity": as_number(wo.good_qty), "scrapQuantity": as_number(wo.scrap_qty),
            "lotId": wo.fg_lot_id, "lotCode": wo.fg_lot_code,
            "unitCost": float(received.unit_cost) if received else None,
            "finishedGoodsValue": float(received.value) if received else 0.0, "scrapValue": float(scrap_value),
            "variances": variances}


def _output(ops: list[Operation]) -> Decimal:
    if any(op.state == "scrapped" for op in ops):
        return ZERO
    return ops[-1].good_qty if ops else ZERO


def _link_genealogy(session: Session, wo: WorkOrder, lot_id: int) -> None:
    consumed: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    codes = {r.id: r.component_code for r in wo.requirements}
    for row in session.scalars(select(MaterialIssue).where(MaterialIssue.work_order_id == wo.id,
                                                          MaterialIssue.kind == "consume",
                                                          MaterialIssue.lot_id.is_not(None))):
        consumed[(row.lot_id, codes[row.requirement_id])] += row.quantity
    for (input_lot, code), amount in consumed.items():
        session.add(LotLink(output_lot_id=lot_id, input_lot_id=input_lot, work_order_id=wo.id,
                            component_code=code, quantity=amount))


# --- production performance (ISA-95, MES -> ERP) ----------------------------------------------------------


def production_performance(session: Session, wo: WorkOrder) -> dict[str, Any]:
    """The ISA-95 ProductionPerformance of a finished work order, in the shape ERP's order-to-cash reads:
    material actuals produced (the new lot) and consumed (by lot), and one segment response per operation
    with its equipment and personnel actuals."""
    ops = operations_of(session, wo)
    where = books.plant(session)
    consumed: dict[tuple[str, str | None], Decimal] = defaultdict(lambda: ZERO)
    codes = {r.id: r.component_code for r in wo.requirements}
    for row in session.scalars(select(MaterialIssue).where(MaterialIssue.work_order_id == wo.id,
                                                          MaterialIssue.kind == "consume")):
        consumed[(codes[row.requirement_id], row.lot_code)] += row.quantity
    produced = [{"materialDefinitionId": wo.item_code, "materialLotId": wo.fg_lot_code, "materialUse": "Produced",
                 "quantity": as_number(wo.good_qty), "unitOfMeasure": books.item(session, wo.item_code).uom,
                 "storageLocation": where.stock.code}] if wo.good_qty > 0 else []
    used = [{"materialDefinitionId": code, "materialLotId": lot, "materialUse": "Consumed", "quantity": as_number(q),
             "unitOfMeasure": books.item(session, code).uom}
            for (code, lot), q in sorted(consumed.items(), key=lambda x: (x[0][0], x[0][1] or ""))]
    starts = [op.started_at for op in ops if op.started_at]
    ends = [op.ended_at for op in ops if op.ended_at]
    return {
        "productionRequestId": wo.request_key or wo.number, "workOrderNumber": wo.number,
        "responseState": "Completed" if wo.good_qty > 0 else "Aborted",
        "materialActuals": produced + used, "scrapQuantity": as_number(wo.scrap_qty),
        "actualStartTime": min(starts).isoformat() if starts else None,
        "actualEndTime": max(ends).isoformat() if ends else None,
        "segmentResponses": [
            {"id": f"{wo.number}/{op.seq}", "processSegmentId": op.name, "state": op.state,
             "equipmentActuals": [{"equipmentId": op.work_center.code, "machineId": op.machine_code,
                                   "hours": float(round(op.run_seconds / 3600, 4))}],
             "personnelActuals": [{"personId": op.operator}] if op.operator else [],
             "goodQuantity": as_number(op.good_qty), "scrapQuantity": as_number(op.scrap_qty),
             "reworkCount": op.rework_count, "conversionCost": float(op.conversion_cost)}
            for op in ops
        ],
    }


def close(session: Session, wo: WorkOrder, now: datetime) -> dict[str, Any]:
    performance = production_performance(session, wo)
    wo.performance = performance
    wo.closed_at = now
    transition(wo, "close")
    return performance
