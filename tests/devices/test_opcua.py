"""OPC UA with a real asyncua server: subscriptions to PackML tags move waiting operations; reconnects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from taktflow.handlers.devices.adapters.opcua import OpcUaAdapter
from taktflow.handlers.devices.models import Device, DeviceAnomaly
from taktflow.handlers.devices.packml import State
from taktflow.handlers.devices.simulator import DESIGN_SPEED, PROCESSED, STATE, STOP_REASON, OpcUaMachines
from tests.devices.conftest import instance, start_operation, wait_for
from tests.support.server import free_port

DEVICES = ["PACK-01", "ASSY-01"]


class Plc:
    """The module's simulated PLC (one asyncua server, ~2 s to start), restartable on the same port."""

    def __init__(self, loop_thread) -> None:
        self.loop_thread = loop_thread
        self.endpoint = f"opc.tcp://127.0.0.1:{free_port()}/taktflow/"
        self.server: OpcUaMachines | None = None
        self.counts = dict.fromkeys(DEVICES, 0)

    def start(self) -> None:
        self.server = OpcUaMachines(self.endpoint, DEVICES)
        self.loop_thread.run(self.server.start())
        self.counts = dict.fromkeys(DEVICES, 0)  # a restarted PLC starts its counters at 0

    def stop(self) -> None:
        self.loop_thread.run(self.server.stop())

    def write(self, device: str, *tags) -> None:
        self.loop_thread.run(self.server.write(device, list(tags)))

    def cycle(self, device: str) -> None:
        self.counts[device] += 1
        self.write(device, (PROCESSED, self.counts[device]))


@pytest.fixture(scope="module")
def plc(loop_thread):
    server = Plc(loop_thread)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def opcua(plant, plc, loop_thread):
    with plant.db.write() as session:
        for device_id in DEVICES:
            session.get(Device, device_id).opcua_endpoint = plc.endpoint
    plc.write("PACK-01", (STATE, int(State.IDLE)))
    adapter = OpcUaAdapter(plant, publishing_ms=20, max_backoff=1.0)
    running = loop_thread.spawn(adapter.run())
    wait_for(lambda: plc.endpoint in adapter.connected and adapter.connected[plc.endpoint].is_set(),
             what="the OPC UA subscription")
    yield adapter
    loop_thread.loop.call_soon_threadsafe(adapter.stop)
    running.result(10)


def device(engine, device_id="PACK-01"):
    with engine.db.read() as session:
        return session.get(Device, device_id)


def anomaly(engine, kind):
    with engine.db.read() as session:
        return session.scalar(select(DeviceAnomaly).where(DeviceAnomaly.kind == kind))


def test_opcua_tags_move_a_waiting_operation(plant, plc, opcua):
    op = start_operation(plant, "WC-PACK", "OP-UA", quantity=2)
    wait_for(lambda: device(plant).processed_raw == plc.counts["PACK-01"], what="the initial counter reading")
    plc.write("PACK-01", (DESIGN_SPEED, 30.0), (STATE, int(State.STARTING)))
    plc.write("PACK-01", (STATE, int(State.EXECUTE)))
    wait_for(lambda: device(plant).state == State.EXECUTE, what="Execute")
    plc.cycle("PACK-01")
    wait_for(lambda: instance(plant, op).active_elements == ["run"], what="the first cycle")
    plc.cycle("PACK-01")
    plc.cycle("PACK-01")
    wait_for(lambda: instance(plant, op).state == "completed", what="the quantity")
    assert device(plant).ideal_cycle_seconds == 2.0  # MachDesignSpeed 30/min
    plc.write("PACK-01", (STOP_REASON, "guard door opened"), (STATE, int(State.STOPPING)))
    wait_for(lambda: device(plant).stop_reason == "guard door opened", what="the stop reason")
    # An impossible jump reported by the PLC is logged, not applied.
    plc.write("PACK-01", (STATE, int(State.EXECUTE)))
    wait_for(lambda: anomaly(plant, "impossible_transition"), what="the anomaly")
    assert State(device(plant).state) is State.STOPPING


def test_opcua_reconnects_after_the_server_restarts(plant, plc, opcua):
    wait_for(lambda: device(plant).processed_raw == plc.counts["PACK-01"], what="the initial counter reading")
    for _ in range(3):
        plc.cycle("PACK-01")
    wait_for(lambda: device(plant).processed_total == 3, what="three parts")
    plc.stop()
    wait_for(lambda: not opcua.connected[plc.endpoint].is_set(), what="the adapter to notice")
    plc.start()  # the PLC restarted: its counter starts at 0 again (a reset, not a loss of parts)
    wait_for(lambda: opcua.connected[plc.endpoint].is_set(), timeout=20, what="the reconnect")
    plc.cycle("PACK-01")
    plc.cycle("PACK-01")
    wait_for(lambda: device(plant).processed_total == 5, what="parts after the restart")
