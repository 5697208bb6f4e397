"""Warehouses, locations, lots, stock moves and reservations. On hand is the sum of moves."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from taktflow.engine.store.models import Base

QUANTITY = Numeric(18, 4)

# Where goods can be. Physical usages hold stock; the others are the far side of a move
# (received from a supplier, shipped to a customer, consumed by production, opening balance).
PHYSICAL = ("internal", "qc", "wip", "scrap")
VIRTUAL = ("supplier", "customer", "production", "inventory")
USAGES = PHYSICAL + VIRTUAL


class Warehouse(Base):
    __tablename__ = "erp_warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Location(Base):
    __tablename__ = "erp_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)  # WH1/STOCK, WH1/QC, VIRTUAL/CUSTOMER
    name: Mapped[str] = mapped_column(String(200))
    usage: Mapped[str] = mapped_column(String(20))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("erp_warehouse.id"))


class Lot(Base):
    __tablename__ = "erp_lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"), index=True)
    created_at: Mapped[datetime]
    origin: Mapped[str | None] = mapped_column(String(100))  # the document that made or received it

    __table_args__ = (Index("uq_erp_lot_item_code", "item_id", "code", unique=True),)


class StockMove(Base):
    __tablename__ = "erp_stock_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("erp_lot.id"), index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("erp_location.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(ForeignKey("erp_location.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    moved_at: Mapped[datetime]
    document_type: Mapped[str | None] = mapped_column(String(40))
    document_id: Mapped[int | None]
    document_number: Mapped[str | None] = mapped_column(String(40))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("erp_journal_entry.id"))


class Reservation(Base):
    __tablename__ = "erp_reservation"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("erp_item.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("erp_location.id"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | released | consumed
    document_type: Mapped[str | None] = mapped_column(String(40))
    document_id: Mapped[int | None]
    document_line_id: Mapped[int | None]
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_erp_reservation_document", "document_type", "document_id"),)
