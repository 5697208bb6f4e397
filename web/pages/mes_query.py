"""What the MES screens read that the MES and devices services do not offer: read-only queries only.

Who sees which work center, the open operator task of an operation, consumed lots of a running work order,
lots by number, and the rows of one machine panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.engine.store.models import UserTask, row_id
from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.packml import State
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.stock.models import Lot
from taktflow.handlers.mes.operation.models import Downtime, Operation
from taktflow.handlers.mes.operation.routes import OPERATION_TASKS
from taktflow.handlers.mes.work_center.models import WorkCenter
from taktflow.handlers.mes.work_order.models import MaterialIssue, MaterialRequirement, WorkOrder
from taktflow.handlers.mes.work_order.service import work_orders_query
from taktflow.web.auth.service import OPERATE, Principal

PLANNER_GROUP = "planner"
FINISHED = ("done", "scrapped", "skipped")
STOPPED = (State.HELD, State.STOPPED, State.ABORTED, State.HOLDING, State.STOPPING, State.ABORTING)


def sees_all_work_centers(principal: Principal) -> bool:
    """Planners, admins and operations staff look at every board; an operator at the boards of their groups."""
    return principal.sees_all_tasks or principal.may(OPERATE) or PLANNER_GROUP in principal.groups


def visible_work_centers(session: Session, principal: Principal) -> list[WorkCenter]:
    centers = list(session.scalars(select(WorkCenter).order_by(WorkCenter.code)))
    if sees_all_work_centers(principal):
        return centers
    return [wc for wc in centers if wc.operator_group in principal.groups]


def may_see_work_center(principal: Principal, work_center: WorkCenter) -> bool:
    return sees_all_work_centers(principal) or work_center.operator_group in principal.groups


def count_work_orders(session: Session, *, state: str | None = None, item_code: str | None = None) -> int:
    stmt = work_orders_query(state=state, item_code=item_code).order_by(None)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def item_codes_with_work_orders(session: Session) -> list[str]:
    return list(session.scalars(select(WorkOrder.item_code).distinct().order_by(WorkOrder.item_code)))


def open_tasks_of(session: Session, instance_ids: set[str]) -> dict[str, UserTask]:
    """The operator/quality task each work-order instance waits on (one operation is at hand at a time)."""
    if not instance_ids:
        return {}
    rows = session.scalars(select(UserTask).where(UserTask.instance_id.in_(sorted(instance_ids)),
                                                  UserTask.element_id.in_(OPERATION_TASKS)))
    found = {}
    for row in rows:
        row.candidate_groups  # noqa: B018 - loaded while the session is open (may_work_on reads it)
        found[row.instance_id] = row
    return found


def operations_at_hand(session: Session, work_order_ids: list[int]) -> dict[int, Operation]:
    """Per work order, the operation it is at now (queued, running or awaiting inspection), in one query."""
    if not work_order_ids:
        return {}
    rows = session.scalars(select(Operation).where(Operation.work_order_id.in_(work_order_ids),
                                                   Operation.state.in_(("queued", "running", "confirmed")))
                           .order_by(Operation.seq))
    found: dict[int, Operation] = {}
    for op in rows:
        found.setdefault(op.work_order_id, op)
    return found


def recently_finished(session: Session, work_center: WorkCenter, limit: int = 15) -> list[Operation]:
    """The work center's last finished operations, newest first (the board's "done" column)."""
    return list(session.scalars(
        select(Operation).where(Operation.work_center_id == work_center.id, Operation.state.in_(FINISHED))
        .order_by(Operation.ended_at.desc().nulls_last(), Operation.id.desc()).limit(limit)))


@dataclass
class ConsumedLot:
    component_code: str
    lot_id: int | None
    lot_code: str | None
    quantity: Decimal


def consumed_lots(session: Session, wo: WorkOrder) -> list[ConsumedLot]:
    """What the work order consumed so far, by component and lot (None: an item not tracked by lot)."""
    rows = session.execute(
        select(MaterialRequirement.component_code, MaterialIssue.lot_id, MaterialIssue.lot_code,
               func.sum(MaterialIssue.quantity))
        .join(MaterialRequirement, MaterialRequirement.id == MaterialIssue.requirement_id)
        .where(MaterialIssue.work_order_id == wo.id, MaterialIssue.kind == "consume")
        .group_by(MaterialRequirement.component_code, MaterialIssue.lot_id, MaterialIssue.lot_code)
        .order_by(MaterialRequirement.component_code, MaterialIssue.lot_code))
    return [ConsumedLot(code, lot_id, lot_code, Decimal(str(total))) for code, lot_id, lot_code, total in rows]


@dataclass
class LotHit:
    id: int
    code: str
    item_code: str
    created_at: datetime


def lots_by_code(session: Session, code: str, limit: int = 50) -> list[LotHit]:
    """Lots whose number is `code` (several items may share one), else those whose number contains it."""
    code = code.strip()
    if not code:
        return []
    stmt = select(Lot, Item.code).join(Item, Item.id == Lot.item_id).order_by(Lot.code, Item.code).limit(limit)
    exact = session.execute(stmt.where(func.lower(Lot.code) == code.lower())).all()
    rows = exact or session.execute(stmt.where(func.lower(Lot.code).contains(code.lower()))).all()
    return [LotHit(lot.id, lot.code, item_code, lot.created_at) for lot, item_code in rows]


@dataclass
class MachinePanel:
    """One machine as the live panel shows it."""

    device: Device
    state: State
    job_operation: Operation | None
    downtime: Downtime | None = None  # the machine's open downtime (e-stop, jam, hold, stop)

    @property
    def tone(self) -> str:
        if self.device.online is False:
            return "offline"
        if self.state == State.EXECUTE:
            return "running"
        if self.state in STOPPED:
            return "stopped"
        if self.state in (State.SUSPENDED, State.SUSPENDING, State.UNSUSPENDING):
            return "waiting"
        return "idle"

    @property
    def counting_without_job(self) -> bool:
        """Parts arrive but no job runs: they belong to no operation and stay out of OEE."""
        return self.device.unassigned_since is not None and not self.device.job_operation_id

    @property
    def good(self) -> int:
        return self.device.processed_total - self.device.defective_total

    @property
    def job_count(self) -> int:
        return self.device.processed_total - self.device.job_processed_start


def machine_panels(session: Session, work_centers: list[str]) -> list[MachinePanel]:
    devices = list(session.scalars(select(Device).where(Device.work_center.in_(work_centers))
                                   .order_by(Device.work_center, Device.id)))
    job_ids = {d.id: row_id(d.job_operation_id or "") for d in devices}
    wanted = {i for i in job_ids.values() if i is not None}
    ops = {op.id: op for op in session.scalars(select(Operation).where(Operation.id.in_(wanted)))} if wanted else {}
    down = {row.machine_code: row for row in session.scalars(
        select(Downtime).where(Downtime.machine_code.in_([d.id for d in devices]), Downtime.ended_at.is_(None))
        .order_by(Downtime.id))} if devices else {}
    return [MachinePanel(d, State(d.state), ops.get(job_ids[d.id]), down.get(d.id)) for d in devices]
