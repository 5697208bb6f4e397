"""MQTT adapter (paho-mqtt 2): plain PackML topics and Sparkplug B, stored before they are acknowledged.

Topics: `<site>/<area>/<line>/<machine>/Status/StateCurrent`, `.../Admin/ProdProcessedCount`, ... with a JSON
payload `{"value": 6, "timestamp": "2026-01-05T08:00:00Z" | epoch-ms, "seq": 17}` (or a bare value); and
Sparkplug B `spBv1.0/<group>/<NBIRTH|NDEATH|DBIRTH|DDEATH|DDATA>/<edge node>[/<device>]`.

Delivery: the client keeps a persistent session (clean_session=False, fixed client id) and subscribes with
QoS 1 and manual acknowledgement. A message is acknowledged only after the command that stored it has
committed; a crash or a broker restart before that makes the broker deliver it again, and the sequence check
turns the second copy into a logged duplicate. paho reconnects by itself with exponential backoff.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from taktflow.engine.core import Engine
from taktflow.handlers.devices import service
from taktflow.handlers.devices.adapters import kind_of, sparkplug
from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.service import Outcome, Signal

log = logging.getLogger(__name__)

PLAIN_TOPICS = ("+/+/+/+/Status/+", "+/+/+/+/Admin/+")
SPARKPLUG_TOPIC = "spBv1.0/#"
SPARKPLUG_SEQ_WRAP = 256


def parse_url(url: str) -> tuple[str, int]:
    """`mqtt://host:port` (or `host:port`) → (host, port)."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise ValueError(f"MQTT URL {url!r} must look like mqtt://host:1883")
    return parsed.hostname, parsed.port or 1883


def machine_time(value: Any) -> datetime | None:
    """ISO 8601 text or epoch milliseconds → aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000.0, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Directory:
    """Topic prefix / Sparkplug id → device id, reloaded from the database when a name is not known."""

    def __init__(self, engine: Engine, reload_seconds: float = 1.0) -> None:
        self._engine = engine
        self._reload_seconds = reload_seconds
        self._loaded_at = 0.0
        self.by_topic: dict[str, str] = {}
        self.by_sparkplug: dict[str, str] = {}

    def _reload(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._loaded_at < self._reload_seconds:
            return
        with self._engine.db.read() as session:
            rows = session.execute(select(Device.id, Device.mqtt_topic, Device.sparkplug_id)).all()
        self.by_topic = {topic: device for device, topic, _ in rows if topic}
        self.by_sparkplug = {sp: device for device, _, sp in rows if sp}
        self._loaded_at = time.monotonic()

    def topic_device(self, prefix: str) -> str:
        if prefix not in self.by_topic:
            self._reload()
        # Unregistered prefixes fall back to the machine level, the convention for device ids.
        return self.by_topic.get(prefix, prefix.rsplit("/", 1)[-1])

    def sparkplug_device(self, group: str, edge: str, device: str) -> str:
        key = f"{group}/{edge}/{device}"
        if key not in self.by_sparkplug:
            self._reload()
        return self.by_sparkplug.get(key, key)

    def node_devices(self, group: str, edge: str) -> list[str]:
        prefix = f"{group}/{edge}/"
        found = [d for key, d in self.by_sparkplug.items() if key.startswith(prefix)]
        if not found:
            self._reload()
            found = [d for key, d in self.by_sparkplug.items() if key.startswith(prefix)]
        return found


def plain_signals(directory: Directory, topic: str, payload: bytes) -> list[Signal]:
    levels = topic.split("/")
    if len(levels) != 6:
        return []
    kind = kind_of("/".join(levels[4:]))
    device = directory.topic_device("/".join(levels[:4]))
    if kind is None:
        return [Signal(device, f"unknown tag {'/'.join(levels[4:])}", None, source="mqtt")]
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = payload.decode("utf-8", "replace").strip()
    if isinstance(body, dict) and "value" in body:
        seq = body.get("seq", body.get("sequence"))
        return [Signal(device, kind, body["value"], machine_time(body.get("timestamp", body.get("ts"))),
                       seq if isinstance(seq, int) and not isinstance(seq, bool) else None, source="mqtt")]
    return [Signal(device, kind, body, source="mqtt")]


class SparkplugReader:
    """Sparkplug B payloads → signals; remembers metric aliases from birth certificates."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.aliases: dict[tuple[str, str, str], dict[int, str]] = {}

    def signals(self, topic: str, payload: bytes) -> list[Signal]:
        levels = topic.split("/")
        if len(levels) < 4 or levels[0] != "spBv1.0":
            return []
        group, message_type, edge = levels[1], levels[2], levels[3]
        device_name = levels[4] if len(levels) > 4 else None
        data = sparkplug.decode(payload) if payload else sparkplug.Payload()
        at = machine_time(data.timestamp)
        if message_type in ("NBIRTH", "NDEATH"):
            online = message_type == "NBIRTH"
            devices = self.directory.node_devices(group, edge) or [f"{group}/{edge}"]
            # NDEATH is the broker's last will: it carries no seq, and a birth restarts numbering at 0.
            return [Signal(d, "online", online, at, data.seq if online else None, "sparkplug", SPARKPLUG_SEQ_WRAP)
                    for d in devices]
        if device_name is None or message_type not in ("DBIRTH", "DDEATH", "DDATA"):
            return []
        device = self.directory.sparkplug_device(group, edge, device_name)
        key = (group, edge, device_name)
        if message_type == "DDEATH":
            return [Signal(device, "online", False, at, None, "sparkplug")]
        signals = []
        if message_type == "DBIRTH":
            self.aliases[key] = {m.alias: m.name for m in data.metrics if m.alias is not None and m.name}
            signals.append(Signal(device, "online", True, at, data.seq, "sparkplug", SPARKPLUG_SEQ_WRAP))
        for metric in data.metrics:
            name = metric.name or self.aliases.get(key, {}).get(metric.alias or -1)
            kind = kind_of(name) if name else None
            if kind is None:
                continue
            when = machine_time(metric.timestamp) or at
            signals.append(Signal(device, kind, metric.value, when, data.seq, "sparkplug", SPARKPLUG_SEQ_WRAP))
        return signals


class MqttAdapter:
    """Subscribes to the plant's topics and feeds every message through `service.ingest`."""

    def __init__(
        self, engine: Engine, url: str, *, client_id: str = "taktflow-devices", keepalive: int = 15,
        on_outcomes: Callable[[list[Outcome]], None] | None = None, max_backoff: float = 30.0,
    ) -> None:
        self.engine = engine
        self.host, self.port = parse_url(url)
        self.directory = Directory(engine)
        self.sparkplug = SparkplugReader(self.directory)
        self.on_outcomes = on_outcomes
        self.keepalive = keepalive
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._max_backoff = max_backoff
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  protocol=mqtt.MQTTv311, manual_ack=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=int(max_backoff))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s:%s refused the connection: %s", self.host, self.port, reason)
            return
        log.info("MQTT connected to %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        client.subscribe([(t, 1) for t in (*PLAIN_TOPICS, SPARKPLUG_TOPIC)])
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("MQTT connection to %s:%s lost (%s); reconnecting with backoff", self.host, self.port, reason)

    def translate(self, topic: str, payload: bytes) -> list[Signal]:
        try:
            if topic.startswith("spBv1.0/"):
                return self.sparkplug.signals(topic, payload)
            return plain_signals(self.directory, topic, payload)
        except (ValueError, sparkplug.DecodeError) as exc:
            log.warning("MQTT %s: unreadable payload (%s); acknowledged and dropped", topic, exc)
            return []

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        signals = self.translate(message.topic, message.payload)
        if signals and self._store(signals) is None:
            return  # stopping before it was stored: no ack, the broker delivers it again
        client.ack(message.mid, message.qos)

    def _store(self, signals: list[Signal]) -> list[Outcome] | None:
        """Ingest, retrying with backoff while the database is unavailable (the message stays unacknowledged)."""
        delay = 0.2
        while not self._stopping.is_set():
            try:
                outcomes = service.ingest(self.engine, signals, actor="mqtt")
            except Exception:
                log.exception("storing MQTT signals failed; retrying in %.1fs", delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            if self.on_outcomes is not None:
                self.on_outcomes(outcomes)
            return outcomes
        return None
