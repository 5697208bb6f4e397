"""`make run` shows a live plant: the in-process demo machines feed the real ingest path."""

from __future__ import annotations

from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.packml import State
from taktflow.handlers.devices.simulator import InProcessPlant
from tests.devices.conftest import wait_for


def _device(engine, device_id):
    with engine.db.read() as session:
        return session.get(Device, device_id)


def test_demo_machines_run_and_count_parts(plant):
    machines = InProcessPlant(plant, [("CUT-01", 0.2), ("PACK-01", 0.1)], speed=20.0)
    machines.start()
    try:
        for device_id in ("CUT-01", "PACK-01"):
            wait_for(lambda d=device_id: _device(plant, d).processed_total >= 5, timeout=30,
                     what=f"{device_id} to count five parts")
    finally:
        machines.stop()
    cut = _device(plant, "CUT-01")
    assert cut.online is not False
    assert cut.state in {int(s) for s in State}
    assert cut.defective_total <= cut.processed_total
