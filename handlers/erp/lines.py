"""Order lines as callers send them: {"itemCode" | "itemId", "quantity", "unitPrice"?} → checked values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from taktflow.handlers.erp.documents import dec, fmt, positive_qty, qty
from taktflow.handlers.erp.errors import ErpError, NotFound
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import get_item, item_by_code


@dataclass(frozen=True)
class LineInput:
    item: Item
    quantity: Decimal
    unit_price: Decimal | None


def parse_lines(session: Session, lines: Any, what: str = "order") -> list[LineInput]:
    """Refuses an empty list, unknown items, non-positive quantities and negative prices, naming the line."""
    if not isinstance(lines, list) or not lines:
        raise ErpError(f"an {what} needs at least one line")
    parsed = []
    for number, raw in enumerate(lines, start=1):
        if not isinstance(raw, dict):
            raise ErpError(f"line {number}: must be an object with itemCode and quantity")
        try:
            if raw.get("itemId") is not None:
                item = get_item(session, int(raw["itemId"]))
            elif raw.get("itemCode"):
                item = item_by_code(session, str(raw["itemCode"]))
            else:
                raise ErpError(f"line {number}: name the item (itemCode or itemId)")
        except NotFound as exc:
            raise ErpError(f"line {number}: {exc}") from None
        quantity = positive_qty(raw.get("quantity"), f"line {number}: quantity")
        price = None
        if raw.get("unitPrice") is not None:
            price = dec(raw["unitPrice"], f"line {number}: unit price")
            if price < 0:
                raise ErpError(f"line {number}: unit price must not be negative")
        parsed.append(LineInput(item, quantity, price))
    return parsed


def check_quantities(quantities: Any, limits: dict[str, Decimal], document: str, verb: str) -> dict[str, Decimal]:
    """Validate {itemCode: quantity} of a partial shipment or receipt: each between 0 and its limit."""
    if not isinstance(quantities, dict):
        raise ErpError(f"{verb} quantities must be an object {{itemCode: quantity}}")
    result = {}
    for code, value in quantities.items():
        if code not in limits:
            raise ErpError(f"{code} is not on {document}")
        amount = qty(value, f"{code}: quantity")
        if amount < 0 or amount > limits[code]:
            raise ErpError(f"{code}: {verb} between 0 and {fmt(limits[code])}")
        result[code] = amount
    return result
