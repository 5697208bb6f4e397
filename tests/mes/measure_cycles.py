"""Cost per machine cycle of a long job: one operation of N parts, each part one signal through the devices slice.

    .venv/bin/python -m tests.mes.measure_cycles --parts 5000 [--database URL]

Prints the time of the signal command at part 10, 1 000, ... and N (with the median of the 10 before it) and
the work-order instance's stored state (zlib bytes, JSON bytes, version). Without --database it uses a fresh
SQLite file; give an empty PostgreSQL database to measure there.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import taktflow.handlers  # noqa: F401 - registers ERP, MES and device handlers
from taktflow.engine.clock import FakeClock
from taktflow.engine.core import Engine
from taktflow.engine.handlers import registry
from taktflow.engine.store.db import Database
from taktflow.engine.store.models import InstanceState, ProcessInstance
from taktflow.handlers.devices.service import Signal, ingest, register_device
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.seed import STOCK, seed_master_data
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.mes.demo import WORK_CENTERS, seed_plant
from taktflow.handlers.mes.work_order import process
from taktflow.schema import migrate
from tests.mes.conftest import ERP_MODELS, MES_MODELS, Plant


def _seed(engine: Engine, parts: int) -> None:
    def work(session: Any) -> None:
        now = engine.clock.now()
        seed_master_data(session, now)
        seed_plant(session)
        for work_center, _, _, machine in WORK_CENTERS:
            register_device(session, machine, work_center, ideal_cycle_seconds=10)
        steel, bolt = item_by_code(session, "RM-STEEL"), item_by_code(session, "RM-BOLT")
        lot = stock.create_lot(session, item_id=steel.id, code="HEAT-MEASURE", now=now)
        for item, quantity, lot_id in ((steel, parts * Decimal("0.6"), lot.id), (bolt, parts * 4, None)):
            stock.post_move(session, f"measure:{item.code}", item_id=item.id, quantity=quantity,
                            from_location=stock.OPENING, to_location=STOCK, moved_at=now,
                            lot_id=lot_id, document_type="opening")

    engine.command(work)


def measure(database_url: str, parts: int) -> None:
    database = Database(database_url)
    migrate(database)
    engine = Engine(database, registry=registry, clock=FakeClock())
    _seed(engine, parts)
    plant = Plant(engine)
    plant.deploy(*MES_MODELS, *ERP_MODELS)
    wo = process.release(engine, item_code="FG-BRACKET", quantity=parts)
    plant.complete("start_operation")

    def stored() -> tuple[int, int, int]:
        with database.read() as session:
            blob = session.get(InstanceState, wo.instance_id).state
            return len(blob), len(zlib.decompress(blob)), session.get(ProcessInstance, wo.instance_id).version

    plant.signal("CUT-01", "state", "Execute")
    plant.signal("CUT-01", "processed", 0)  # the baseline reading
    print(f"before the first part: state {stored()} (zlib bytes, JSON bytes, version)")
    times: list[float] = []
    for part in range(1, parts + 1):
        engine.clock.advance(seconds=10)
        started = time.perf_counter()
        [outcome] = ingest(engine, [Signal("CUT-01", "processed", part, engine.clock.now())])
        times.append((time.perf_counter() - started) * 1000)
        if part in (10, parts) or part % 1000 == 0:
            print(f"part {part}: {times[-1]:.1f} ms (median of the last 10: {statistics.median(times[-10:]):.1f} ms),"
                  f" state {stored()}, messages {[(m['name'], m['status']) for m in outcome.messages]}")
    print(f"{parts} parts: median {statistics.median(times):.1f} ms, p99 {sorted(times)[int(parts * 0.99)]:.1f} ms,"
          f" total {sum(times) / 1000:.1f} s; open tasks {plant.open_tasks()}")
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=5000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL of an empty database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure(args.database or f"sqlite:///{Path(tmp) / 'measure.db'}", args.parts)


if __name__ == "__main__":
    main()
