"""`taktflow serve --demo` seeds a plant day in progress through the real processes: master data, sales orders
and purchases at their stages, work orders on the floor with a schedule, maintenance requests; a second
start adds nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

import taktflow.handlers  # noqa: F401 - registers the ERP, MES and device handlers
from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.demo import seed
from taktflow.engine.core import Engine
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.handlers import registry as global_registry
from taktflow.engine.store.models import Incident, ProcessInstance, UserTask
from taktflow.handlers.erp.invoicing.models import CustomerInvoice
from taktflow.handlers.erp.ledger.service import trial_balance
from taktflow.handlers.erp.purchasing.models import PurchaseOrder, Requisition
from taktflow.handlers.erp.sales.models import SalesOrder
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.scheduling.models import PlannedOperation, Schedule
from taktflow.handlers.mes.work_order.models import WorkOrder
from taktflow.web.auth.models import UserAccount
from tests.support.server import REPO


@pytest.fixture
def registry() -> HandlerRegistry:
    return global_registry  # the real ERP and MES handlers the demo's processes call


@pytest.fixture
def runtime(engine: Engine, database_url: str) -> Runtime:
    runtime = Runtime(Settings(database_url=database_url, processes_dir=REPO / "processes"), engine.db, engine)
    runtime.deploy_processes()
    return runtime


def _open_tasks(session: Any, instance_ids: list[str]) -> list[str]:
    return sorted(session.scalars(select(UserTask.element_id).where(UserTask.instance_id.in_(instance_ids))))


def _counts(session: Any) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (UserAccount, SalesOrder, Requisition, PurchaseOrder, WorkOrder, ProcessInstance,
                          UserTask, Schedule, CustomerInvoice)}


def test_the_demo_is_a_plant_day_in_progress_and_a_second_start_adds_nothing(runtime: Runtime):
    engine = runtime.engine
    seed(runtime, "tf_demo_admin")
    with engine.db.read() as session:
        orders = {o.customer_reference: o for o in session.scalars(select(SalesOrder))}
        assert {ref: o.state for ref, o in orders.items()} == {
            "DEMO-1": "credit_hold", "DEMO-2": "confirmed", "DEMO-3": "delivered", "DEMO-4": "closed",
            "DEMO-5": "confirmed"}
        # Each order waits where a person picks it up: credit control, the warehouse, the customer's payment.
        assert _open_tasks(session, [orders["DEMO-1"].instance_id]) == ["review_credit"]
        assert _open_tasks(session, [orders["DEMO-2"].instance_id]) == ["pick_and_ship"]
        billed = session.scalars(select(CustomerInvoice).where(CustomerInvoice.order_id == orders["DEMO-3"].id)).all()
        assert [(i.state, i.open_amount > 0) for i in billed] == [("posted", True)]
        assert "await_payment" in session.get(ProcessInstance, orders["DEMO-3"].instance_id).active_elements
        assert session.get(ProcessInstance, orders["DEMO-4"].instance_id).state == "completed"
        # The frames order ships the 50 on hand and has the plant make the other 10.
        made = session.scalars(select(WorkOrder).where(WorkOrder.origin == orders["DEMO-5"].number)).one()
        assert (made.item_code, made.quantity) == ("FG-FRAME", 10)

        requisitions = sorted(r.state for r in session.scalars(select(Requisition)))
        assert requisitions == ["ordered", "pending_approval"]
        [po] = session.scalars(select(PurchaseOrder)).all()
        assert (po.state, _open_tasks(session, [po.instance_id])) == ("confirmed", ["receive_goods"])

        # Work on the floor: every work order in progress, its first operation startable, all of them scheduled.
        work_orders = session.scalars(select(WorkOrder)).all()
        assert sorted((w.item_code, int(w.quantity)) for w in work_orders) == [
            ("FG-BRACKET", 25), ("FG-BRACKET", 40), ("FG-FRAME", 10)]
        assert {w.state for w in work_orders} == {"in_progress"}
        assert _open_tasks(session, [w.instance_id for w in work_orders]) == ["start_operation"] * 3
        operations = session.scalar(select(func.count()).select_from(Operation)) or 0
        schedule = session.scalars(select(Schedule)).one()
        planned = session.scalar(select(func.count()).select_from(PlannedOperation).where(
            PlannedOperation.schedule_id == schedule.id))
        assert operations == 9 and planned == operations and schedule.makespan_minutes > 0

        requests = session.scalars(select(ProcessInstance).where(ProcessInstance.process_key == "maintenance_request"))
        assert sorted(r.business_key for r in requests) == ["MR-1001", "MR-1002", "MR-1003"]
        assert session.scalars(select(Incident)).all() == []
        rows = trial_balance(session)
        assert sum(r.debit for r in rows) == sum(r.credit for r in rows) > 0
        before = _counts(session)

    seed(runtime, "tf_demo_admin")  # `make run` again on the same database
    with engine.db.read() as session:
        assert _counts(session) == before
