"""MES fixtures: the real handler registry, ERP master data, the demo plant, its machines, and the books
reconciled after every test (ERP's reconciliation plus: WIP of every closed work order is zero)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import taktflow.handlers  # noqa: F401 - registers ERP, MES and device handlers
from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.engine import events, jobs, tasks
from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import ModelFile, deploy
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.handlers import registry as global_registry
from taktflow.engine.store.models import ProcessInstance, UserTask
from taktflow.handlers.devices import watchdog
from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.packml import State
from taktflow.handlers.devices.service import Outcome, Signal, ingest, register_device
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.models import JournalEntry, JournalLine
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.erp.stock.models import StockMove
from taktflow.handlers.mes import books
from taktflow.handlers.mes.demo import WORK_CENTERS, seed_plant
from taktflow.handlers.mes.work_order.models import WorkOrder
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token
from tests.erp.reconcile import reconcile

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
MES_MODELS = ("work_order.bpmn", "quality_disposition.dmn")
ERP_MODELS = ("order_to_cash.bpmn", "procure_to_pay.bpmn", "credit_check.dmn", "requisition_approval.dmn")


@pytest.fixture
def registry() -> HandlerRegistry:
    return global_registry


class Plant:
    """Drives the shop floor the way people and machines do: tasks through the engine, machine signals through
    the devices slice (`ingest`, what every adapter calls), other systems' messages through correlation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def deploy(self, *names: str) -> None:
        files = [ModelFile(n, (PROCESSES / n).read_bytes()) for n in names]
        self.engine.command(lambda s: deploy(s, files, clock=self.engine.clock, serializer=self.engine.serializer))

    def instance(self, instance_id: str) -> ProcessInstance:
        with self.engine.db.read() as session:
            return session.get(ProcessInstance, instance_id)

    def task(self, element: str, instance_id: str | None = None) -> UserTask:
        with self.engine.db.read() as session:
            stmt = select(UserTask).where(UserTask.element_id == element)
            if instance_id:
                stmt = stmt.where(UserTask.instance_id == instance_id)
            found = list(session.scalars(stmt))
            assert len(found) == 1, f"expected one open {element} task, found {[t.element_id for t in found]}"
            found[0].candidate_groups  # noqa: B018 - load while the session is open
            return found[0]

    def open_tasks(self) -> list[str]:
        with self.engine.db.read() as session:
            return sorted(t.element_id for t in session.scalars(select(UserTask)))

    def complete(self, element: str, variables: dict[str, Any] | None = None, actor: str = "op-anna",
                 instance_id: str | None = None) -> None:
        tasks.complete(self.engine, self.task(element, instance_id).id, variables or {}, actor=actor)

    def api(self, role: str = "worker") -> TestClient:
        """The REST API as a client with a token of `role` (the app's own routes, errors and auth)."""
        runtime = Runtime(Settings(database_url=str(self.engine.db.engine.url), processes_dir=PROCESSES),
                          self.engine.db, self.engine)
        token = self.engine.command(lambda s: create_token(s, f"mes-{role}", role, self.engine.clock.now()))
        client = TestClient(create_app(runtime))
        client.headers["Authorization"] = f"Bearer {token}"
        return client

    def machine(self, name: str, work_center: str, **variables: Any) -> list[events.Reached]:
        return events.correlate_message(self.engine, name, correlation_keys={"workCenter": work_center},
                                        variables={"workCenter": work_center, **variables}, actor="device")

    def signal(self, device: str, kind: str, value: Any) -> Outcome:
        [outcome] = ingest(self.engine, [Signal(device, kind, value, self.engine.clock.now())])
        return outcome

    def machine_state(self, device: str, state: str, reason: str | None = None) -> Outcome:
        if reason is not None:
            self.signal(device, "stop_reason", reason)
        return self.signal(device, "state", state)

    def parts(self, device: str, count: int, *, per_signal: int = 1, seconds: float = 10,
              rejects: int = 0) -> list[Outcome]:
        """The machine runs (Execute) and reports `count` parts, `per_signal` at a time, `seconds` apart; the
        first `rejects` of them are rejects. A machine's first counter reading is its baseline."""
        with self.engine.db.read() as session:
            machine = session.get(Device, device)
            state, processed, defective = machine.state, machine.processed_raw, machine.defective_raw
        if state != State.EXECUTE:
            self.signal(device, "state", "Execute")
        if processed is None:
            processed = 0
            self.signal(device, "processed", processed)
        if rejects and defective is None:
            defective = 0
            self.signal(device, "defective", defective)
        outcomes = []
        for start in range(0, count, per_signal):
            step = min(per_signal, count - start)
            self.engine.clock.advance(seconds=seconds)
            scrap = min(step, max(rejects - start, 0))
            if scrap:
                defective += scrap
                self.signal(device, "defective", defective)
            processed += step
            outcomes.append(self.signal(device, "processed", processed))
        return outcomes

    def silence_check(self, after: timedelta) -> list[dict[str, Any]]:
        """The plant clock moves on and the devices watchdog looks for silent machines."""
        self.engine.clock.advance(after)
        return watchdog.check_silence(self.engine)

    def run_operation(self, work_center: str, device: str, quantity: int, good: int, scrap: int = 0,
                      measured: float | None = None) -> None:
        self.complete("start_operation")
        self.parts(device, quantity)
        self.complete("confirm_quantities", {"goodQuantity": good, "scrapQuantity": scrap})
        if measured is not None:
            self.complete("inspect", {"measuredValue": measured}, actor="qa-ben")

    def fire_due_timers(self, after: timedelta) -> int:
        self.engine.clock.advance(after)
        return jobs.run_due_jobs(self.engine, "test-worker")

    def work_order(self, number: str | None = None) -> WorkOrder:
        with self.engine.db.read() as session:
            stmt = select(WorkOrder).order_by(WorkOrder.id.desc())
            if number:
                stmt = stmt.where(WorkOrder.number == number)
            return session.scalars(stmt).first()


@pytest.fixture
def plant(engine: Engine) -> Iterator[Plant]:
    def seed(session: Any) -> None:
        seed_master_data(session, engine.clock.now())
        seed_plant(session)
        for work_center, _, _, machine in WORK_CENTERS:
            register_device(session, machine, work_center, ideal_cycle_seconds=10)

    engine.command(seed)
    p = Plant(engine)
    p.deploy(*MES_MODELS, *ERP_MODELS)  # the shortage path starts procure-to-pay, ERP starts work orders
    yield p
    with engine.db.read() as session:
        reconcile_with_production(session)


def reconcile_with_production(session: Any) -> None:
    """ERP's reconciliation, with WIP read the production way: conversion cost, usage variance and scrap are
    WIP entries without a stock move, so WIP is the value of its stock moves plus those entries; every
    closed work order holds nothing in WIP, and WIP is the sum of the open work orders' WIP."""
    moved = select(StockMove.journal_entry_id).where(StockMove.journal_entry_id.is_not(None))
    without_moves = session.scalar(
        select(func.coalesce(func.sum(JournalLine.debit), 0) - func.coalesce(func.sum(JournalLine.credit), 0))
        .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_code == ledger.WIP, JournalEntry.document_type == books.DOCUMENT,
               JournalEntry.id.not_in(moved)))
    reconcile(session, wip_without_moves=ledger.money(without_moves or 0))
    orders = list(session.scalars(select(WorkOrder)))
    for wo in orders:
        if wo.state == "closed":
            assert books.wip_balance(session, wo) == 0, f"WIP of closed {wo.number} is not zero"
    assert ledger.account_balance(session, ledger.WIP) == sum((books.wip_balance(session, wo) for wo in orders),
                                                              ledger.money(0))
