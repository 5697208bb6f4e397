"""In-process inspections: the measured value, the verdict, and what the decision table made of it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taktflow.engine.store.models import Base
from taktflow.handlers.mes.common import Quantity


class Inspection(Base):
    __tablename__ = "mes_inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("mes_operation.id"), index=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("mes_work_order.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)  # 0 = first run, 1.. = after rework
    characteristic: Mapped[str] = mapped_column(String(80))
    measured_value: Mapped[Decimal] = mapped_column(Quantity)
    lower_limit: Mapped[Decimal | None] = mapped_column(Quantity)
    upper_limit: Mapped[Decimal | None] = mapped_column(Quantity)
    deviation: Mapped[str] = mapped_column(String(10))  # none | over | under
    result: Mapped[str] = mapped_column(String(10))  # pass | fail
    disposition: Mapped[str | None] = mapped_column(String(10))  # accept | rework | scrap
    inspector: Mapped[str | None] = mapped_column(String(200))
    inspected_at: Mapped[datetime]
    booking_key: Mapped[str] = mapped_column(String(120), unique=True)
