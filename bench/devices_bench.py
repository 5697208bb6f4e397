"""Devices benchmark: sustained machine signals per second and signal-to-token latency.

`run_devices_bench()` registers `signals` machines, each on its own work center with one process instance
waiting for `machine.cycle_completed` (bench/models/devices_cycle.bpmn), sends each machine one counter
signal — directly through `service.ingest` (what every adapter calls) or over a real mosquitto broker and
the MQTT adapter — and reports:
- signals_per_second: signals stored, applied and correlated, each moving one token, per second of wall time;
- latency_p50_ms / latency_p99_ms: from the signal's machine timestamp (set when it is sent) to the commit of
  the command that stored it and moved the waiting token (the moment an adapter acknowledges the broker);
- unmatched_signals_per_second: a second cycle per machine when nobody waits any more (store + state only).

    .venv/bin/python bench/devices_bench.py [--signals 1000] [--transport direct|mqtt] [--rate N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # `tests.devices.broker` (the real mosquitto the tests use)

from sqlalchemy import func, select  # noqa: E402

from taktflow.engine import instances  # noqa: E402
from taktflow.engine.core import Engine  # noqa: E402
from taktflow.engine.definitions.service import ModelFile, deploy  # noqa: E402
from taktflow.engine.handlers import HandlerRegistry  # noqa: E402
from taktflow.engine.store.db import Database  # noqa: E402
from taktflow.engine.store.models import HistoryEvent  # noqa: E402
from taktflow.handlers.devices import service  # noqa: E402
from taktflow.handlers.devices.models import Device, DeviceSignal  # noqa: E402
from taktflow.handlers.devices.service import Signal  # noqa: E402
from taktflow.schema import migrate  # noqa: E402

MODEL = REPO / "bench" / "models" / "devices_cycle.bpmn"
SITE = "bench/site/line"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _setup(engine: Engine, run: str, count: int) -> tuple[list[str], dict[str, str]]:
    """Machines in Execute with a counter baseline, and one waiting instance per machine's work center."""
    devices = [f"B{run}-{i:05d}" for i in range(count)]

    def register(session: Any) -> None:
        deploy(session, [ModelFile(MODEL.name, MODEL.read_bytes())], clock=engine.clock,
               serializer=engine.serializer)
        for device in devices:
            service.register_device(session, device, f"WC-{device}", ideal_cycle_seconds=1.0,
                                    mqtt_topic=f"{SITE}/{device}")

    engine.command(register)
    baseline = [Signal(d, kind, value, None, 1) for d in devices
                for kind, value in (("state", "Execute"), ("processed", 0))]
    for i in range(0, len(baseline), 500):
        service.ingest(engine, baseline[i:i + 500])
    waiting = {}
    for device in devices:
        started = instances.start(engine, "devices_bench_cycle", variables={"workCenter": f"WC-{device}"})
        waiting[device] = started.instance.id
    return devices, waiting


class Commits:
    """When the command that moved a machine's waiting token had committed (what the adapter acknowledges after)."""

    def __init__(self) -> None:
        self.at: dict[str, datetime] = {}

    def record(self, outcomes: list[service.Outcome]) -> None:
        now = datetime.now(UTC)
        for outcome in outcomes:
            if any(m.get("status") == "delivered" for m in outcome.messages):
                self.at[outcome.device] = now


def _latencies(engine: Engine, devices: list[str], commits: Commits) -> list[float]:
    with engine.db.read() as session:
        sent = dict(session.execute(select(DeviceSignal.device_id, DeviceSignal.machine_ts).where(
            DeviceSignal.device_id.in_(devices), DeviceSignal.kind == "processed", DeviceSignal.sequence == 2)).all())
    return [(commits.at[d] - sent[d]).total_seconds() * 1000 for d in devices if d in commits.at]


def _paced(devices: list[str], rate: float | None) -> Any:
    """The devices one by one, at `rate` per second when given (else as fast as the sender can)."""
    started = time.perf_counter()
    for i, device in enumerate(devices):
        if rate:
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        yield device


def _send_direct(engine: Engine, devices: list[str], sequence: int, value: int, commits: Commits,
                 rate: float | None) -> None:
    for device in _paced(devices, rate):
        commits.record(service.ingest(engine, [Signal(device, "processed", value, datetime.now(UTC), sequence)]))


def _send_mqtt(engine: Engine, url: str, devices: list[str], sequence: int, value: int, rate: float | None) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from taktflow.handlers.devices.adapters.mqtt import parse_url

    host, port = parse_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-machines-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(100)
    client.connect(host, port)
    client.loop_start()
    try:
        for device in _paced(devices, rate):
            body = json.dumps({"value": value, "timestamp": datetime.now(UTC).isoformat(), "seq": sequence})
            client.publish(f"{SITE}/{device}/Admin/ProdProcessedCount", body, qos=1)
        _wait_applied(engine, devices, sequence)
    finally:
        client.disconnect()
        client.loop_stop()


def _wait_applied(engine: Engine, devices: list[str], sequence: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.db.read() as session:
            behind = session.scalar(select(Device.id).where(Device.id.in_(devices), Device.last_sequence < sequence)
                                    .limit(1))
        if behind is None:
            return
        time.sleep(0.05)
    raise TimeoutError("signals did not all arrive")


def run_devices_bench(database_url: str | None = None, signals: int = 1000, transport: str = "direct",
                      rate: float | None = None) -> dict:
    """Measure signals/s and signal-to-token latency (see the module docstring); returns a JSON-able dict.

    Without `rate` the signals come as one burst: throughput is the capacity, and MQTT latency includes the
    time spent queued at the broker. With `rate` (signals per second, below capacity) latency is per signal.
    """
    if transport not in ("direct", "mqtt"):
        raise ValueError("transport is 'direct' or 'mqtt'")
    workdir = Path(tempfile.mkdtemp(prefix="taktflow-devices-bench-"))
    database = Database(database_url or f"sqlite:///{workdir / 'bench.db'}")
    broker = adapter = None
    try:
        migrate(database)
        engine = Engine(database, registry=HandlerRegistry())
        run = uuid.uuid4().hex[:6]
        devices, waiting = _setup(engine, run, signals)
        commits = Commits()
        if transport == "mqtt":
            from taktflow.handlers.devices.adapters.mqtt import MqttAdapter
            from tests.devices.broker import Mosquitto

            broker = Mosquitto()
            broker.start()
            adapter = MqttAdapter(engine, broker.url, client_id=f"bench-{run}", on_outcomes=commits.record)
            adapter.start()
            adapter.connected.wait(10)

        def send(sequence: int, value: int) -> float:
            started = time.perf_counter()
            if transport == "mqtt":
                _send_mqtt(engine, broker.url, devices, sequence, value, rate)  # type: ignore[union-attr]
            else:
                _send_direct(engine, devices, sequence, value, commits, rate)
            return time.perf_counter() - started

        moving = send(2, 1)  # every signal moves one waiting token
        unmatched = send(3, 2)  # nobody waits any more: store and apply only
        latencies = _latencies(engine, devices, commits)
        with engine.db.read() as session:
            moved = session.scalar(select(func.count()).select_from(HistoryEvent).where(
                HistoryEvent.instance_id.in_(list(waiting.values())), HistoryEvent.kind == "message_received"))
        return {
            "transport": transport, "database": database.engine.dialect.name, "signals": signals, "rate": rate,
            "signals_per_second": round(signals / moving, 1),
            "unmatched_signals_per_second": round(signals / unmatched, 1),
            "tokens_moved": moved,
            "latency_p50_ms": round(statistics.median(latencies), 2),
            "latency_p99_ms": round(_percentile(latencies, 0.99), 2),
        }
    finally:
        if adapter is not None:
            adapter.stop()
        if broker is not None:
            broker.cleanup()
        database.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=1000)
    parser.add_argument("--transport", choices=("direct", "mqtt"), default="direct")
    parser.add_argument("--rate", type=float, default=None, help="signals per second to send (default: a burst)")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    print(json.dumps(run_devices_bench(args.database_url, args.signals, args.transport, args.rate)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
