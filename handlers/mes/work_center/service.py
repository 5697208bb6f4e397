"""Work centers and machines: create, read, list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.errors import NotFound
from taktflow.handlers.mes.common import MesError, money
from taktflow.handlers.mes.work_center.models import Machine, WorkCenter


def create_work_center(
    session: Session, *, code: str, name: str, hourly_cost: Any, machines: list[str] | None = None, area: str = "",
) -> WorkCenter:
    code = (code or "").strip()
    if not code or not (name or "").strip():
        raise MesError("a work center needs a code and a name")
    if session.scalar(select(WorkCenter.id).where(WorkCenter.code == code)) is not None:
        raise MesError(f"a work center with code {code} exists already")
    cost = money(hourly_cost)
    if cost < 0:
        raise MesError(f"work center {code}: the hourly cost must not be negative")
    work_center = WorkCenter(code=code, name=name.strip(), area=area, hourly_cost=cost)
    session.add(work_center)
    session.flush()
    for machine in machines or []:
        add_machine(session, work_center, code=machine, name=machine)
    return work_center


def add_machine(session: Session, work_center: WorkCenter, *, code: str, name: str) -> Machine:
    if session.scalar(select(Machine.id).where(Machine.code == code)) is not None:
        raise MesError(f"a machine with code {code} exists already")
    machine = Machine(code=code, name=name, work_center_id=work_center.id)
    session.add(machine)
    session.flush()
    session.refresh(work_center)
    return machine


def work_center_by_code(session: Session, code: str) -> WorkCenter:
    work_center = session.scalar(select(WorkCenter).where(WorkCenter.code == code))
    if work_center is None:
        raise NotFound(f"work center {code} does not exist")
    return work_center


def list_work_centers(session: Session) -> list[WorkCenter]:
    return list(session.scalars(select(WorkCenter).order_by(WorkCenter.code)))


def machine_by_code(session: Session, code: str) -> Machine:
    machine = session.scalar(select(Machine).where(Machine.code == code))
    if machine is None:
        raise NotFound(f"machine {code} does not exist")
    return machine
