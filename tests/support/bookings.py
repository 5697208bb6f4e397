"""A stand-in ledger for handler tests: one row per booking, unique per booking key."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session

from taktflow.engine.store.db import Database

metadata = MetaData()
booking = Table(
    "test_booking", metadata,
    Column("id", Integer, primary_key=True),
    Column("booking_key", String(100), unique=True, nullable=False),
    Column("amount", Integer),
)


def prepare(db: Database) -> None:
    metadata.create_all(db.engine, checkfirst=True)
    with db.engine.begin() as conn:
        conn.execute(booking.delete())


def book(session: Session, key: str, amount: int | None = None) -> None:
    session.execute(insert(booking).values(booking_key=key, amount=amount))


def count(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(booking)) or 0
