"""Demo data for `taktflow serve --demo`: a plant day in progress, booked through the real processes.

ERP master data (accounts, warehouse, partners, items, opening stock), the MES plant and its machines, the
demo people, then open work at every stage a new user should see: a sales order on credit hold, one waiting
to be picked, one delivered and invoiced waiting for its payment, one closed, one for frames the plant has
to make; a requisition waiting for the buyer, a purchase order waiting for its goods; work orders queued on
the shop floor and a finite-capacity schedule of them; maintenance requests.

Idempotent: master data is looked up by code, and the open work is only started on a database that has no
process instance yet, so a second start (or a database with real work in it) adds nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select

from taktflow.bootstrap import Runtime
from taktflow.engine import instances, tasks
from taktflow.engine.core import Engine
from taktflow.engine.errors import EngineError, NotFound
from taktflow.engine.store.models import ProcessInstance, UserTask
from taktflow.handlers.devices.demo import seed_devices
from taktflow.handlers.erp.demo import DemoResult, drive
from taktflow.handlers.erp.purchasing.service import raise_requisition
from taktflow.handlers.erp.sales.service import place_sales_order
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.mes.demo import seed_plant
from taktflow.handlers.mes.scheduling import service as scheduling
from taktflow.handlers.mes.work_order import process as work_order_process
from taktflow.web.auth.demo import seed_users
from taktflow.web.auth.service import create_token

log = logging.getLogger(__name__)

DEMO_REQUESTS = [
    ("MR-1001", {"machine": "CUT-01", "symptom": "spindle vibration above limit"}),
    ("MR-1002", {"machine": "ASSY-01", "symptom": "torque wrench drifts out of tolerance"}),
    ("MR-1003", {"machine": "PACK-01", "symptom": "label applicator misaligned"}),
]
# customer, lines, how far the demo takes the order: the stage its order-to-cash instance waits in
SALES_ORDERS: list[tuple[str, list[dict[str, Any]], str]] = [
    ("C-TINY", [{"itemCode": "MR-GLOVES", "quantity": 100}], "credit hold"),  # 650.00 over a 500.00 limit
    ("C-ACME", [{"itemCode": "MR-GLOVES", "quantity": 40}, {"itemCode": "FG-BRACKET", "quantity": 10}], "to pick"),
    ("C-NORD", [{"itemCode": "MR-GLOVES", "quantity": 30}], "invoiced"),
    ("C-ACME", [{"itemCode": "MR-GLOVES", "quantity": 20}], "closed"),
    ("C-ACME", [{"itemCode": "FG-FRAME", "quantity": 60}], "to make"),  # 50 on hand: a work order for 10
]
# supplier, lines: 5000.00 of steel needs the buyer's approval; 200.00 of bolts is approved by rule
REQUISITIONS: list[tuple[str, list[dict[str, Any]]]] = [
    ("S-STEEL", [{"itemCode": "RM-STEEL", "quantity": 2000}]),
    ("S-PARTS", [{"itemCode": "RM-BOLT", "quantity": 2000}]),
]
WORK_ORDERS = [("FG-BRACKET", 40, 60), ("FG-BRACKET", 25, 50)]  # item, quantity, priority
SCHEDULE_SECONDS = 5  # the demo's few operations solve to optimal well within this


def seed(runtime: Runtime, token: str) -> None:
    engine = runtime.engine
    engine.command(lambda session: create_token(session, "demo-admin", "admin", engine.clock.now(), token=token))
    log.info("demo admin token: %s", token)
    seed_users(engine)  # people for the web pages; passwords in README
    engine.command(lambda session: seed_master_data(session, engine.clock.now()))
    engine.command(seed_plant)  # MES demo plant: work centers, machines, BOMs, routings
    engine.command(seed_devices)  # the plant's machines for the device adapters

    with engine.db.read() as session:
        if session.scalar(select(func.count()).select_from(ProcessInstance)):
            return
    try:
        seed_open_work(engine)
    except NotFound as exc:  # a processes directory without the demo's processes
        log.warning("demo work not started: %s", exc)


def seed_open_work(engine: Engine) -> None:
    """Start the demo's orders, purchases, work orders and requests and take each to its stage."""
    for number, (customer, lines, stage) in enumerate(SALES_ORDERS, start=1):
        _, order, instance_id = place_sales_order(engine, customer=customer, lines=lines, actor="sales",
                                                  customer_reference=f"DEMO-{number}")
        if stage == "invoiced":
            _complete(engine, instance_id, "pick_and_ship", "warehouse")
        elif stage == "closed":
            drive(engine, order, DemoResult())
    for supplier, lines in REQUISITIONS:
        raise_requisition(engine, supplier=supplier, lines=lines, requested_by="planner")
    for item_code, quantity, priority in WORK_ORDERS:
        work_order_process.release(engine, item_code=item_code, quantity=quantity, priority=priority,
                                   actor="planner")
    for business_key, variables in DEMO_REQUESTS:
        instances.start(engine, "maintenance_request", business_key=business_key, variables=variables,
                        actor="maintenance", idempotency_key=business_key)
    try:
        scheduling.plan(engine, time_limit=SCHEDULE_SECONDS, actor="planner")
    except EngineError as exc:  # the plant is usable without a schedule; the planner can ask for one
        log.warning("demo schedule not made: %s", exc)


def _complete(engine: Engine, instance_id: str, element: str, actor: str) -> None:
    with engine.db.read() as session:
        task_id = session.scalar(select(UserTask.id).where(UserTask.instance_id == instance_id,
                                                           UserTask.element_id == element))
    if task_id is None:
        raise NotFound(f"demo: instance {instance_id} has no open {element} task")
    tasks.complete(engine, task_id, {}, actor=actor)

