"""Work orders (ISA-95 production requests) and their exploded material requirements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.erp.documents import Stateful
from taktflow.handlers.mes.common import Money, Quantity


class WorkOrder(Stateful, Base):
    __tablename__ = "mes_work_order"
    LABEL = "work order"
    # The one transitions table; `documents.transition` is the only place a work order's state changes.
    TRANSITIONS = {
        ("released", "wait_for_material"): "waiting_material",
        ("waiting_material", "wait_for_material"): "waiting_material",
        ("released", "stage"): "staged",
        ("waiting_material", "stage"): "staged",
        ("staged", "start"): "in_progress",
        ("in_progress", "complete"): "completed",
        ("in_progress", "scrap"): "scrapped",
        ("completed", "close"): "closed",
        ("scrapped", "close"): "closed",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    item_code: Mapped[str] = mapped_column(String(80), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)  # released quantity
    state: Mapped[str] = mapped_column(String(20), index=True, default="released")
    priority: Mapped[int] = mapped_column(Integer, default=50)  # higher first on the dispatch list
    due_date: Mapped[date | None] = mapped_column(Date)
    # Who asked: "planner", or the ERP document (sales order) whose order-to-cash instance waits.
    origin: Mapped[str] = mapped_column(String(80), default="planner")
    origin_instance_id: Mapped[str | None] = mapped_column(String(36))
    # A child work order makes a make-item component its parent ran short of; the parent waits for its receipt.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("mes_work_order.id"), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    request_key: Mapped[str | None] = mapped_column(String(120), unique=True)  # booking key of the request
    good_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    scrap_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    material_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    conversion_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    fg_lot_id: Mapped[int | None] = mapped_column(Integer)
    fg_lot_code: Mapped[str | None] = mapped_column(String(80))
    performance: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the ISA-95 response sent to ERP
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    requirements: Mapped[list[MaterialRequirement]] = relationship(
        back_populates="work_order", order_by="MaterialRequirement.id", lazy="selectin",
        cascade="all, delete-orphan",
    )
    parent: Mapped[WorkOrder | None] = relationship(remote_side="WorkOrder.id", lazy="joined", innerjoin=False)


class MaterialRequirement(Base):
    """One component the work order needs, exploded through phantom BOMs with scrap factors applied."""

    __tablename__ = "mes_material_requirement"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("mes_work_order.id"), index=True)
    component_code: Mapped[str] = mapped_column(String(80))
    operation_seq: Mapped[int] = mapped_column(Integer)
    standard_per_unit: Mapped[Decimal] = mapped_column(Quantity)  # BOM quantity per finished unit
    required_qty: Mapped[Decimal] = mapped_column(Quantity)  # with scrap allowance: what staging issues
    issued_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    consumed_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    returned_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))

    work_order: Mapped[WorkOrder] = relationship(back_populates="requirements")


class MaterialIssue(Base):
    """Material moved from stock into the work order's WIP (or back), by lot, at the lot's value."""

    __tablename__ = "mes_material_issue"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("mes_work_order.id"), index=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("mes_material_requirement.id"))
    kind: Mapped[str] = mapped_column(String(20))  # issue | consume | return
    lot_id: Mapped[int | None] = mapped_column(Integer, index=True)
    lot_code: Mapped[str | None] = mapped_column(String(80))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    operation_id: Mapped[int | None] = mapped_column(Integer)
    erp_ref: Mapped[str | None] = mapped_column(String(120))  # the ERP stock move / journal entry
    at: Mapped[datetime]


class ProcurementRequest(Base):
    """A component shortage handed to ERP's procure-to-pay: which requisition asks for how much, so a
    re-check that still finds the order short asks only for what no requisition covers yet."""

    __tablename__ = "mes_procurement_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("mes_work_order.id"), index=True)
    component_code: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    requisition_id: Mapped[int] = mapped_column(Integer, index=True)  # ERP's erp_requisition.id
    requisition_number: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[str | None] = mapped_column(String(36))  # the procure-to-pay instance
    requested_at: Mapped[datetime]
