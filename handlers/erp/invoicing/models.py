"""Customer invoices, payments and vendor bills, each with its transitions table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, Date, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.erp.documents import Stateful

AMOUNT = Numeric(18, 2)


class CustomerInvoice(Stateful, Base):
    __tablename__ = "erp_customer_invoice"
    LABEL = "invoice"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("posted", "remind"): "overdue",
        ("overdue", "remind"): "overdue",  # the next dunning level
        ("posted", "pay_partially"): "posted",
        ("overdue", "pay_partially"): "overdue",
        ("posted", "pay"): "paid",
        ("overdue", "pay"): "paid",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("erp_sales_order.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("erp_delivery.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("erp_partner.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="posted", index=True)
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    net_total: Mapped[Decimal] = mapped_column(AMOUNT)
    tax_total: Mapped[Decimal] = mapped_column(AMOUNT)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    paid_amount: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    dunning_level: Mapped[int] = mapped_column(default=0)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    @property
    def open_amount(self) -> Decimal:
        return self.total - self.paid_amount


class Payment(Stateful, Base):
    __tablename__ = "erp_payment"
    LABEL = "payment"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {}  # a payment is posted when it is recorded

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    direction: Mapped[str] = mapped_column(String(10))  # in (from a customer) | out (to a supplier)
    partner_id: Mapped[int] = mapped_column(ForeignKey("erp_partner.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="posted")
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    paid_at: Mapped[datetime]
    reference: Mapped[str | None] = mapped_column(String(100))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("erp_customer_invoice.id"))
    vendor_bill_id: Mapped[int | None] = mapped_column(ForeignKey("erp_vendor_bill.id"))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)


class VendorBill(Stateful, Base):
    __tablename__ = "erp_vendor_bill"
    LABEL = "vendor bill"
    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {
        ("draft", "match"): "matched",
        ("draft", "flag_exception"): "exception",
        ("exception", "accept"): "matched",  # an AP clerk accepted the variance
        ("exception", "reject"): "rejected",
        ("matched", "post"): "posted",
        ("posted", "pay"): "paid",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_partner.id"), index=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("erp_purchase_order.id"), index=True)
    supplier_reference: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    bill_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    match_status: Mapped[str | None] = mapped_column(String(20))  # matched | exception (with the issues)
    match_issues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    resolution_note: Mapped[str | None] = mapped_column(String(400))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    lines: Mapped[list[VendorBillLine]] = relationship(back_populates="bill", order_by="VendorBillLine.id",
                                                       cascade="all, delete-orphan")


class VendorBillLine(Base):
    __tablename__ = "erp_vendor_bill_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("erp_vendor_bill.id"), index=True)
    po_line_id: Mapped[int] = mapped_column(ForeignKey("erp_purchase_order_line.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)

    bill: Mapped[VendorBill] = relationship(back_populates="lines")
