"""Items: what is bought, made and sold."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from taktflow.engine.store.models import Base

KINDS = ("raw_material", "finished_good", "merchandise")
PROCUREMENT = ("make", "buy")


class Item(Base):
    __tablename__ = "erp_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    uom: Mapped[str] = mapped_column(String(20), default="pcs")
    kind: Mapped[str] = mapped_column(String(20))  # raw_material | finished_good | merchandise
    procurement: Mapped[str] = mapped_column(String(10))  # make | buy
    standard_cost: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    sale_price: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal("0"))
    lot_tracked: Mapped[bool] = mapped_column(default=False)
    default_supplier_id: Mapped[int | None]
