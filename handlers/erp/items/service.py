"""Items: create, read, list; which inventory account values an item."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.documents import dec, money
from taktflow.handlers.erp.errors import ErpError, NotFound
from taktflow.handlers.erp.items.models import KINDS, PROCUREMENT, Item
from taktflow.handlers.erp.ledger import service as ledger

_INVENTORY_ACCOUNT = {
    "raw_material": ledger.RAW_MATERIALS,
    "finished_good": ledger.FINISHED_GOODS,
    "merchandise": ledger.INVENTORY,
}


def create_item(
    session: Session, *, code: str, name: str, kind: str, procurement: str, standard_cost: Any,
    sale_price: Any = 0, uom: str = "pcs", lot_tracked: bool = False, default_supplier_id: int | None = None,
) -> Item:
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise ErpError("an item needs a code and a name")
    if kind not in KINDS:
        raise ErpError(f"item {code}: kind must be one of {', '.join(KINDS)}")
    if procurement not in PROCUREMENT:
        raise ErpError(f"item {code}: procurement must be make or buy")
    cost = dec(standard_cost, "standard cost")
    if cost < 0 or money(sale_price) < 0:
        raise ErpError(f"item {code}: cost and price must not be negative")
    if session.scalar(select(Item.id).where(Item.code == code)) is not None:
        raise ErpError(f"an item with code {code} exists already")
    item = Item(code=code, name=name, kind=kind, procurement=procurement, standard_cost=cost,
                sale_price=money(sale_price), uom=uom, lot_tracked=lot_tracked,
                default_supplier_id=default_supplier_id)
    session.add(item)
    session.flush()
    return item


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} does not exist")
    return item


def item_by_code(session: Session, code: str) -> Item:
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        raise NotFound(f"item {code} does not exist")
    return item


def list_items(session: Session) -> list[Item]:
    return list(session.scalars(select(Item).order_by(Item.code)))


def inventory_account(item: Item) -> str:
    """The balance-sheet account that holds this item's stock value."""
    return _INVENTORY_ACCOUNT[item.kind]
