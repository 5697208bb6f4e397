"""Sales orders and deliveries, each with its transitions table."""

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


class SalesOrder(Stateful, Base):
    __tablename__ = "erp_sales_order"
    LABEL = "sales order"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("draft", "hold_credit"): "credit_hold",
        ("draft", "confirm"): "confirmed",
        ("credit_hold", "confirm"): "confirmed",  # a credit controller released the block
        ("credit_hold", "reject"): "rejected",
        ("draft", "cancel"): "cancelled",
        ("confirmed", "cancel"): "cancelled",
        ("confirmed", "deliver_partially"): "partially_delivered",
        ("partially_delivered", "deliver_partially"): "partially_delivered",
        ("confirmed", "deliver_fully"): "delivered",
        ("partially_delivered", "deliver_fully"): "delivered",
        ("delivered", "close"): "closed",  # every invoice paid
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("erp_partner.id"), index=True)
    state: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    ordered_at: Mapped[datetime]
    source_location_id: Mapped[int] = mapped_column(ForeignKey("erp_location.id"))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("0"))
    net_total: Mapped[Decimal] = mapped_column(AMOUNT)
    tax_total: Mapped[Decimal] = mapped_column(AMOUNT)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    customer_reference: Mapped[str | None] = mapped_column(String(100))
    credit_note: Mapped[str | None] = mapped_column(String(400))  # what the credit controller decided, and why
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    lines: Mapped[list[SalesOrderLine]] = relationship(back_populates="order", order_by="SalesOrderLine.line_no",
                                                       cascade="all, delete-orphan")


class SalesOrderLine(Base):
    __tablename__ = "erp_sales_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("erp_sales_order.id"), index=True)
    line_no: Mapped[int]
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"))
    quantity: Mapped[Decimal] = mapped_column(QTY)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    delivered_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal("0"))
    # What was asked of production or purchasing for this line, so a shortage is requested once.
    replenishment_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal("0"))

    order: Mapped[SalesOrder] = relationship(back_populates="lines")

    @property
    def open_qty(self) -> Decimal:
        return self.quantity - self.delivered_qty


class Delivery(Stateful, Base):
    __tablename__ = "erp_delivery"
    LABEL = "delivery"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("ready", "ship"): "done",
        ("ready", "cancel"): "cancelled",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("erp_sales_order.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="ready")
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    is_backorder: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None]
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    lines: Mapped[list[DeliveryLine]] = relationship(back_populates="delivery", order_by="DeliveryLine.id",
                                                     cascade="all, delete-orphan")


class DeliveryLine(Base):
    __tablename__ = "erp_delivery_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("erp_delivery.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("erp_sales_order_line.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"))
    quantity: Mapped[Decimal] = mapped_column(QTY)  # picked (reserved) quantity; shipped may be less
    shipped_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal("0"))
    cost_value: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))

    delivery: Mapped[Delivery] = relationship(back_populates="lines")
