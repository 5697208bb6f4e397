"""Bills of materials: what one unit of an item is made of, with the expected scrap per component."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.mes.common import Quantity


class Bom(Base):
    __tablename__ = "mes_bom"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(String(80), unique=True)  # ERP item (ISA-95 MaterialDefinitionID)
    # The output quantity the lines are written for (a BOM for 10 brackets, say).
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(1))
    # A phantom (kit) BOM is never built on its own: explosion passes through it to its components.
    phantom: Mapped[bool] = mapped_column(Boolean, default=False)

    lines: Mapped[list[BomLine]] = relationship(back_populates="bom", order_by="BomLine.id", lazy="selectin",
                                                cascade="all, delete-orphan")


class BomLine(Base):
    __tablename__ = "mes_bom_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    bom_id: Mapped[int] = mapped_column(ForeignKey("mes_bom.id"), index=True)
    component_code: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    # Expected loss as a fraction (0.05 = 5 %): required quantity = quantity / (1 - scrap_factor).
    scrap_factor: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    # The routing operation (its sequence number) that consumes the component.
    operation_seq: Mapped[int] = mapped_column(Integer, default=10)

    bom: Mapped[Bom] = relationship(back_populates="lines")
