"""Operations on the shop floor: dispatch, start, machine cycles, confirmation, downtime, alerts.

An operation is dispatched to its work center's queue only when its predecessor is done, and it can be
started only from the queue; confirming books its conversion cost (work-center hours × hourly cost,
Dr WIP / Cr Applied conversion) and, for backflushed operations, consumes its components by BOM.
Machine cycles never pass through the work-order process (one process round per part would grow its task
tree without bound): the devices slice hands each one to `record_machine_cycle` in the signal's own
transaction, and the process waits only for milestones (quantity reached, interrupted, silent).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session

from taktflow.engine.errors import Conflict, NotFound
from taktflow.engine.store.models import row_id
from taktflow.handlers.devices.packml import HELD_OR_STOPPED, State
from taktflow.handlers.devices.service import Cycle, StateChange
from taktflow.handlers.erp.documents import transition
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.mes import books
from taktflow.handlers.mes.common import ZERO, MesError, as_number, money, qty, quantity_of
from taktflow.handlers.mes.operation.models import Alert, Downtime, Operation
from taktflow.handlers.mes.routing.models import RoutingOperation
from taktflow.handlers.mes.scheduling import service as scheduling
from taktflow.handlers.mes.scheduling.models import PlannedOperation
from taktflow.handlers.mes.work_center.models import Machine
from taktflow.handlers.mes.work_center.service import work_center_by_code
from taktflow.handlers.mes.work_order import service as work_orders
from taktflow.handlers.mes.work_order.models import MaterialIssue, MaterialRequirement, WorkOrder

STOP_STATES = ("Held", "Stopped", "Aborted")
# Fields of the operator and inspector forms (start_operation, confirm_quantities, inspect).
FORM_FIELDS = ("machine", "goodQuantity", "scrapQuantity", "measuredValue")
RUN_STATE = "Execute"


def get_operation(session: Session, operation_id: int) -> Operation:
    op = session.get(Operation, operation_id)
    if op is None:
        raise NotFound(f"operation {operation_id} does not exist")
    return op


def step_of(session: Session, op: Operation) -> RoutingOperation:
    return session.get(RoutingOperation, op.routing_operation_id)


def predecessor(session: Session, op: Operation) -> Operation | None:
    return session.scalar(select(Operation).where(Operation.work_order_id == op.work_order_id, Operation.seq < op.seq)
                          .order_by(Operation.seq.desc()).limit(1))


def dispatch_next(session: Session, wo: WorkOrder, now: datetime) -> Operation | None:
    """Queue the next planned operation at its work center, for what its predecessor made good. None: all done."""
    for op in work_orders.operations_of(session, wo):
        if op.state in ("done", "skipped"):
            continue
        if op.state != "planned":
            return op  # dispatched already (a retried handler)
        before = predecessor(session, op)
        if before is not None:
            op.input_qty = before.good_qty
        transition(op, "dispatch")
        op.queued_at = now
        session.flush()
        return op
    return None


def variables_of(session: Session, op: Operation) -> dict[str, Any]:
    """Process variables for the operation the work-order process is at."""
    step = step_of(session, op)
    silence = max(int((Decimal(step.ideal_cycle_seconds) * Decimal(step.silence_tolerance)).to_integral_value()), 1)
    return {
        "operationId": op.id, "operationSeq": op.seq, "operationName": op.name, "workCenter": op.work_center.code,
        "operatorGroup": op.work_center.operator_group, "operationQuantity": as_number(op.input_qty),
        # The devices slice's job (devices.start_job): the run ends when the machine has processed the released
        # quantity, rejects included (that is all the material there is); machine.silent after `silenceSeconds`.
        "quantity": as_number(op.input_qty), "quantityBasis": "processed", "silenceSeconds": silence,
        "silenceTimeout": f"PT{silence}S",
        "inspectionRequired": bool(step.characteristic), "characteristic": step.characteristic,
        "lowerLimit": as_number(step.lower_limit), "upperLimit": as_number(step.upper_limit),
        "reworkCount": op.rework_count,
        # The forms' fields start empty for every run: an earlier operation's answers must not carry over.
        **dict.fromkeys(FORM_FIELDS),
    }


def start(session: Session, op: Operation, *, operator: str | None, now: datetime, machine: str | None = None) -> None:
    """Start a queued operation. Refused while its predecessor is not done, when it is not queued, and while
    another operation runs at its work center (the machines run one job at a time)."""
    before = predecessor(session, op)
    if before is not None and before.state != "done":
        raise Conflict(f"operation {op.number} cannot start: operation {before.number} is {before.state}")
    if op.state != "queued":
        raise Conflict(f"operation {op.number} is {op.state}: only a queued operation can be started")
    running = session.scalar(select(Operation).where(
        Operation.work_center_id == op.work_center_id, Operation.state == "running", Operation.id != op.id,
    ).limit(1))
    if running is not None:
        raise Conflict(f"operation {op.number} cannot start: work center {op.work_center.code} is running "
                       f"operation {running.number}")
    machines = [m.code for m in op.work_center.machines]
    if machine is not None and machine not in machines:
        raise MesError(f"machine {machine} is not part of work center {op.work_center.code}")
    transition(op, "start")
    op.machine_code = machine or op.machine_code or (machines[0] if machines else None)
    op.operator = operator or op.operator
    op.started_at = now
    op.machine_count = ZERO
    session.flush()


def record_machine_cycle(session: Session, cycle: Cycle) -> None:
    """Parts the machine reported for an operation's job (a devices cycle listener): the running operation's
    machine count follows the machine's count since the job start. Jobs of other processes and operations
    that no longer run are none of MES's business."""
    operation_id = row_id(cycle.operation_id)
    if operation_id is None:
        return
    op = session.get(Operation, operation_id)
    if op is None or op.state != "running" or op.work_center.code != cycle.work_center:
        return
    op.machine_count = Decimal(cycle.total_count)
    op.machine_code = cycle.device
    op.last_cycle_at = cycle.at


def confirm(
    session: Session, op: Operation, *, good: Any, scrap: Any, operator: str | None, now: datetime, key: str,
) -> None:
    """Good and scrap quantities of the run; books conversion cost and backflushes. Refused: more than was
    released to the operation, or a second confirmation."""
    if op.state != "running":
        raise Conflict(f"operation {op.number} is {op.state}: it was confirmed already or never started")
    good_q, scrap_q = quantity_of(good, "good quantity"), quantity_of(scrap, "scrap quantity")
    if good_q + scrap_q > op.input_qty:
        raise MesError(f"operation {op.number}: good {as_number(good_q)} + scrap {as_number(scrap_q)} is more than "
                       f"the {as_number(op.input_qty)} released to it")
    first_round = op.rework_count == 0
    transition(op, "confirm")
    op.good_qty = good_q
    op.scrap_qty += scrap_q
    op.operator = operator or op.operator
    op.ended_at = now
    seconds = Decimal(str(max((now - op.started_at).total_seconds(), 0))) if op.started_at else ZERO
    step = step_of(session, op)
    hours = seconds / 3600 + (step.setup_minutes / 60 if first_round else ZERO)
    op.run_seconds += seconds
    scheduling.learn_run_time(session, step, run_seconds=seconds, units=good_q + scrap_q, first_round=first_round,
                              now=now)
    cost = money(hours * op.work_center.hourly_cost)
    wo = op.work_order
    if cost:
        op.conversion_cost += cost
        wo.conversion_cost += cost
        books.entry(session, f"{key}:conversion", wo,
                    [ledger.dr(ledger.WIP, cost), ledger.cr(books.APPLIED_CONVERSION, cost)],
                    f"conversion {op.work_center.code} {round(hours, 4)} h", now)
    if first_round:
        _consume_for(session, op, step, good_q + scrap_q, key, now)
    session.flush()


def _consume_for(session: Session, op: Operation, step: RoutingOperation, units: Decimal, key: str,
                 now: datetime) -> None:
    wo = op.work_order
    for req in wo.requirements:
        if req.operation_seq != op.seq:
            continue
        if step.backflush:
            amount = qty(req.standard_per_unit * units)
        else:  # consumed as recorded; what nobody recorded is taken as consumed in full
            recorded = _recorded(session, op, req)
            amount = ZERO if recorded else req.issued_qty - req.consumed_qty - req.returned_qty
        if amount > 0:
            work_orders.consume(session, wo, req, amount, f"{key}:backflush", now, operation_id=op.id)


def _recorded(session: Session, op: Operation, req: MaterialRequirement) -> bool:
    return session.scalar(select(MaterialIssue.id).where(
        MaterialIssue.requirement_id == req.id, MaterialIssue.kind == "consume",
        MaterialIssue.operation_id == op.id).limit(1)) is not None


def record_consumption(
    session: Session, op: Operation, *, component: str, lot_id: int | None, quantity: Any, key: str, now: datetime,
) -> list[MaterialIssue]:
    """An operator's consumption by lot on a running operation (over- or under-consumption shows as variance).
    Refused, with nothing booked, when the lot has less left (staged to this order plus in stock)."""
    if op.state != "running":
        raise Conflict(f"operation {op.number} is {op.state}: consumption is recorded while it runs")
    amount = quantity_of(quantity, "consumed quantity")
    if amount <= 0:
        raise MesError("the consumed quantity must be greater than zero")
    req = next((r for r in op.work_order.requirements if r.component_code == component and r.operation_seq == op.seq),
               None)
    if req is None:
        raise MesError(f"operation {op.number} does not consume {component}")
    if lot_id is not None:
        try:
            lot = stock.get_lot(session, lot_id)
        except NotFound:
            raise MesError(f"lot {lot_id} does not exist") from None
        if lot.item_id != books.item(session, component).id:
            raise MesError(f"lot {lot.code} is not a lot of {component}")
        staged = work_orders.staged_by_lot(session, op.work_order).get((req.id, lot_id), ZERO)
        left = staged + stock.on_hand(session, item_id=lot.item_id, location_id=books.plant(session).stock.id,
                                      lot_id=lot_id)
        if amount > left:
            raise MesError(f"lot {lot.code} of {component} has {as_number(left)} left (staged and in stock): "
                           f"{as_number(amount)} cannot be consumed from it; nothing was booked")
    return work_orders.consume(session, op.work_order, req, amount, key, now, operation_id=op.id, lot_id=lot_id,
                               any_lot=lot_id is None)


def accept(session: Session, op: Operation, now: datetime) -> None:
    transition(op, "accept")
    op.ended_at = now


def rework(session: Session, op: Operation) -> None:
    """The inspected batch goes back to the work center's queue; the next run is for what was good."""
    transition(op, "rework")
    op.input_qty = op.good_qty
    op.good_qty = ZERO
    op.rework_count += 1
    session.flush()


def scrap_batch(session: Session, op: Operation, now: datetime) -> None:
    """The decision table scrapped the batch: nothing goes on; later operations are skipped."""
    transition(op, "scrap")
    op.scrap_qty += op.good_qty
    op.good_qty = ZERO
    op.ended_at = now
    for later in work_orders.operations_of(session, op.work_order):
        if later.seq > op.seq and later.state == "planned":
            transition(later, "skip")
    session.flush()


# --- machine events ---------------------------------------------------------------------------------------


def downtime_category(state: str, reason: str | None, *, offline: bool = False) -> str:
    """What kind of stop this is, from the PackML state and the machine's stop reason or fault code:
    an emergency stop (PackML answers it with Abort), a jam, or a plain hold or stop."""
    text = (reason or "").lower()
    if offline:
        return "offline"
    if any(word in text for word in ("e-stop", "estop", "emergency")):
        return "e-stop"
    if "jam" in text:
        return "jam"
    if state == State.ABORTED.label:
        return "e-stop"
    return "held" if state == State.HELD.label else "stopped"


def open_downtime(session: Session, op: Operation, *, state: str, reason: str | None, offline: bool,
                  now: datetime) -> Downtime:
    """The process's downtime of an interrupted operation: the machine's open one (its state listener opened
    it in the same signal) is linked to the operation; otherwise one is opened."""
    current = open_downtime_of(session, op)
    if current is not None:
        return current
    machine = open_machine_downtime(session, op.machine_code) if op.machine_code else None
    if machine is not None:
        machine.operation_id = machine.operation_id or op.id
        return machine
    return _open(session, op.machine_code or "", op.id, state=state, reason=reason, offline=offline, now=now)


def _open(session: Session, machine_code: str, operation_id: int | None, *, state: str, reason: str | None,
          offline: bool, now: datetime) -> Downtime:
    text = reason or ("device offline" if offline else f"machine {state}")
    row = Downtime(operation_id=operation_id, machine_code=machine_code, packml_state=state, reason=text[:300],
                   category=downtime_category(state, reason, offline=offline), started_at=now)
    session.add(row)
    session.flush()
    return row


def open_downtime_of(session: Session, op: Operation) -> Downtime | None:
    return session.scalar(select(Downtime).where(Downtime.operation_id == op.id, Downtime.ended_at.is_(None)))


def open_machine_downtime(session: Session, machine_code: str) -> Downtime | None:
    return session.scalar(select(Downtime).where(Downtime.machine_code == machine_code, Downtime.ended_at.is_(None))
                          .order_by(Downtime.id.desc()).limit(1))


def close_downtime(session: Session, op: Operation, now: datetime) -> Downtime | None:
    row = open_downtime_of(session, op)
    if row is not None:
        row.ended_at = now
    return row


def record_machine_state(session: Session, change: StateChange) -> None:
    """A devices state listener: every stop of a machine (e-stop, jam, hold, stop) is a downtime with its
    reason, whether or not an operation runs, and Execute ends it. A reason that arrives after the stop
    names the open downtime."""
    machine = change.device
    current = open_machine_downtime(session, machine)
    if change.state in HELD_OR_STOPPED:
        if current is None:
            op_id = row_id(change.operation_id or "")
            op = session.get(Operation, op_id) if op_id is not None else None
            _open(session, machine, op.id if op is not None and op.state == "running" else None,
                  state=change.state.label, reason=change.reason, offline=False, now=change.at)
        elif change.state == change.previous and change.reason:  # the stop reason or fault code came after
            current.reason = change.reason[:300]
            current.category = downtime_category(current.packml_state, change.reason)
        return
    if change.state == State.EXECUTE and current is not None:
        current.ended_at = change.at


def raise_alert(session: Session, op: Operation, *, kind: str, message: str, key: str, now: datetime) -> Alert:
    existing = session.scalar(select(Alert).where(Alert.booking_key == key))
    if existing is not None:
        return existing
    alert = Alert(operation_id=op.id, machine_code=op.machine_code, kind=kind, message=message[:500], raised_at=now,
                  booking_key=key)
    session.add(alert)
    session.flush()
    return alert


# --- reading ---------------------------------------------------------------------------------------------

_ORDER = {"running": 0, "queued": 1, "confirmed": 0, "planned": 2, "done": 3, "scrapped": 3, "skipped": 4}


def dispatch_list(session: Session, work_center: str, *, include_done: bool = True) -> list[Operation]:
    """The work center's operations: running (and awaiting inspection), queued, waiting for their
    predecessor, done — each group by planned start in the latest schedule (operations it does not plan
    last), then by priority (higher first), then by when it was queued."""
    wc = work_center_by_code(session, work_center)
    stmt = select(Operation).join(WorkOrder, WorkOrder.id == Operation.work_order_id).outerjoin(
        PlannedOperation, and_(PlannedOperation.operation_id == Operation.id,
                               PlannedOperation.schedule_id == scheduling.latest_schedule_id(session))).where(
        Operation.work_center_id == wc.id, WorkOrder.state.not_in(("cancelled",)))
    if not include_done:
        stmt = stmt.where(Operation.state.not_in(("done", "scrapped", "skipped")))
    rank = case(_ORDER, value=Operation.state, else_=5)
    unplanned = case((PlannedOperation.planned_start.is_(None), 1), else_=0)
    return list(session.scalars(stmt.order_by(rank, unplanned, PlannedOperation.planned_start,
                                              Operation.priority.desc(), Operation.queued_at, Operation.id)))


def startable(session: Session, op: Operation) -> bool:
    before = predecessor(session, op)
    return op.state == "queued" and (before is None or before.state == "done")


def downtimes(session: Session, *, operation_id: int | None = None, machine: str | None = None,
              machines: list[str] | None = None, latest: int | None = None) -> list[Downtime]:
    """Downtimes, oldest first; `latest` keeps only the last ones (newest first)."""
    stmt = select(Downtime)
    if operation_id is not None:
        stmt = stmt.where(Downtime.operation_id == operation_id)
    if machine:
        stmt = stmt.where(Downtime.machine_code == machine)
    if machines is not None:
        stmt = stmt.where(Downtime.machine_code.in_(machines))
    if latest is not None:
        return list(session.scalars(stmt.order_by(Downtime.id.desc()).limit(latest)))
    return list(session.scalars(stmt.order_by(Downtime.id)))


def alerts(session: Session, *, operation_id: int | None = None) -> list[Alert]:
    stmt = select(Alert)
    if operation_id is not None:
        stmt = stmt.where(Alert.operation_id == operation_id)
    return list(session.scalars(stmt.order_by(Alert.id)))


def oee_inputs(session: Session, op: Operation) -> dict[str, Any]:
    """What OEE needs from MES for one operation: ideal cycle time, counts, and the time it ran and stood."""
    step = step_of(session, op)
    down = sum(((d.ended_at or d.started_at) - d.started_at).total_seconds()
               for d in downtimes(session, operation_id=op.id))
    return {"operationId": op.id, "workCenter": op.work_center.code, "machine": op.machine_code,
            "idealCycleSeconds": float(step.ideal_cycle_seconds), "plannedSeconds": float(op.run_seconds),
            "downtimeSeconds": down, "totalCount": as_number(op.good_qty + op.scrap_qty),
            "goodCount": as_number(op.good_qty), "scrapCount": as_number(op.scrap_qty)}


def machine_of(session: Session, code: str) -> Machine | None:
    return session.scalar(select(Machine).where(Machine.code == code))
