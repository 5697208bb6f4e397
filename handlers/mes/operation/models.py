"""Operations of a work order at their work centers, and what happened while they ran."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.erp.documents import Stateful
from taktflow.handlers.mes.common import Money, Quantity
from taktflow.handlers.mes.work_center.models import WorkCenter
from taktflow.handlers.mes.work_order.models import WorkOrder


class Operation(Stateful, Base):
    __tablename__ = "mes_operation"
    LABEL = "operation"
    # planned: predecessor not done yet; queued: on the work center's dispatch list, may be started;
    # running: machine cycles arrive; confirmed: good/scrap entered, waiting for inspection; done.
    TRANSITIONS = {
        ("planned", "dispatch"): "queued",
        ("planned", "skip"): "skipped",
        ("queued", "start"): "running",
        ("running", "confirm"): "confirmed",
        ("confirmed", "accept"): "done",
        ("confirmed", "rework"): "queued",
        ("confirmed", "scrap"): "scrapped",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("mes_work_order.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    work_center_id: Mapped[int] = mapped_column(ForeignKey("mes_work_center.id"), index=True)
    routing_operation_id: Mapped[int] = mapped_column(ForeignKey("mes_routing_operation.id"))
    state: Mapped[str] = mapped_column(String(20), index=True, default="planned")
    priority: Mapped[int] = mapped_column(Integer, default=50)
    input_qty: Mapped[Decimal] = mapped_column(Quantity)  # what this operation was released for
    good_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    scrap_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    machine_count: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))  # units the machine reported
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    machine_code: Mapped[str | None] = mapped_column(String(80), index=True)
    operator: Mapped[str | None] = mapped_column(String(200))
    run_seconds: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))  # start → confirm, all rounds
    conversion_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    last_cycle_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    work_center: Mapped[WorkCenter] = relationship(lazy="joined")
    work_order: Mapped[WorkOrder] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return f"{self.work_order.number}/{self.seq}"


class Downtime(Base):
    """A machine stop (PackML Held / Stopped / Aborted, or offline) with its reason and category; the
    operation it interrupted, when one ran (a machine stops with or without a job)."""

    __tablename__ = "mes_downtime"
    CATEGORIES = ("e-stop", "jam", "held", "stopped", "offline")

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int | None] = mapped_column(ForeignKey("mes_operation.id"), index=True)
    machine_code: Mapped[str] = mapped_column(String(80), index=True)
    packml_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(20))  # one of CATEGORIES
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Alert(Base):
    """Something the shop floor must look at (andon), e.g. a machine that went silent mid-operation."""

    __tablename__ = "mes_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("mes_operation.id"), index=True)
    machine_code: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))  # machine_silent
    message: Mapped[str] = mapped_column(String(500))
    raised_at: Mapped[datetime]
    booking_key: Mapped[str] = mapped_column(String(120), unique=True)
