"""MRP tables: item planning parameters, the forecast, and the runs with their proposals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.erp.documents import Stateful

QUANTITY = Numeric(18, 4)
LOT_SIZING = ("lot_for_lot", "fixed")


class ItemPlanning(Base):
    """How MRP plans one item (Odoo's reordering rule and route, ERPNext's item planning fields)."""

    __tablename__ = "erp_item_planning"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"), unique=True)
    # Purchase lead time for a buy item, manufacturing lead time for a make item, in calendar days.
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    lot_sizing: Mapped[str] = mapped_column(String(20), default="lot_for_lot")  # lot_for_lot | fixed
    lot_size: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))  # the fixed order quantity
    min_lot: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    lot_multiple: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))


class Forecast(Base):
    """Expected demand beyond the booked sales orders, per item and due date."""

    __tablename__ = "erp_forecast"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)


class MrpRun(Stateful, Base):
    """One MRP run: its proposals wait for the planner (mrp_run.bpmn) and are firmed one by one or all at once."""

    __tablename__ = "erp_mrp_run"
    LABEL = "MRP run"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("proposed", "approve"): "approved", ("proposed", "reject"): "rejected"}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="proposed")  # proposed | approved | rejected
    planned_at: Mapped[datetime]
    planning_date: Mapped[date] = mapped_column(Date)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    exceptions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    proposals: Mapped[list[PlannedOrder]] = relationship(back_populates="run", order_by="PlannedOrder.id",
                                                         lazy="selectin", cascade="all, delete-orphan")


class PlannedOrder(Stateful, Base):
    """A make or buy proposal; firming it starts work_order or procure_to_pay."""

    __tablename__ = "erp_mrp_proposal"
    LABEL = "planned order"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("planned", "firm"): "firmed", ("planned", "cancel"): "cancelled"}

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("erp_mrp_run.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # make | buy
    item_code: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    release_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="planned")  # planned | firmed | cancelled
    pegging: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    firmed_instance_id: Mapped[str | None] = mapped_column(String(36))
    firmed_document: Mapped[str | None] = mapped_column(String(40))  # the requisition or work order number

    run: Mapped[MrpRun] = relationship(back_populates="proposals")
