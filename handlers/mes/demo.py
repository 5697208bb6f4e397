"""The demo plant: three work centers with one machine each, two finished goods, a multi-level BOM.

Idempotent (called by `taktflow serve --demo` and by tests); needs ERP's seeded items (RM-STEEL, RM-BOLT,
FG-BRACKET, FG-FRAME). Machine ids match the devices slice's demo devices.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.ledger.service import seed_chart
from taktflow.handlers.mes.bom.models import Bom
from taktflow.handlers.mes.bom.service import create_bom
from taktflow.handlers.mes.routing.models import Routing
from taktflow.handlers.mes.routing.service import create_routing
from taktflow.handlers.mes.work_center.models import WorkCenter
from taktflow.handlers.mes.work_center.service import create_work_center

WORK_CENTERS = [("WC-CUT", "Cutting", "60.00", "CUT-01"), ("WC-ASSY", "Assembly", "45.00", "ASSY-01"),
                ("WC-PACK", "Packing", "30.00", "PACK-01")]
BOMS = [
    # A phantom blank: cut from steel at the cutting operation, never stocked (the BOM's middle level).
    ("SA-BLANK", True, [{"component": "RM-STEEL", "quantity": "0.5", "scrap_factor": "0.05"}]),
    ("FG-BRACKET", False, [{"component": "SA-BLANK", "quantity": 1, "scrap_factor": "0.02", "operation_seq": 10},
                           {"component": "RM-BOLT", "quantity": 4, "operation_seq": 20}]),
    ("FG-FRAME", False, [{"component": "FG-BRACKET", "quantity": 2, "operation_seq": 20},
                         {"component": "RM-STEEL", "quantity": 3, "scrap_factor": "0.05", "operation_seq": 10},
                         {"component": "RM-BOLT", "quantity": 8, "operation_seq": 20}]),
]


def _routing(cut_cycle: int, assy_cycle: int) -> list[dict[str, object]]:
    return [
        {"seq": 10, "name": "Cut", "work_center": "WC-CUT", "setup_minutes": 15, "ideal_cycle_seconds": cut_cycle,
         "characteristic": "length_mm", "lower_limit": "99.5", "upper_limit": "100.5"},
        {"seq": 20, "name": "Assemble", "work_center": "WC-ASSY", "setup_minutes": 10,
         "ideal_cycle_seconds": assy_cycle},
        {"seq": 30, "name": "Pack", "work_center": "WC-PACK", "setup_minutes": 5, "ideal_cycle_seconds": 6},
    ]


ROUTINGS = [("FG-BRACKET", "Bracket", _routing(12, 30)), ("FG-FRAME", "Frame", _routing(40, 90))]


def seed_plant(session: Session) -> None:
    seed_chart(session)  # production books to ERP's accounts (WIP, applied conversion, usage variance)
    have = set(session.scalars(select(WorkCenter.code)))
    for code, name, cost, machine in WORK_CENTERS:
        if code not in have:
            create_work_center(session, code=code, name=name, hourly_cost=cost, machines=[machine],
                               area="Plant 1/Fabrication")
    boms = set(session.scalars(select(Bom.item_code)))
    for item_code, phantom, lines in BOMS:
        if item_code not in boms:
            create_bom(session, item_code=item_code, lines=lines, phantom=phantom)
    routings = set(session.scalars(select(Routing.item_code)))
    for item_code, name, operations in ROUTINGS:
        if item_code not in routings:
            create_routing(session, item_code=item_code, name=name, operations=operations)
