"""MQTT with a real mosquitto: plain topics and Sparkplug B move waiting operations; nothing is lost."""

from __future__ import annotations

import socket
import uuid

import pytest
from sqlalchemy import func, select

from taktflow.handlers.devices.adapters.mqtt import MqttAdapter
from taktflow.handlers.devices.models import Device, DeviceAnomaly, DeviceSignal
from taktflow.handlers.devices.packml import State
from taktflow.handlers.devices.simulator import DEFECTIVE, PROCESSED, STATE, MqttMachine
from tests.devices.conftest import instance, start_operation, wait_for

CUT_TOPIC = "acme/plant1/line1/CUT-01"


@pytest.fixture
def adapter(plant, broker):
    started = []

    def make(client_id: str | None = None) -> MqttAdapter:
        mqtt_adapter = MqttAdapter(plant, broker.url, client_id=client_id or f"taktflow-{uuid.uuid4().hex[:8]}")
        mqtt_adapter.start()
        assert mqtt_adapter.connected.wait(10), "the adapter did not connect"
        started.append(mqtt_adapter)
        return mqtt_adapter

    yield make
    for a in started:
        a.stop()


@pytest.fixture
def machine(broker):
    machines = []

    def make(topic: str = CUT_TOPIC, sparkplug_id: str | None = None) -> MqttMachine:
        m = MqttMachine(broker.url, topic, sparkplug_id=sparkplug_id)
        m.start()
        machines.append(m)
        return m

    yield make
    for m in machines:
        m.stop()


def device(engine, device_id="CUT-01"):
    with engine.db.read() as session:
        return session.get(Device, device_id)


def count(engine, model, *where):
    with engine.db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def to_execute(m: MqttMachine) -> None:
    for state in (State.STOPPED, State.RESETTING, State.IDLE, State.STARTING, State.EXECUTE):
        m.publish([(STATE, int(state))])


def test_plain_topics_move_a_waiting_operation(plant, adapter, machine):
    op = start_operation(plant, quantity=2)
    adapter()
    m = machine()
    to_execute(m)
    m.publish([(PROCESSED, 500), (DEFECTIVE, 3)])  # baselines
    m.publish([(DEFECTIVE, 4), (PROCESSED, 501)])
    wait_for(lambda: instance(plant, op).active_elements == ["run"], what="the first cycle to reach the operation")
    m.publish([(PROCESSED, 502)])
    m.publish([(PROCESSED, 503)])
    done = wait_for(lambda: (i := instance(plant, op)).state == "completed" and i, what="quantity reached")
    assert (done.variables["good"], done.variables["scrap"]) == (2, 1)
    assert State(device(plant).state) is State.EXECUTE


def test_sparkplug_birth_data_and_death(plant, adapter, machine):
    op = start_operation(plant, quantity=50)
    adapter()
    m = machine(sparkplug_id="acme/edge1/CUT-01")  # sends NBIRTH and DBIRTH; NDEATH is its MQTT will
    wait_for(lambda: device(plant).online is True, what="the birth")
    m.publish([(STATE, int(State.IDLE))])
    m.publish([(STATE, int(State.EXECUTE)), (PROCESSED, 10)])
    m.publish([(PROCESSED, 11)])
    wait_for(lambda: instance(plant, op).active_elements == ["run"], what="a Sparkplug cycle")
    # The edge node drops off the network without saying goodbye: the broker publishes its NDEATH will.
    m.client.socket().shutdown(socket.SHUT_RDWR)
    wait_for(lambda: device(plant).online is False, what="NDEATH")
    interrupted = wait_for(lambda: (i := instance(plant, op)).state == "completed" and i, what="interruption")
    assert interrupted.variables["offline"] is True


def test_broker_restart_and_adapter_restart_lose_nothing(plant, broker, adapter, machine):
    op = start_operation(plant, quantity=90)
    first = adapter("taktflow-restart-test")
    m = machine()
    to_execute(m)
    m.publish([(PROCESSED, 0)])
    for n in range(1, 31):
        m.publish([(PROCESSED, n)])
    broker.stop()  # mid-run: some messages are at the broker, some in flight, some not sent yet
    for n in range(31, 61):
        m.publish([(PROCESSED, n)])  # queued by the machine's client while the broker is away
    broker.start()
    wait_for(lambda: device(plant).processed_total == 60, timeout=30, what="all 60 parts after the broker restart")
    first.stop()  # the adapter goes away; its persistent session keeps collecting
    for n in range(61, 91):
        m.publish([(PROCESSED, n)])
    wait_for(lambda: m.pending() == 0, what="the broker to take the messages")
    adapter("taktflow-restart-test")
    wait_for(lambda: device(plant).processed_total == 90, timeout=30, what="all 90 parts after the adapter restart")
    assert count(plant, DeviceSignal, DeviceSignal.kind == "processed", DeviceSignal.status == "applied") == 91
    assert instance(plant, op).state == "completed"


def test_duplicates_and_unknown_devices_over_mqtt(plant, adapter, machine):
    adapter()
    m = machine()
    m.publish([(STATE, int(State.IDLE))], sequence=10)
    m.publish([(STATE, int(State.IDLE))], sequence=10)
    stranger = machine("acme/plant1/line1/LATHE-99")
    stranger.publish([(PROCESSED, 1)])
    wait_for(lambda: count(plant, DeviceAnomaly, DeviceAnomaly.kind == "unknown_device") == 1, what="refusal")
    wait_for(lambda: count(plant, DeviceAnomaly, DeviceAnomaly.kind == "duplicate") == 1, what="duplicate")
    with plant.db.read() as session:
        refused = session.scalar(select(DeviceAnomaly).where(DeviceAnomaly.kind == "unknown_device"))
    assert (refused.device_id, refused.source) == ("LATHE-99", "mqtt")
    assert count(plant, DeviceSignal, DeviceSignal.device_id == "CUT-01") == 1
