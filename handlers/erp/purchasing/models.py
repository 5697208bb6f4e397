"""Requisitions, purchase orders and goods receipts, each with its transitions table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.erp.documents import Stateful

QTY = Numeric(18, 4)
AMOUNT = Numeric(18, 2)


class Requisition(Stateful, Base):
    __tablename__ = "erp_requisition"
    LABEL = "requisition"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("draft", "submit"): "pending_approval",
        ("pending_approval", "approve"): "approved",
        ("pending_approval", "reject"): "rejected",
        ("approved", "order"): "ordered",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_partner.id"))
    requested_by: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20), default="user")  # user | shortage
    sales_order_id: Mapped[int | None] = mapped_column(ForeignKey("erp_sales_order.id"))
    destination_location_id: Mapped[int] = mapped_column(ForeignKey("erp_location.id"))
    estimated_total: Mapped[Decimal] = mapped_column(AMOUNT)
    approval_level: Mapped[str | None] = mapped_column(String(20))
    decision_note: Mapped[str | None] = mapped_column(String(400))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    lines: Mapped[list[RequisitionLine]] = relationship(back_populates="requisition", order_by="RequisitionLine.id",
                                                        cascade="all, delete-orphan")


class RequisitionLine(Base):
    __tablename__ = "erp_requisition_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(ForeignKey("erp_requisition.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"))
    quantity: Mapped[Decimal] = mapped_column(QTY)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    sales_order_line_id: Mapped[int | None] = mapped_column(ForeignKey("erp_sales_order_line.id"))

    requisition: Mapped[Requisition] = relationship(back_populates="lines")


class PurchaseOrder(Stateful, Base):
    __tablename__ = "erp_purchase_order"
    LABEL = "purchase order"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("confirmed", "receive_partially"): "partially_received",
        ("partially_received", "receive_partially"): "partially_received",
        ("confirmed", "receive_fully"): "received",
        ("partially_received", "receive_fully"): "received",
        ("received", "close"): "closed",  # billed and paid
        ("confirmed", "cancel"): "cancelled",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    requisition_id: Mapped[int | None] = mapped_column(ForeignKey("erp_requisition.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_partner.id"), index=True)
    state: Mapped[str] = mapped_column(String(30), default="confirmed", index=True)
    ordered_at: Mapped[datetime]
    destination_location_id: Mapped[int] = mapped_column(ForeignKey("erp_location.id"))
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    lines: Mapped[list[PurchaseOrderLine]] = relationship(back_populates="order", order_by="PurchaseOrderLine.line_no",
                                                          cascade="all, delete-orphan")


class PurchaseOrderLine(Base):
    __tablename__ = "erp_purchase_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("erp_purchase_order.id"), index=True)
    line_no: Mapped[int]
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"))
    quantity: Mapped[Decimal] = mapped_column(QTY)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    received_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal("0"))
    billed_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal("0"))

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")


class Receipt(Stateful, Base):
    __tablename__ = "erp_receipt"
    LABEL = "receipt"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {}  # a receipt is done when it is booked

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("erp_purchase_order.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="done")
    received_at: Mapped[datetime]
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    lines: Mapped[list[ReceiptLine]] = relationship(back_populates="receipt", order_by="ReceiptLine.id",
                                                    cascade="all, delete-orphan")


class ReceiptLine(Base):
    __tablename__ = "erp_receipt_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("erp_receipt.id"), index=True)
    po_line_id: Mapped[int] = mapped_column(ForeignKey("erp_purchase_order_line.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"))
    quantity: Mapped[Decimal] = mapped_column(QTY)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("erp_lot.id"))

    receipt: Mapped[Receipt] = relationship(back_populates="lines")
