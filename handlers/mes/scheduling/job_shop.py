"""A job-shop instance (jobs × machines, each operation a machine and minutes) as real master data: one work
center per machine, an item with a BOM and a routing per job, and a released work order per job. Used by the
scheduling benchmark (public instances) and by tests that need a hand-checkable plant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import create_item
from taktflow.handlers.mes.bom.service import create_bom
from taktflow.handlers.mes.routing.service import create_routing
from taktflow.handlers.mes.work_center.models import WorkCenter
from taktflow.handlers.mes.work_center.service import create_work_center
from taktflow.handlers.mes.work_order.models import WorkOrder
from taktflow.handlers.mes.work_order.service import release_work_order


def load_job_shop(
    session: Session, *, prefix: str, jobs: Sequence[Sequence[tuple[str, int]]], now: datetime,
    machines: dict[str, Sequence[str]] | None = None, priorities: Sequence[int] | None = None,
    due_dates: Sequence[date | None] | None = None, setup_minutes: int = 0,
) -> list[WorkOrder]:
    """`jobs[j]` = [(work center code, minutes), ...] in routing order. A work center that does not exist yet is
    created with `machines[code]` (default: one machine `<code>-M1`). Each operation runs one unit for its minutes
    (the ideal cycle time); costs are zero and nothing is backflushed, so no stock or ledger is touched."""
    have = set(session.scalars(select(WorkCenter.code)))
    for code in sorted({wc for job in jobs for wc, _ in job} - have):
        create_work_center(session, code=code, name=code, hourly_cost=0,
                           machines=list((machines or {}).get(code, [f"{code}-M1"])))
    material = f"{prefix}-RM"
    if session.scalar(select(Item.id).where(Item.code == material)) is None:
        create_item(session, code=material, name=material, kind="raw_material", procurement="buy", standard_cost=0)
    orders = []
    for j, job in enumerate(jobs):
        item = f"{prefix}-J{j + 1}"
        create_item(session, code=item, name=item, kind="finished_good", procurement="make", standard_cost=0)
        create_bom(session, item_code=item, lines=[{"component": material, "quantity": 1, "operation_seq": 10}])
        create_routing(session, item_code=item, name=item, operations=[
            {"seq": 10 * (n + 1), "name": f"{wc} {n + 1}", "work_center": wc, "setup_minutes": setup_minutes,
             "ideal_cycle_seconds": minutes * 60, "backflush": False} for n, (wc, minutes) in enumerate(job)])
        orders.append(release_work_order(
            session, item_code=item, quantity=1, now=now, priority=priorities[j] if priorities else 50,
            due_date=due_dates[j] if due_dates else None))
    return orders
