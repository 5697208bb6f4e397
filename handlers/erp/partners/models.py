"""Customers and suppliers."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from taktflow.engine.store.models import Base


class Partner(Base):
    __tablename__ = "erp_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_customer: Mapped[bool] = mapped_column(default=False)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    credit_limit: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal("0"))
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    email: Mapped[str | None] = mapped_column(String(200))
