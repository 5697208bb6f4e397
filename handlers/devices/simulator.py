"""A simulated PackML machine: cycles with jitter, rejects, random holds, suspends and stops.

It speaks the same transports as real machines, so `make run` shows a live plant and the tests drive the
real adapters: plain MQTT topics (QoS 1, JSON with machine time and a sequence number), Sparkplug B
(NBIRTH/DBIRTH/DDATA, NDEATH as the MQTT will) and an OPC UA server with the PackML tags.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from asyncua import Server, ua
from paho.mqtt.enums import CallbackAPIVersion

from taktflow.handlers.devices.adapters import PACKML_TAGS, sparkplug
from taktflow.handlers.devices.adapters.mqtt import parse_url
from taktflow.handlers.devices.adapters.opcua import DEFAULT_NAMESPACE, node_name
from taktflow.handlers.devices.packml import State

log = logging.getLogger(__name__)

STATE, PROCESSED, DEFECTIVE, STOP_REASON, DESIGN_SPEED = (
    "Status.StateCurrent", "Admin.ProdProcessedCount", "Admin.ProdDefectiveCount", "Admin.StopReason",
    "Admin.MachDesignSpeed",
)
HOLD_REASONS = ("material jam", "operator check", "label roll empty")
STOP_REASONS = ("guard door opened", "emergency stop", "tool change")


@dataclass
class Step:
    wait: float  # seconds (at speed 1) before the tags change
    tags: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class PackMLMachine:
    """The machine's behaviour as an endless list of steps; `seed` makes a run repeatable."""

    ideal_cycle: float = 2.0
    reject_rate: float = 0.03
    hold_rate: float = 0.01
    suspend_rate: float = 0.015
    stop_rate: float = 0.004
    seed: int | None = None
    processed: int = 0
    defective: int = 0

    def steps(self) -> Iterator[Step]:
        rng = random.Random(self.seed)
        yield Step(0, [(DESIGN_SPEED, round(60.0 / self.ideal_cycle, 3)), (STATE, int(State.STOPPED)),
                       (PROCESSED, self.processed), (DEFECTIVE, self.defective)])
        while True:
            for state, wait in ((State.RESETTING, 0.5), (State.IDLE, 1.0), (State.STARTING, 0.5),
                                (State.EXECUTE, 1.0)):
                yield Step(wait, [(STATE, int(state))])
            stopped = False
            while not stopped:
                # Real cycles are never faster than ideal and mostly a little slower.
                cycle = self.ideal_cycle * (1 + abs(rng.gauss(0.05, 0.05)))
                tags: list[tuple[str, Any]] = []
                if rng.random() < self.reject_rate:
                    self.defective += 1
                    tags.append((DEFECTIVE, self.defective))
                self.processed += 1
                tags.append((PROCESSED, self.processed))
                yield Step(cycle, tags)
                roll = rng.random()
                if roll < self.hold_rate:
                    yield Step(0.2, [(STOP_REASON, rng.choice(HOLD_REASONS)), (STATE, int(State.HOLDING))])
                    yield Step(0.3, [(STATE, int(State.HELD))])
                    yield Step(rng.uniform(5, 20), [(STATE, int(State.UNHOLDING))])
                    yield Step(0.5, [(STATE, int(State.EXECUTE))])
                elif roll < self.hold_rate + self.suspend_rate:
                    yield Step(0.2, [(STOP_REASON, "starved"), (STATE, int(State.SUSPENDING))])
                    yield Step(0.2, [(STATE, int(State.SUSPENDED))])
                    yield Step(rng.uniform(3, 10), [(STATE, int(State.UNSUSPENDING))])
                    yield Step(0.3, [(STATE, int(State.EXECUTE))])
                elif roll < self.hold_rate + self.suspend_rate + self.stop_rate:
                    yield Step(0.2, [(STOP_REASON, rng.choice(STOP_REASONS)), (STATE, int(State.STOPPING))])
                    yield Step(0.5, [(STATE, int(State.STOPPED))])
                    yield Step(rng.uniform(10, 30), [])
                    stopped = True


class MqttMachine:
    """Publishes a machine's tag changes with QoS 1; paho resends unacknowledged ones after a reconnect."""

    def __init__(self, url: str, topic: str, *, sparkplug_id: str | None = None, client_id: str | None = None) -> None:
        self.host, self.port = parse_url(url)
        self.topic = topic.rstrip("/")
        self.sparkplug_id = sparkplug_id  # "<group>/<edge node>/<device>": publish Sparkplug B instead
        self._seq = 0
        self._sp_seq = 0
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"sim-{topic}-{time.time_ns()}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_queued_messages_set(0)  # keep everything while the broker is away
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = lambda c, u, f, reason, p: self.connected.set() if not reason.is_failure else None
        self.client.on_disconnect = lambda c, u, f, reason, p: self.connected.clear()
        if sparkplug_id:
            group, edge, _ = sparkplug_id.split("/")
            death = sparkplug.encode(sparkplug.Payload(timestamp=self._ms(), metrics=[
                sparkplug.Metric("bdSeq", 0, sparkplug.UINT64)]))
            self.client.will_set(f"spBv1.0/{group}/NDEATH/{edge}", death, qos=1)

    @staticmethod
    def _ms() -> int:
        return int(time.time() * 1000)

    def start(self, timeout: float = 10.0) -> None:
        self.client.connect_async(self.host, self.port, keepalive=5)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise TimeoutError(f"MQTT broker {self.host}:{self.port} did not accept the machine")
        if self.sparkplug_id:
            self._birth()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def pending(self) -> int:
        """Messages not yet acknowledged by the broker."""
        return len(self.client._out_messages)  # paho has no public accessor

    def next_sequence(self) -> int:
        # Milliseconds since the epoch keep the numbering increasing across simulator restarts.
        self._seq = max(self._seq + 1, self._ms())
        return self._seq

    def publish(self, tags: list[tuple[str, Any]], *, sequence: int | None = None,
                timestamp: datetime | None = None) -> None:
        if not tags:
            return
        if self.sparkplug_id:
            self._ddata(tags)
            return
        seq = sequence if sequence is not None else self.next_sequence()
        stamp = (timestamp or datetime.now(UTC)).isoformat()
        for tag, value in tags:
            body = json.dumps({"value": value, "timestamp": stamp, "seq": seq})
            self.client.publish(f"{self.topic}/{tag.replace('.', '/')}", body, qos=1)

    # --- Sparkplug B --------------------------------------------------------------------------------------

    def _sp_publish(self, kind: str, metrics: list[sparkplug.Metric], device: bool = True) -> None:
        group, edge, name = self.sparkplug_id.split("/")  # type: ignore[union-attr]
        topic = f"spBv1.0/{group}/{kind}/{edge}" + (f"/{name}" if device else "")
        payload = sparkplug.Payload(timestamp=self._ms(), seq=self._sp_seq, metrics=metrics)
        self._sp_seq = (self._sp_seq + 1) % 256
        self.client.publish(topic, sparkplug.encode(payload), qos=1)

    def _birth(self) -> None:
        self._sp_seq = 0
        self._sp_publish("NBIRTH", [sparkplug.Metric("bdSeq", 0, sparkplug.UINT64)], device=False)
        self._sp_publish("DBIRTH", [])

    def _ddata(self, tags: list[tuple[str, Any]]) -> None:
        self._sp_publish("DDATA", [_metric(tag, value) for tag, value in tags])


def _metric(tag: str, value: Any) -> sparkplug.Metric:
    name = tag.replace(".", "/")
    if isinstance(value, str):
        return sparkplug.Metric(name, value, sparkplug.STRING)
    if isinstance(value, float):
        return sparkplug.Metric(name, value, sparkplug.DOUBLE)
    return sparkplug.Metric(name, int(value), sparkplug.INT32 if tag == STATE else sparkplug.UINT64)


class OpcUaMachines:
    """An OPC UA server with the PackML tags of one or more machines (string node ids `<device>.<tag>`)."""

    def __init__(self, endpoint: str, devices: list[str], namespace: str = DEFAULT_NAMESPACE) -> None:
        self.endpoint = endpoint
        self.devices = devices
        self.namespace = namespace
        logging.getLogger("asyncua").setLevel(logging.ERROR)  # it warns about loopback without security
        self.server = Server()
        self._nodes: dict[tuple[str, str], Any] = {}

    async def start(self) -> None:
        await self.server.init()
        self.server.set_endpoint(self.endpoint)
        self.server.set_server_name("Taktflow simulated PackML machines")
        index = await self.server.register_namespace(self.namespace)
        initial = {STATE: ua.Variant(0, ua.VariantType.Int32), PROCESSED: ua.Variant(0, ua.VariantType.Int64),
                   DEFECTIVE: ua.Variant(0, ua.VariantType.Int64), STOP_REASON: ua.Variant("", ua.VariantType.String),
                   DESIGN_SPEED: ua.Variant(0.0, ua.VariantType.Double)}
        for device in self.devices:
            machine = await self.server.nodes.objects.add_object(index, device)
            for tag in PACKML_TAGS:
                node_id = ua.NodeId(node_name(device, tag), index)
                self._nodes[(device, tag)] = await machine.add_variable(node_id, tag, initial[tag])
        await self.server.start()

    async def write(self, device: str, tags: list[tuple[str, Any]]) -> None:
        for tag, value in tags:
            node = self._nodes[(device, tag)]
            variant_type = (await node.read_data_value()).Value.VariantType
            await node.write_value(ua.DataValue(ua.Variant(value, variant_type),
                                                SourceTimestamp=datetime.now(UTC)))

    async def stop(self) -> None:
        await self.server.stop()


async def simulate(
    device: str, *, mqtt_url: str | None = None, topic: str | None = None, sparkplug_id: str | None = None,
    opcua_endpoint: str | None = None, seconds: float | None = None, speed: float = 1.0,
    machine: PackMLMachine | None = None,
) -> int:
    """Run one simulated machine until `seconds` (machine time at `speed`) pass or it is cancelled."""
    machine = machine or PackMLMachine()
    publisher = None
    if mqtt_url:
        publisher = MqttMachine(mqtt_url, topic or f"taktflow/demo/line1/{device}", sparkplug_id=sparkplug_id)
        await asyncio.to_thread(publisher.start)
    server = None
    if opcua_endpoint:
        server = OpcUaMachines(opcua_endpoint, [device])
        await server.start()
    started = time.monotonic()
    steps = 0
    try:
        for step in machine.steps():
            await asyncio.sleep(step.wait / speed)
            if seconds is not None and time.monotonic() - started > seconds:
                break
            if publisher is not None:
                publisher.publish(step.tags)
            if server is not None:
                await server.write(device, step.tags)
            steps += 1
    finally:
        if publisher is not None:
            deadline = time.monotonic() + 5
            while publisher.pending() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            publisher.stop()
        if server is not None:
            await server.stop()
    log.info("simulated %s: %d steps, %d parts, %d rejects", device, steps, machine.processed, machine.defective)
    return steps


class InProcessPlant:
    """The demo plant for `taktflow serve --demo`: one simulated machine per demo device, feeding the same
    ingest path every adapter uses, so `make run` shows live machines without a broker."""

    def __init__(self, engine: Any, devices: list[tuple[str, float]], speed: float = 1.0) -> None:
        self.engine = engine
        self.devices = devices
        self.speed = speed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number, (device, ideal_cycle) in enumerate(self.devices):
            machine = PackMLMachine(ideal_cycle=ideal_cycle, seed=number)
            thread = threading.Thread(target=self._run, args=(device, machine), name=f"plant-{device}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self, device: str, machine: PackMLMachine) -> None:
        from taktflow.handlers.devices.adapters import kind_of
        from taktflow.handlers.devices.service import Signal, ingest

        sequence = 0
        for step in machine.steps():
            if self._stop.wait(step.wait / self.speed):
                return
            signals = []
            for tag, value in step.tags:
                kind = kind_of(tag)
                if kind is None:
                    continue
                sequence += 1
                signals.append(Signal(device, kind, value, datetime.now(UTC), sequence, source="simulator"))
            try:
                if signals:
                    ingest(self.engine, signals, actor="simulator")
            except Exception:  # a demo machine must not take the server down; the next step tries again
                log.exception("simulated %s: signal not stored", device)
