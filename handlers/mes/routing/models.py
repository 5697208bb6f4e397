"""Routings: the operations an item passes through, in sequence, each at one work center."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.mes.common import Quantity
from taktflow.handlers.mes.work_center.models import WorkCenter


class Routing(Base):
    __tablename__ = "mes_routing"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    operations: Mapped[list[RoutingOperation]] = relationship(
        back_populates="routing", order_by="RoutingOperation.seq", lazy="selectin", cascade="all, delete-orphan"
    )


class RoutingOperation(Base):
    """An ISA-95 process segment: where, how long to set up, how fast a unit ideally runs, what to inspect."""

    __tablename__ = "mes_routing_operation"

    id: Mapped[int] = mapped_column(primary_key=True)
    routing_id: Mapped[int] = mapped_column(ForeignKey("mes_routing.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    work_center_id: Mapped[int] = mapped_column(ForeignKey("mes_work_center.id"))
    setup_minutes: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    ideal_cycle_seconds: Mapped[Decimal] = mapped_column(Quantity)
    # "Machine silent" when no cycle arrives within this many ideal cycle times.
    silence_tolerance: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(3))
    # Consume the operation's components by BOM when it completes (else as staged or as recorded).
    backflush: Mapped[bool] = mapped_column(Boolean, default=True)
    # In-process inspection of one characteristic, when named.
    characteristic: Mapped[str | None] = mapped_column(String(80))
    lower_limit: Mapped[Decimal | None] = mapped_column(Quantity)
    upper_limit: Mapped[Decimal | None] = mapped_column(Quantity)

    routing: Mapped[Routing] = relationship(back_populates="operations")
    work_center: Mapped[WorkCenter] = relationship(lazy="joined")
