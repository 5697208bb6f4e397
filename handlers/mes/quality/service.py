"""In-process inspection: compare the measured value with the operation's limits, record the verdict."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.errors import Conflict
from taktflow.handlers.mes.common import MesError, quantity_of
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.operation.service import step_of
from taktflow.handlers.mes.quality.models import Inspection

DISPOSITIONS = ("accept", "rework", "scrap")


def deviation(value: Decimal, lower: Decimal | None, upper: Decimal | None) -> str:
    if upper is not None and value > upper:
        return "over"
    if lower is not None and value < lower:
        return "under"
    return "none"


def record_inspection(
    session: Session, op: Operation, *, measured: Any, inspector: str | None, key: str, now: datetime,
) -> Inspection:
    existing = session.scalar(select(Inspection).where(Inspection.booking_key == key))
    if existing is not None:
        return existing
    if op.state != "confirmed":
        raise Conflict(f"operation {op.number} is {op.state}: only a confirmed run can be inspected")
    step = step_of(session, op)
    if not step.characteristic:
        raise MesError(f"operation {op.number} has no inspection characteristic")
    try:
        value = quantity_of(abs(Decimal(str(measured))), "measured value") * (-1 if Decimal(str(measured)) < 0 else 1)
    except ArithmeticError:
        raise MesError(f"the measured value must be a number, not {measured!r}") from None
    dev = deviation(value, step.lower_limit, step.upper_limit)
    row = Inspection(operation_id=op.id, work_order_id=op.work_order_id, round=op.rework_count,
                     characteristic=step.characteristic, measured_value=value, lower_limit=step.lower_limit,
                     upper_limit=step.upper_limit, deviation=dev, result="pass" if dev == "none" else "fail",
                     inspector=inspector, inspected_at=now, booking_key=key)
    session.add(row)
    session.flush()
    return row


def latest_inspection(session: Session, op: Operation) -> Inspection | None:
    return session.scalar(select(Inspection).where(Inspection.operation_id == op.id)
                          .order_by(Inspection.id.desc()).limit(1))


def set_disposition(session: Session, op: Operation, disposition: str) -> Inspection:
    if disposition not in DISPOSITIONS:
        raise MesError(f"disposition must be one of {', '.join(DISPOSITIONS)}, not {disposition!r}")
    row = latest_inspection(session, op)
    if row is None:
        raise Conflict(f"operation {op.number} has no inspection to decide on")
    row.disposition = disposition
    return row


def inspections_of(session: Session, *, work_order_id: int) -> list[Inspection]:
    return list(session.scalars(select(Inspection).where(Inspection.work_order_id == work_order_id)
                                .order_by(Inspection.id)))
