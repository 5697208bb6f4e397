"""Starting the work-order process. ERP's order-to-cash starts it itself (key `work_order`, business key =
sales order number, ProductionRequest variables); a planner releases the order first and starts it here."""

from __future__ import annotations

from datetime import date
from typing import Any

from taktflow.engine import instances
from taktflow.engine.core import Engine
from taktflow.handlers.mes.common import as_number
from taktflow.handlers.mes.work_order.models import WorkOrder
from taktflow.handlers.mes.work_order.service import PROCESS_KEY, release_work_order

PERFORMANCE_MESSAGE = "production_performance"  # thrown at the end; ERP's order-to-cash waits for it


def release(engine: Engine, *, item_code: str, quantity: Any, due_date: date | str | None = None, priority: int = 50,
            actor: str | None = None) -> WorkOrder:
    """A planner releases a work order: one command, the order and its running process or neither."""

    def work(session: Any) -> WorkOrder:
        wo = release_work_order(session, item_code=item_code, quantity=quantity, now=engine.clock.now(),
                                due_date=due_date, priority=priority)
        run = instances.start_in(engine, session, PROCESS_KEY, business_key=wo.number, actor=actor, variables={
            "workOrderNumber": wo.number, "itemCode": wo.item_code, "quantity": as_number(wo.quantity),
            "priority": wo.priority})
        wo.instance_id = run.row.id
        return wo

    return engine.command(work)
