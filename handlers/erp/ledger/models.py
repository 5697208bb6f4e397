"""Chart of accounts and the journal: every booking is one balanced entry of lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base

AMOUNT = Numeric(18, 2)


class Account(Base):
    __tablename__ = "erp_account"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # asset | liability | equity | income | expense


class JournalEntry(Base):
    __tablename__ = "erp_journal_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The idempotency key: a handler retried under the same key finds its entry instead of booking again.
    booking_key: Mapped[str] = mapped_column(String(200), unique=True)
    posted_at: Mapped[datetime]
    memo: Mapped[str] = mapped_column(String(400))
    document_type: Mapped[str | None] = mapped_column(String(40))
    document_id: Mapped[int | None]
    document_number: Mapped[str | None] = mapped_column(String(40))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_erp_journal_entry_document", "document_type", "document_id"),)

    @property
    def number(self) -> str:
        """Entries are numbered by their id, like the documents (JE-00012)."""
        return f"JE-{self.id:05d}"


class JournalLine(Base):
    __tablename__ = "erp_journal_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("erp_journal_entry.id"), index=True)
    account_code: Mapped[str] = mapped_column(ForeignKey("erp_account.code"), index=True)
    debit: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    partner_id: Mapped[int | None] = mapped_column(index=True)
    item_id: Mapped[int | None]
    label: Mapped[str | None] = mapped_column(String(200))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
