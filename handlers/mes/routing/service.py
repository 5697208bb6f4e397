"""Routings: create, read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.errors import NotFound
from taktflow.handlers.mes.common import MesError, quantity_of
from taktflow.handlers.mes.routing.models import Routing, RoutingOperation
from taktflow.handlers.mes.work_center.service import work_center_by_code


def create_routing(session: Session, *, item_code: str, name: str, operations: list[dict[str, Any]]) -> Routing:
    """`operations`: [{"seq": 10, "name": ..., "work_center": "WC-CUT", "setup_minutes": 15,
    "ideal_cycle_seconds": 12, "backflush": True, "characteristic": "length_mm", "lower_limit": .., ...}]."""
    if session.scalar(select(Routing.id).where(Routing.item_code == item_code)) is not None:
        raise MesError(f"item {item_code} has a routing already")
    if not operations:
        raise MesError(f"the routing of {item_code} needs at least one operation")
    seqs = [int(op["seq"]) for op in operations]
    if len(set(seqs)) != len(seqs):
        raise MesError(f"the routing of {item_code} repeats an operation number")
    routing = Routing(item_code=item_code, name=name)
    for op in sorted(operations, key=lambda o: int(o["seq"])):
        try:
            work_center = work_center_by_code(session, op["work_center"])
        except NotFound:
            raise MesError(f"operation {op['seq']}: work center {op['work_center']} does not exist") from None
        cycle = quantity_of(op["ideal_cycle_seconds"], "ideal cycle time")
        if cycle <= 0:
            raise MesError(f"operation {op['seq']} needs a positive ideal cycle time")
        limits = [quantity_of(op[k], k) if op.get(k) is not None else None for k in ("lower_limit", "upper_limit")]
        routing.operations.append(RoutingOperation(
            seq=int(op["seq"]), name=op["name"], work_center_id=work_center.id,
            setup_minutes=quantity_of(op.get("setup_minutes", 0), "setup time"), ideal_cycle_seconds=cycle,
            silence_tolerance=quantity_of(op.get("silence_tolerance", 3), "silence tolerance"),
            backflush=bool(op.get("backflush", True)), characteristic=op.get("characteristic"),
            lower_limit=limits[0], upper_limit=limits[1],
        ))
    session.add(routing)
    session.flush()
    return routing


def get_routing(session: Session, item_code: str) -> Routing:
    routing = session.scalar(select(Routing).where(Routing.item_code == item_code))
    if routing is None:
        raise NotFound(f"item {item_code} has no routing")
    return routing


def list_routings(session: Session) -> list[Routing]:
    return list(session.scalars(select(Routing).order_by(Routing.item_code)))
