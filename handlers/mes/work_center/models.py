"""Work centers (ISA-95 work units) and the machines that run their operations."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base
from taktflow.handlers.mes.common import Money


class WorkCenter(Base):
    __tablename__ = "mes_work_center"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # ISA-95 equipment hierarchy above the work center (Enterprise/Site/Area), as a path.
    area: Mapped[str] = mapped_column(String(200), default="")
    hourly_cost: Mapped[Decimal] = mapped_column(Money)

    machines: Mapped[list[Machine]] = relationship(back_populates="work_center", order_by="Machine.code",
                                                   lazy="selectin")

    @property
    def operator_group(self) -> str:
        """The candidate group whose members see this work center's operator tasks."""
        return f"operator_{self.code}"


class Machine(Base):
    """A device on the shop floor; `code` is the id the device adapters send signals under."""

    __tablename__ = "mes_machine"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    work_center_id: Mapped[int] = mapped_column(ForeignKey("mes_work_center.id"), index=True)

    work_center: Mapped[WorkCenter] = relationship(back_populates="machines")
