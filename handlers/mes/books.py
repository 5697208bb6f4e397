"""The MES side of the books: every stock move and journal entry goes through the ERP's services.

Material issue moves stock to the warehouse's WIP location (Dr WIP / Cr Raw materials); consumption moves
it on to the virtual production location (both WIP: no entry); the finished-goods receipt comes from
production into stock (Dr Finished goods / Cr WIP). Conversion cost, usage variance and scrap are plain
journal entries against WIP. Every entry carries the work order as its document, so the WIP balance of
one work order is a sum over its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.models import JournalEntry, JournalLine
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import Location, Lot, StockMove
from taktflow.handlers.mes.common import MesError, money
from taktflow.handlers.mes.work_order.models import WorkOrder

DOCUMENT = "mes_work_order"
# Accounts only production books to (in ERP's chart of accounts, seeded with it).
APPLIED_CONVERSION = ledger.APPLIED_CONVERSION
USAGE_VARIANCE = ledger.USAGE_VARIANCE


@dataclass(frozen=True)
class Plant:
    stock: Location
    wip: Location


def plant(session: Session) -> Plant:
    """The warehouse production draws from and delivers to: the first one (one plant per installation)."""
    warehouses = stock.list_warehouses(session)
    if not warehouses:
        raise MesError("no warehouse exists: the ERP master data must be set up before production")
    code = warehouses[0].code
    return Plant(stock.location_by_code(session, f"{code}/STOCK"), stock.location_by_code(session, f"{code}/WIP"))


def item(session: Session, code: str) -> Item:
    return item_by_code(session, code)


def free(session: Session, item_code: str, location: Location) -> Decimal:
    """What a work order may take: on hand less what reservations hold for deliveries and other documents."""
    return stock.available(session, item_id=item(session, item_code).id, location_id=location.id)


def lots_on_hand(session: Session, item_code: str, location: Location) -> list[tuple[Lot | None, Decimal]]:
    """Lots of an item at a location, oldest first (FIFO picking); one (None, qty) for untracked items."""
    the_item = item(session, item_code)
    if the_item.lot_tracked:
        return list(stock.lots_on_hand(session, item_id=the_item.id, location_id=location.id))
    have = stock.on_hand(session, item_id=the_item.id, location_id=location.id)
    return [(None, have)] if have > 0 else []


def move(
    session: Session, key: str, wo: WorkOrder, item_code: str, quantity: Decimal, source: Location | str,
    target: Location | str, now: datetime, *, lot_id: int | None = None, unit_cost: Decimal | None = None,
) -> StockMove:
    return stock.post_move(
        session, key, item_id=item(session, item_code).id, quantity=quantity, from_location=source,
        to_location=target, moved_at=now, lot_id=lot_id, unit_cost=unit_cost, document_type=DOCUMENT,
        document_id=wo.id, document_number=wo.number, instance_id=wo.instance_id,
    )


def entry(session: Session, key: str, wo: WorkOrder, lines: list[ledger.Line], memo: str, now: datetime) -> None:
    ledger.post_entry(session, key, lines, memo=f"{wo.number}: {memo}", posted_at=now, document_type=DOCUMENT,
                      document_id=wo.id, document_number=wo.number, instance_id=wo.instance_id)


def wip_balance(session: Session, wo: WorkOrder) -> Decimal:
    """What this work order holds in WIP now (debit minus credit of its WIP lines)."""
    stmt = (select(func.coalesce(func.sum(JournalLine.debit), 0) - func.coalesce(func.sum(JournalLine.credit), 0))
            .join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
            .where(JournalLine.account_code == ledger.WIP, JournalEntry.document_type == DOCUMENT,
                   JournalEntry.document_id == wo.id))
    return money(session.scalar(stmt) or 0)


def production_location() -> str:
    return stock.PRODUCTION
