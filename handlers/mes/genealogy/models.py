"""Lot genealogy: which consumed lots went into which produced lot, through which work order."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taktflow.engine.store.models import Base
from taktflow.handlers.mes.common import Quantity


class LotLink(Base):
    __tablename__ = "mes_lot_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    output_lot_id: Mapped[int] = mapped_column(Integer, index=True)
    input_lot_id: Mapped[int] = mapped_column(Integer, index=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("mes_work_order.id"), index=True)
    component_code: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
