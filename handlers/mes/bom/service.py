"""BOMs: create, read, and explode through phantom levels with scrap allowances."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.errors import NotFound
from taktflow.handlers.mes.bom.models import Bom, BomLine
from taktflow.handlers.mes.common import MesError, qty, quantity_of

MAX_LEVELS = 10  # a BOM that contains itself would explode forever


@dataclass(frozen=True)
class Requirement:
    component_code: str
    operation_seq: int
    standard_per_unit: Decimal  # per finished unit, without scrap allowance
    required_per_unit: Decimal  # per finished unit, with every level's scrap allowance


def create_bom(
    session: Session, *, item_code: str, lines: list[dict[str, Any]], quantity: Any = 1, phantom: bool = False,
) -> Bom:
    """`lines`: [{"component": code, "quantity": q, "scrap_factor": 0.05, "operation_seq": 10}, ...]."""
    if session.scalar(select(Bom.id).where(Bom.item_code == item_code)) is not None:
        raise MesError(f"item {item_code} has a BOM already")
    per = quantity_of(quantity, "BOM quantity")
    if per <= 0 or not lines:
        raise MesError(f"the BOM of {item_code} needs a positive quantity and at least one line")
    bom = Bom(item_code=item_code, quantity=per, phantom=phantom)
    for line in lines:
        scrap = quantity_of(line.get("scrap_factor", 0), "scrap factor")
        if scrap >= 1:
            raise MesError(f"BOM {item_code}: scrap factor of {line['component']} must be below 1 (100 %)")
        amount = quantity_of(line["quantity"], f"quantity of {line['component']}")
        if amount <= 0 or line["component"] == item_code:
            raise MesError(f"BOM {item_code}: component {line['component']} needs a positive quantity "
                           "and must not be the item itself")
        bom.lines.append(BomLine(component_code=line["component"], quantity=amount, scrap_factor=scrap,
                                 operation_seq=int(line.get("operation_seq", 10))))
    session.add(bom)
    session.flush()
    return bom


def bom_of(session: Session, item_code: str) -> Bom | None:
    return session.scalar(select(Bom).where(Bom.item_code == item_code))


def get_bom(session: Session, item_code: str) -> Bom:
    bom = bom_of(session, item_code)
    if bom is None:
        raise NotFound(f"item {item_code} has no BOM")
    return bom


def list_boms(session: Session) -> list[Bom]:
    return list(session.scalars(select(Bom).order_by(Bom.item_code)))


def explode(session: Session, item_code: str) -> list[Requirement]:
    """Components per finished unit, passing through phantom sub-assemblies (multi-level).

    Scrap allowances compound: a sub-assembly with 5 % loss whose component has 2 % loss needs
    1 / 0.95 / 0.98 of the component. Components of a phantom are consumed at the operation that
    consumes the phantom.
    """
    top = get_bom(session, item_code)
    found: dict[tuple[str, int], list[Decimal]] = {}

    def walk(bom: Bom, factor: Decimal, allowance: Decimal, seq: int | None, level: int) -> None:
        if level > MAX_LEVELS:
            raise MesError(f"the BOM of {item_code} is deeper than {MAX_LEVELS} levels (does it contain itself?)")
        for line in bom.lines:
            per_unit = factor * line.quantity / bom.quantity
            with_scrap = allowance * line.quantity / bom.quantity / (1 - line.scrap_factor)
            op_seq = seq if seq is not None else line.operation_seq
            child = bom_of(session, line.component_code)
            if child is not None and child.phantom:
                walk(child, per_unit, with_scrap, op_seq, level + 1)
                continue
            totals = found.setdefault((line.component_code, op_seq), [Decimal(0), Decimal(0)])
            totals[0] += per_unit
            totals[1] += with_scrap

    walk(top, Decimal(1), Decimal(1), None, 1)
    return [Requirement(code, seq, qty(std), qty(req)) for (code, seq), (std, req) in found.items()]
