"""Machine signals the shop floor must see, with a real mosquitto: e-stops and jams become downtimes with
their reason (job or not), and parts counted with no job are unassigned, flagged and kept out of OEE."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from taktflow.handlers.devices import oee
from taktflow.handlers.devices.adapters.mqtt import MqttAdapter
from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.packml import State
from taktflow.handlers.devices.service import register_device
from taktflow.handlers.devices.simulator import PROCESSED, STATE, STOP_REASON, MqttMachine
from taktflow.handlers.mes.operation.models import Downtime
from taktflow.handlers.mes.work_order import process
from tests.devices.conftest import broker, wait_for  # noqa: F401 - the real mosquitto fixture

TOPIC = "acme/plant1/line1/CUT-01"


@pytest.fixture
def cut(plant, broker):  # noqa: F811
    """CUT-01 on MQTT: the adapter subscribed, and the machine (simulated PLC) publishing to the broker."""
    plant.engine.command(lambda s: register_device(s, "CUT-01", "WC-CUT", ideal_cycle_seconds=10, mqtt_topic=TOPIC))
    adapter = MqttAdapter(plant.engine, broker.url, client_id=f"taktflow-{uuid.uuid4().hex[:8]}")
    adapter.start()
    assert adapter.connected.wait(10), "the adapter did not connect"
    machine = MqttMachine(broker.url, TOPIC)
    machine.start()
    yield machine
    machine.stop()
    adapter.stop()


def _downtimes(plant) -> list[Downtime]:
    with plant.engine.db.read() as session:
        return list(session.scalars(select(Downtime).where(Downtime.machine_code == "CUT-01").order_by(Downtime.id)))


def _device(plant) -> Device:
    with plant.engine.db.read() as session:
        return session.get(Device, "CUT-01")


def _to_execute(machine: MqttMachine, start: State = State.RESETTING) -> None:
    path = [State.STOPPED, State.RESETTING, State.IDLE, State.STARTING, State.EXECUTE]
    for state in path[path.index(start):]:
        machine.publish([(STATE, int(state))])


def test_an_e_stop_and_a_jam_become_downtimes_with_their_reason_without_a_job(plant, cut):
    _to_execute(cut)
    wait_for(lambda: _device(plant).state == State.EXECUTE, what="the machine to run")
    cut.publish([(STOP_REASON, {"ID": 17, "Value": "Emergency stop pressed"})])
    cut.publish([(STATE, int(State.ABORTED))])
    [estop] = wait_for(lambda: _downtimes(plant), what="the e-stop downtime")
    assert (estop.category, estop.packml_state, estop.reason, estop.operation_id, estop.ended_at) == (
        "e-stop", "Aborted", "17: Emergency stop pressed", None, None)
    plant.engine.clock.advance(minutes=4)
    cut.publish([(STATE, int(State.CLEARING))])
    _to_execute(cut, State.STOPPED)  # Stopped on the way back is still the same stop
    wait_for(lambda: _downtimes(plant)[0].ended_at is not None, what="the e-stop downtime to end")
    assert _downtimes(plant)[0].ended_at - estop.started_at == timedelta(minutes=4)

    # A jam: the machine holds first, its fault code follows.
    cut.publish([(STATE, int(State.HELD))])
    wait_for(lambda: len(_downtimes(plant)) == 2, what="the hold downtime")
    cut.publish([(STOP_REASON, {"ID": 31, "Value": "Material jam at infeed"})])
    jam = wait_for(lambda: (d := _downtimes(plant)[1]).category == "jam" and d, what="the reason to name it")
    assert (jam.packml_state, jam.reason, jam.ended_at) == ("Held", "31: Material jam at infeed", None)


def test_a_jam_while_an_operation_runs_is_one_downtime_of_that_operation(plant, cut):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=10)
    plant.complete("start_operation", {"machine": "CUT-01"})
    _to_execute(cut)
    cut.publish([(PROCESSED, 100)])
    cut.publish([(STOP_REASON, "material jam")])
    cut.publish([(STATE, int(State.HELD))])
    [jam] = wait_for(lambda: _downtimes(plant), what="the jam downtime")
    wait_for(lambda: plant.instance(wo.instance_id).active_elements == ["await_resume"],
             what="the process to wait for the machine")
    [row] = _downtimes(plant)  # the process's interruption took the machine's downtime: no second record
    assert (row.category, row.reason) == ("jam", "material jam")
    assert row.operation_id is not None and row.operation_id == jam.operation_id
    cut.publish([(STATE, int(State.UNHOLDING))])
    cut.publish([(STATE, int(State.EXECUTE))])
    wait_for(lambda: plant.instance(wo.instance_id).active_elements == ["machine_running"],
             what="the process to run again")
    assert _downtimes(plant)[0].ended_at is not None


def test_parts_counted_without_a_job_are_unassigned_flagged_and_out_of_oee(plant, cut):
    start = datetime.now(UTC)  # the simulated PLC stamps its signals with its own clock: OEE reads machine time
    _to_execute(cut)
    cut.publish([(PROCESSED, 40)])  # the counter's baseline
    for value in (41, 42, 43, 44, 45):
        cut.publish([(PROCESSED, value)])
    wait_for(lambda: _device(plant).unassigned_count == 5, what="five unassigned parts")
    device = _device(plant)
    assert device.processed_total == 5 and device.unassigned_since is not None
    with plant.engine.db.read() as session:
        report = oee.oee(session, [session.get(Device, "CUT-01")], start - timedelta(hours=1),
                         start + timedelta(hours=1), datetime.now(UTC))
    assert (report["totalCount"], report["unassignedCount"]) == (0, 5)
    # An operation starts on the machine: the flag goes, its parts count for the operation.
    process.release(plant.engine, item_code="FG-BRACKET", quantity=10)
    plant.complete("start_operation", {"machine": "CUT-01"})
    assert _device(plant).unassigned_since is None
    cut.publish([(PROCESSED, 47)])
    wait_for(lambda: plant.api().get("/api/v1/work-centers/WC-CUT/dispatch-list").json()[0]["machineCount"] == 2,
             what="the parts to count for the operation")
