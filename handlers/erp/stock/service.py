"""Perpetual inventory: every move is a row, on hand is their sum, and a valued move posts its entry now.

The journal entry of a move is derived from where the goods go and come from: the account of the
destination is debited, the account of the source credited (receipt Dr Inventory / Cr GR/IR, material
issue Dr WIP / Cr Raw materials, finished-goods receipt Dr Finished goods / Cr WIP, goods issue
Dr Delivered-not-invoiced / Cr Inventory). A move between two locations of one account posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.orm import Session

from taktflow.handlers.erp.documents import dec, fmt, money, positive_qty, qty
from taktflow.handlers.erp.errors import ErpError, NotFound
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import get_item, inventory_account
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.stock.models import PHYSICAL, USAGES, Location, Lot, Reservation, StockMove, Warehouse

ZERO = Decimal("0")
# The far side of moves that enter or leave the company; created with the first warehouse.
SUPPLIER, CUSTOMER = "VIRTUAL/SUPPLIER", "VIRTUAL/CUSTOMER"
PRODUCTION, OPENING = "VIRTUAL/PRODUCTION", "VIRTUAL/OPENING"
_VIRTUAL = [(SUPPLIER, "Suppliers", "supplier"), (CUSTOMER, "Customers", "customer"),
            (PRODUCTION, "Production (consumed)", "production"),
            (OPENING, "Opening balance / adjustments", "inventory")]
WAREHOUSE_LOCATIONS = [("STOCK", "Stock", "internal"), ("QC", "Quality control", "qc"),
                       ("WIP", "Work in progress", "wip"), ("SCRAP", "Scrap", "scrap")]


# --- warehouses and locations ----------------------------------------------------------------------------


def create_warehouse(session: Session, *, code: str, name: str) -> Warehouse:
    """A warehouse with its stock, QC, WIP and scrap locations (CODE/STOCK, ...)."""
    code, name = (code or "").strip().upper(), (name or "").strip()
    if not code or not name or "/" in code:
        raise ErpError("a warehouse needs a code (without '/') and a name")
    if session.scalar(select(Warehouse.id).where(Warehouse.code == code)) is not None:
        raise ErpError(f"a warehouse with code {code} exists already")
    warehouse = Warehouse(code=code, name=name)
    session.add(warehouse)
    session.flush()
    for suffix, label, usage in WAREHOUSE_LOCATIONS:
        session.add(Location(code=f"{code}/{suffix}", name=f"{name} {label.lower()}", usage=usage,
                             warehouse_id=warehouse.id))
    ensure_virtual_locations(session)
    session.flush()
    return warehouse


def ensure_virtual_locations(session: Session) -> None:
    existing = set(session.scalars(select(Location.code).where(Location.code.in_([c for c, _, _ in _VIRTUAL]))))
    for code, name, usage in _VIRTUAL:
        if code not in existing:
            session.add(Location(code=code, name=name, usage=usage))
    session.flush()


def create_location(session: Session, *, code: str, name: str, usage: str, warehouse_id: int | None = None) -> Location:
    code = (code or "").strip().upper()
    if not code or not (name or "").strip():
        raise ErpError("a location needs a code and a name")
    if usage not in USAGES:
        raise ErpError(f"location usage must be one of {', '.join(USAGES)}")
    if warehouse_id is not None and session.get(Warehouse, warehouse_id) is None:
        raise NotFound(f"warehouse {warehouse_id} does not exist")
    if session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise ErpError(f"a location with code {code} exists already")
    location = Location(code=code, name=name.strip(), usage=usage, warehouse_id=warehouse_id)
    session.add(location)
    session.flush()
    return location


def list_warehouses(session: Session) -> list[Warehouse]:
    return list(session.scalars(select(Warehouse).order_by(Warehouse.code)))


def list_locations(session: Session, *, warehouse_id: int | None = None) -> list[Location]:
    stmt = select(Location).order_by(Location.code)
    if warehouse_id is not None:
        stmt = stmt.where(Location.warehouse_id == warehouse_id)
    return list(session.scalars(stmt))


def location_by_code(session: Session, code: str) -> Location:
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        raise NotFound(f"location {code} does not exist")
    return location


def get_location(session: Session, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound(f"location {location_id} does not exist")
    return location


def _location(session: Session, ref: Location | int | str) -> Location:
    if isinstance(ref, Location):
        return ref
    if isinstance(ref, int):
        return get_location(session, ref)
    return location_by_code(session, ref)


def location_account(location: Location, item: Item) -> str:
    """The ledger account that holds the value of `item` while it is at `location`."""
    return {
        "internal": inventory_account(item), "qc": inventory_account(item), "wip": ledger.WIP,
        "production": ledger.WIP, "scrap": ledger.SCRAP, "supplier": ledger.GRIR,
        "customer": ledger.DELIVERED_NOT_INVOICED, "inventory": ledger.OPENING_BALANCE,
    }[location.usage]


# --- lots ------------------------------------------------------------------------------------------------


def create_lot(session: Session, *, item_id: int, code: str, now: datetime, origin: str | None = None) -> Lot:
    """A lot of an item; creating an existing (item, code) returns that lot (idempotent)."""
    code = (code or "").strip()
    if not code:
        raise ErpError("a lot needs a code")
    item = get_item(session, item_id)
    lot = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.code == code))
    if lot is None:
        lot = Lot(item_id=item.id, code=code, created_at=now, origin=origin)
        session.add(lot)
        session.flush()
    return lot


def get_lot(session: Session, lot_id: int) -> Lot:
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"lot {lot_id} does not exist")
    return lot


def list_lots(session: Session, *, item_id: int | None = None) -> list[Lot]:
    stmt = select(Lot).order_by(Lot.id)
    if item_id is not None:
        stmt = stmt.where(Lot.item_id == item_id)
    return list(session.scalars(stmt))


# --- moves -----------------------------------------------------------------------------------------------


def post_move(
    session: Session, booking_key: str, *, item_id: int, quantity: Any, from_location: Location | int | str,
    to_location: Location | int | str, moved_at: datetime, lot_id: int | None = None, unit_cost: Any = None,
    document_type: str | None = None, document_id: int | None = None, document_number: str | None = None,
    instance_id: str | None = None, extra_lines: list[ledger.Line] | None = None, partner_id: int | None = None,
    memo: str | None = None,
) -> StockMove:
    """Move stock and post its valuation entry in the same session, once per `booking_key`.

    Valued at `unit_cost` (default: the item's standard cost). `extra_lines` join the move's entry (a price
    variance at receipt); the whole entry must balance. Refused: non-positive quantity, equal locations,
    a lot-tracked item without a lot, a lot of another item, or more than is on hand at a physical source.
    """
    existing = session.scalar(select(StockMove).where(StockMove.booking_key == booking_key))
    if existing is not None:
        return existing
    item = get_item(session, item_id)
    amount = positive_qty(quantity)
    source, target = _location(session, from_location), _location(session, to_location)
    if source.id == target.id:
        raise ErpError(f"a move needs two different locations (both are {source.code})")
    lot = None
    if lot_id is not None:
        lot = get_lot(session, lot_id)
        if lot.item_id != item.id:
            raise ErpError(f"lot {lot.code} belongs to another item than {item.code}")
    elif item.lot_tracked:
        raise ErpError(f"item {item.code} is lot-tracked: name the lot of this move")
    if source.usage in PHYSICAL:
        have = on_hand(session, item_id=item.id, location_id=source.id, lot_id=lot.id if lot else None)
        if have < amount:
            raise ErpError(f"only {fmt(have)} {item.uom} of {item.code}"
                           f"{' lot ' + lot.code if lot else ''} at {source.code}, cannot move {fmt(amount)}")
    cost = item.standard_cost if unit_cost is None else dec(unit_cost, "unit cost")
    if cost < 0:
        raise ErpError("unit cost must not be negative")
    value = money(amount * cost)
    move = StockMove(
        booking_key=booking_key, item_id=item.id, lot_id=lot.id if lot else None, from_location_id=source.id,
        to_location_id=target.id, quantity=amount, unit_cost=cost, value=value, moved_at=moved_at,
        document_type=document_type, document_id=document_id, document_number=document_number,
        instance_id=instance_id,
    )
    session.add(move)
    debit_account, credit_account = location_account(target, item), location_account(source, item)
    lines = list(extra_lines or [])
    if debit_account != credit_account and value:
        label = f"{fmt(amount)} {item.uom} {item.code} {source.code} -> {target.code}"
        lines = [ledger.dr(debit_account, value, item_id=item.id, partner_id=partner_id, label=label),
                 ledger.cr(credit_account, value, item_id=item.id, partner_id=partner_id, label=label), *lines]
    if lines:
        entry = ledger.post_entry(
            session, f"move:{booking_key}", lines, posted_at=moved_at,
            memo=memo or f"{document_number or 'stock move'}: {item.code} {source.code} -> {target.code}",
            document_type=document_type, document_id=document_id, document_number=document_number,
            instance_id=instance_id,
        )
        move.journal_entry_id = entry.id
    session.flush()
    return move


def moves_query(
    *, item_id: int | None = None, location_id: int | None = None, lot_id: int | None = None,
    document_type: str | None = None, document_id: int | None = None, instance_id: str | None = None,
) -> Select[tuple[StockMove]]:
    stmt = select(StockMove)
    if item_id is not None:
        stmt = stmt.where(StockMove.item_id == item_id)
    if location_id is not None:
        stmt = stmt.where((StockMove.from_location_id == location_id) | (StockMove.to_location_id == location_id))
    if lot_id is not None:
        stmt = stmt.where(StockMove.lot_id == lot_id)
    if document_type:
        stmt = stmt.where(StockMove.document_type == document_type)
    if document_id is not None:
        stmt = stmt.where(StockMove.document_id == document_id)
    if instance_id:
        stmt = stmt.where(StockMove.instance_id == instance_id)
    return stmt.order_by(StockMove.id)


def list_moves(session: Session, *, limit: int = 100, offset: int = 0, **filters: Any) -> list[StockMove]:
    return list(session.scalars(moves_query(**filters).limit(limit).offset(offset)))


# --- on hand and reservations --------------------------------------------------------------------------


def _signed_moves() -> Any:
    incoming = select(StockMove.item_id, StockMove.to_location_id.label("location_id"), StockMove.lot_id,
                      StockMove.quantity.label("qty"))
    outgoing = select(StockMove.item_id, StockMove.from_location_id.label("location_id"), StockMove.lot_id,
                      (literal(0) - StockMove.quantity).label("qty"))
    return union_all(incoming, outgoing).subquery("signed")


def on_hand(
    session: Session, *, item_id: int, location_id: int | None = None, lot_id: int | None = None,
) -> Decimal:
    """Quantity of an item at a location (default: all physical locations), optionally of one lot."""
    signed = _signed_moves()
    stmt = select(func.coalesce(func.sum(signed.c.qty), 0)).where(signed.c.item_id == item_id)
    if location_id is not None:
        stmt = stmt.where(signed.c.location_id == location_id)
    else:
        stmt = stmt.where(signed.c.location_id.in_(select(Location.id).where(Location.usage.in_(PHYSICAL))))
    if lot_id is not None:
        stmt = stmt.where(signed.c.lot_id == lot_id)
    return qty(session.scalar(stmt) or 0)


def reserved(session: Session, *, item_id: int, location_id: int) -> Decimal:
    return qty(session.scalar(
        select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
            Reservation.item_id == item_id, Reservation.location_id == location_id, Reservation.state == "active")
    ) or 0)


def available(session: Session, *, item_id: int, location_id: int) -> Decimal:
    """On hand minus what active reservations hold."""
    return on_hand(session, item_id=item_id, location_id=location_id) - reserved(
        session, item_id=item_id, location_id=location_id)


def reserve(
    session: Session, booking_key: str, *, item_id: int, location_id: int, quantity: Any, now: datetime,
    document_type: str | None = None, document_id: int | None = None, document_line_id: int | None = None,
    partial: bool = False,
) -> Reservation | None:
    """Reserve stock for a document line, once per key. `partial`: take what is available (None if nothing)."""
    existing = session.scalar(select(Reservation).where(Reservation.booking_key == booking_key))
    if existing is not None:
        return existing
    wanted = positive_qty(quantity)
    free = available(session, item_id=item_id, location_id=location_id)
    if free < wanted and not partial:
        raise ErpError(f"only {fmt(free)} available, cannot reserve {fmt(wanted)}")
    amount = min(free, wanted)
    if amount <= 0:
        return None
    row = Reservation(booking_key=booking_key, item_id=item_id, location_id=location_id, quantity=amount,
                      state="active", document_type=document_type, document_id=document_id,
                      document_line_id=document_line_id, created_at=now)
    session.add(row)
    session.flush()
    return row


def reservations_of(session: Session, *, document_type: str, document_id: int, line_id: int | None = None,
                    state: str | None = "active") -> list[Reservation]:
    stmt = select(Reservation).where(Reservation.document_type == document_type, Reservation.document_id == document_id)
    if line_id is not None:
        stmt = stmt.where(Reservation.document_line_id == line_id)
    if state is not None:
        stmt = stmt.where(Reservation.state == state)
    return list(session.scalars(stmt.order_by(Reservation.id)))


def consume_reservation(session: Session, reservation: Reservation, quantity: Decimal) -> None:
    """A delivery took `quantity` of what was reserved: the rest stays reserved."""
    if quantity >= reservation.quantity:
        reservation.state = "consumed"
    else:
        reservation.quantity = reservation.quantity - quantity
    session.flush()


def release_reservations(session: Session, *, document_type: str, document_id: int) -> int:
    rows = reservations_of(session, document_type=document_type, document_id=document_id)
    for row in rows:
        row.state = "released"
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class StockLevel:
    item_id: int
    item_code: str
    location_id: int
    location_code: str
    lot_id: int | None
    lot_code: str | None
    quantity: Decimal
    reserved: Decimal


def stock_levels(
    session: Session, *, item_id: int | None = None, location_id: int | None = None, include_zero: bool = False,
) -> list[StockLevel]:
    """On hand per item, physical location and lot, with what is reserved there (per item and location)."""
    signed = _signed_moves()
    stmt = (select(signed.c.item_id, signed.c.location_id, signed.c.lot_id, func.sum(signed.c.qty))
            .where(signed.c.location_id.in_(select(Location.id).where(Location.usage.in_(PHYSICAL))))
            .group_by(signed.c.item_id, signed.c.location_id, signed.c.lot_id))
    if item_id is not None:
        stmt = stmt.where(signed.c.item_id == item_id)
    if location_id is not None:
        stmt = stmt.where(signed.c.location_id == location_id)
    rows = [(i, loc, lot, qty(q or 0)) for i, loc, lot, q in session.execute(stmt)]
    items = {i.id: i.code for i in session.scalars(select(Item).where(Item.id.in_({r[0] for r in rows})))}
    locations = {x.id: x.code for x in session.scalars(select(Location).where(Location.id.in_({r[1] for r in rows})))}
    lots = {x.id: x.code for x in session.scalars(select(Lot).where(Lot.id.in_({r[2] for r in rows if r[2]})))}
    holds: dict[tuple[int, int], Decimal] = {
        (i, loc): qty(q or 0) for i, loc, q in session.execute(
            select(Reservation.item_id, Reservation.location_id, func.sum(Reservation.quantity))
            .where(Reservation.state == "active").group_by(Reservation.item_id, Reservation.location_id))
    }
    seen: set[tuple[int, int]] = set()
    levels = []
    for i, loc, lot, q in sorted(rows, key=lambda r: (items[r[0]], locations[r[1]], r[2] or 0)):
        if q == 0 and not include_zero:
            continue
        # A reservation holds item and location, not a lot: shown once, on the first lot row.
        held = holds.get((i, loc), ZERO) if (i, loc) not in seen else ZERO
        seen.add((i, loc))
        levels.append(StockLevel(i, items[i], loc, locations[loc], lot, lots.get(lot) if lot else None, q, held))
    return levels


def fifo_lots(session: Session, *, item_id: int, location_id: int, quantity: Decimal
              ) -> tuple[list[tuple[Lot, Decimal]], Decimal]:
    """Which lots to take `quantity` from, oldest first, and what the lots do not cover (0 when they do)."""
    picks, remaining = [], quantity
    for lot, have in lots_on_hand(session, item_id=item_id, location_id=location_id):
        if remaining <= 0:
            break
        take = min(have, remaining)
        picks.append((lot, take))
        remaining -= take
    return picks, max(remaining, ZERO)


def lots_on_hand(session: Session, *, item_id: int, location_id: int) -> list[tuple[Lot, Decimal]]:
    """Lots of an item at a location with positive quantity, oldest first (FIFO picking)."""
    signed = _signed_moves()
    stmt = (select(signed.c.lot_id, func.sum(signed.c.qty)).where(
        signed.c.item_id == item_id, signed.c.location_id == location_id, signed.c.lot_id.is_not(None))
        .group_by(signed.c.lot_id))
    quantities = {lot_id: qty(q or 0) for lot_id, q in session.execute(stmt)}
    lots = session.scalars(select(Lot).where(Lot.id.in_([k for k, v in quantities.items() if v > 0])).order_by(
        Lot.created_at, Lot.id))
    return [(lot, quantities[lot.id]) for lot in lots]
