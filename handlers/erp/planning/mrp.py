"""Gross-to-net MRP over multi-level BOMs, as a pure function of its inputs (the service gathers them).

Items are planned level by level (low-level codes: an item is planned after every item that uses it), so the
dependent demand of a parent's planned orders is known before its components are netted. Per item, demands
are served in due-date order from what is available by then: stock on hand (net of reservations), then open
supply (purchase and work orders) in order of arrival, then the item's planned orders. Safety stock is a
demand due on the planning date, so stock below it is replenished first. What is still short becomes a
planned order due when the demand is, released its lead time earlier, sized by the item's lot sizing.
Every planned order records which demands it serves (pegging); open supply that comes too late for a demand
is to expedite, open supply nothing needs is to cancel, and a planned order whose release date has passed
is late.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

ZERO = Decimal(0)
QUANTUM = Decimal("0.0001")  # the quantities' precision in the books


class MrpInputError(ValueError):
    """The planning data cannot be planned (a BOM cycle, an unknown item, a make item without a BOM)."""


@dataclass(frozen=True)
class PlanningItem:
    code: str
    procurement: str  # make | buy
    available: Decimal  # on hand minus reservations
    lead_time_days: int = 0
    safety_stock: Decimal = ZERO
    lot_sizing: str = "lot_for_lot"  # lot_for_lot | fixed
    lot_size: Decimal = ZERO
    min_lot: Decimal = ZERO
    lot_multiple: Decimal = ZERO


@dataclass(frozen=True)
class Component:
    code: str
    per_unit: Decimal  # per parent unit, with the scrap allowance


@dataclass(frozen=True)
class Demand:
    item: str
    quantity: Decimal
    due: date
    ref: str  # what the demand is: SO-00012/1, forecast 2026-12-20, WO-00003, a parent planned order


@dataclass(frozen=True)
class OpenSupply:
    item: str
    quantity: Decimal
    due: date
    ref: str  # PO-00004/1, WO-00002


@dataclass
class Proposal:
    key: int
    ref: str
    kind: str  # make | buy
    item: str
    quantity: Decimal
    release: date
    due: date
    pegging: list[tuple[str, Decimal]] = field(default_factory=list)


@dataclass(frozen=True)
class MrpException:
    kind: str  # late | expedite | cancel
    item: str
    ref: str
    message: str


@dataclass
class Plan:
    proposals: list[Proposal]
    exceptions: list[MrpException]


@dataclass
class _Supply:
    ready: date
    left: Decimal
    ref: str
    proposal: Proposal | None = None
    receipt: OpenSupply | None = None
    used: Decimal = ZERO


def low_level_codes(items: Iterable[str], boms: dict[str, list[Component]]) -> dict[str, int]:
    """0 for items no BOM uses, else one more than the deepest parent; a cycle is refused naming its items."""
    codes: dict[str, int] = {}
    state: dict[str, str] = {}  # visiting | done

    def visit(item: str, level: int, path: list[str]) -> None:
        if state.get(item) == "visiting":
            cycle = path[path.index(item):] + [item]
            raise MrpInputError(f"the BOM of {item} contains itself: {' -> '.join(cycle)}")
        if codes.get(item, -1) >= level and state.get(item) == "done":
            return
        codes[item] = max(codes.get(item, 0), level)
        state[item] = "visiting"
        for component in boms.get(item, []):
            visit(component.code, level + 1, [*path, item])
        state[item] = "done"

    for item in sorted(items):
        visit(item, 0, [])
    return codes


def order_quantity(item: PlanningItem, net: Decimal) -> Decimal:
    """Lot sizing: lot-for-lot orders the net requirement, fixed orders whole fixed lots; then the minimum,
    then rounded up to the multiple."""
    quantity = net
    if item.lot_sizing == "fixed" and item.lot_size > 0:
        quantity = (net / item.lot_size).to_integral_value(ROUND_CEILING) * item.lot_size
    quantity = max(quantity, item.min_lot)
    if item.lot_multiple > 0:
        quantity = (quantity / item.lot_multiple).to_integral_value(ROUND_CEILING) * item.lot_multiple
    return quantity


def plan(
    items: dict[str, PlanningItem], boms: dict[str, list[Component]], demands: Iterable[Demand],
    supply: Iterable[OpenSupply], today: date, name: Callable[[int], str] = lambda key: f"P{key}",
) -> Plan:
    demands, supply = list(demands), list(supply)
    for ref_item, what in [*((d.item, d.ref) for d in demands), *((s.item, s.ref) for s in supply),
                           *((c.code, f"the BOM of {parent}") for parent, cs in boms.items() for c in cs)]:
        if ref_item not in items:
            raise MrpInputError(f"item {ref_item} ({what}) is not an item MRP knows")
    for item in items.values():
        if item.lot_sizing not in ("lot_for_lot", "fixed"):
            raise MrpInputError(f"item {item.code}: lot sizing {item.lot_sizing!r} is not lot_for_lot or fixed")
    levels = low_level_codes(items, boms)
    gross: dict[str, list[Demand]] = defaultdict(list)
    for d in demands:
        gross[d.item].append(d)
    receipts: dict[str, list[OpenSupply]] = defaultdict(list)
    for s in supply:
        receipts[s.item].append(s)
    proposals: list[Proposal] = []
    exceptions: list[MrpException] = []

    for code in sorted(items, key=lambda c: (levels[c], c)):
        item = items[code]
        wanted = sorted(gross[code], key=lambda d: (d.due, d.ref))
        if item.safety_stock > 0:
            wanted.insert(0, Demand(code, item.safety_stock, today, "safety stock"))
        stock = _Supply(date.min, item.available, "on hand")
        open_supply = [_Supply(s.due, s.quantity, s.ref, receipt=s) for s in sorted(receipts[code],
                                                                               key=lambda s: (s.due, s.ref))]
        planned: list[_Supply] = []
        for demand in wanted:
            short = demand.quantity
            ready = [stock, *(s for s in open_supply if s.ready <= demand.due), *planned]
            late = [s for s in open_supply if s.ready > demand.due]
            for source in [*ready, *late]:
                if short <= 0:
                    break
                taken = min(short, source.left)
                if taken <= 0:
                    continue
                source.left -= taken
                source.used += taken
                short -= taken
                if source.proposal is not None:
                    source.proposal.pegging.append((demand.ref, taken))
                if source.receipt is not None and source.ready > demand.due:
                    exceptions.append(MrpException(
                        "expedite", code, source.ref,
                        f"{source.ref} ({code}) is due {source.ready.isoformat()} but {demand.ref} needs it "
                        f"by {demand.due.isoformat()}: expedite it"))
            if short > 0:
                if item.procurement == "make" and not boms.get(code):
                    raise MrpInputError(f"item {code} is made but has no BOM: {demand.ref} needs "
                                        f"{_text(short)} more")
                key = len(proposals) + 1
                quantity = order_quantity(item, short)
                release = demand.due - timedelta(days=item.lead_time_days)
                proposal = Proposal(key, name(key), "make" if item.procurement == "make" else "buy", code,
                                    quantity, release, demand.due, [(demand.ref, short)])
                proposals.append(proposal)
                planned.append(_Supply(demand.due, quantity - short, proposal.ref, proposal=proposal))
                if release < today:
                    exceptions.append(MrpException(
                        "late", code, proposal.ref,
                        f"{proposal.ref}: {_text(quantity)} {code} for {demand.ref} should have been released "
                        f"on {release.isoformat()} (lead time {item.lead_time_days} days): it will be late"))
                for component in boms.get(code, []) if proposal.kind == "make" else []:
                    needed = (quantity * component.per_unit).quantize(QUANTUM, ROUND_CEILING)
                    gross[component.code].append(Demand(component.code, needed, release, proposal.ref))
        for source in open_supply:
            if source.used == 0:
                exceptions.append(MrpException(
                    "cancel", code, source.ref,
                    f"{source.ref}: nothing needs {_text(source.left)} {code} due {source.ready.isoformat()}: "
                    "cancel it (or keep it as stock)"))
    return Plan(proposals, exceptions)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")
