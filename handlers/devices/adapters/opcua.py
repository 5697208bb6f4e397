"""OPC UA adapter (asyncua): subscriptions to each machine's PackML tags.

A device with `opcua_endpoint` exposes its tags as string node ids in the namespace `opcua_namespace`:
`ns=<index>;s=<device id>.Status.StateCurrent`, `...Admin.ProdProcessedCount`, `...Admin.ProdDefectiveCount`,
`...Admin.StopReason`, `...Admin.MachDesignSpeed` (the simulator serves exactly these).

OPC UA has no broker to redeliver; what makes it lossless is that every tag is an absolute value and a
(re)created subscription first reports each tag's current value: a counter notification lost in a
disconnect is recovered from the next reading. Notifications are stored in arrival order by one consumer.
A lost connection is re-opened with exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from asyncua import Client, Node, ua
from sqlalchemy import select

from taktflow.engine.core import Engine
from taktflow.handlers.devices import service
from taktflow.handlers.devices.adapters import PACKML_TAGS
from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.service import Outcome, Signal

log = logging.getLogger(__name__)
DEFAULT_NAMESPACE = "urn:taktflow:packml"


def node_name(device_id: str, tag: str) -> str:
    return f"{device_id}.{tag}"


@dataclass(frozen=True)
class Machine:
    device: str
    namespace: str


class _Notifications:
    """asyncua's subscription handler: queue every data change with its machine timestamp."""

    def __init__(self, queue: asyncio.Queue[Signal], nodes: dict[str, tuple[str, str]]) -> None:
        self.queue = queue
        self.nodes = nodes

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        device, kind = self.nodes[node.nodeid.to_string()]
        stamp = data.monitored_item.Value.SourceTimestamp or data.monitored_item.Value.ServerTimestamp
        if stamp is not None and stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        self.queue.put_nowait(Signal(device, kind, val, stamp, None, "opcua"))

    def status_change_notification(self, status: Any) -> None:
        log.warning("OPC UA subscription status changed: %s", status)


class OpcUaAdapter:
    """One asyncua client per endpoint; run `await adapter.run()` until `stop()` is called."""

    def __init__(
        self, engine: Engine, *, publishing_ms: int = 50, max_backoff: float = 30.0,
        on_outcomes: Callable[[list[Outcome]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.publishing_ms = publishing_ms
        self.max_backoff = max_backoff
        self.on_outcomes = on_outcomes
        self.connected: dict[str, asyncio.Event] = {}
        self._stop = asyncio.Event()

    def endpoints(self) -> dict[str, list[Machine]]:
        with self.engine.db.read() as session:
            rows = session.execute(select(Device.id, Device.opcua_endpoint, Device.opcua_namespace)
                                   .where(Device.opcua_endpoint.is_not(None)).order_by(Device.id)).all()
        found: dict[str, list[Machine]] = {}
        for device, endpoint, namespace in rows:
            found.setdefault(endpoint, []).append(Machine(device, namespace or DEFAULT_NAMESPACE))
        return found

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        endpoints = self.endpoints()
        if not endpoints:
            log.info("no device has an OPC UA endpoint")
            return
        tasks = [asyncio.create_task(self.follow(url, machines)) for url, machines in endpoints.items()]
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def follow(self, url: str, machines: list[Machine]) -> None:
        """Keep one endpoint subscribed, reconnecting with backoff, until stopped."""
        queue: asyncio.Queue[Signal] = asyncio.Queue()
        consumer = asyncio.create_task(self._consume(queue))
        connected = self.connected.setdefault(url, asyncio.Event())
        delay = 0.5
        try:
            while not self._stop.is_set():
                lost = asyncio.Event()
                client = Client(url, timeout=4, watchdog_intervall=1.0)

                async def on_lost(exc: Exception, lost: asyncio.Event = lost) -> None:
                    log.warning("OPC UA %s: connection lost (%s)", url, exc)
                    lost.set()

                client.connection_lost_callback = on_lost
                try:
                    await client.connect()
                    await self._subscribe(client, machines, queue)
                    connected.set()
                    delay = 0.5
                    log.info("OPC UA %s: subscribed to %d machines", url, len(machines))
                    stop = asyncio.create_task(self._stop.wait())
                    gone = asyncio.create_task(lost.wait())
                    await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
                    for waiter in (stop, gone):
                        waiter.cancel()
                    await asyncio.gather(stop, gone, return_exceptions=True)
                except (TimeoutError, OSError, ua.UaError, ConnectionError) as exc:
                    log.warning("OPC UA %s: %s; retrying in %.1fs", url, exc, delay)
                finally:
                    connected.clear()
                    try:
                        await asyncio.wait_for(client.disconnect(), 2)
                    except Exception:  # the connection is gone already
                        pass
                if not self._stop.is_set():
                    try:
                        await asyncio.wait_for(self._stop.wait(), delay)
                    except TimeoutError:
                        pass
                    delay = min(delay * 2, self.max_backoff)
        finally:
            await queue.join()
            consumer.cancel()

    async def _subscribe(self, client: Client, machines: list[Machine], queue: asyncio.Queue[Signal]) -> None:
        nodes: dict[str, tuple[str, str]] = {}
        watched: list[Node] = []
        for machine in machines:
            index = await client.get_namespace_index(machine.namespace)
            for tag, kind in PACKML_TAGS.items():
                node = client.get_node(f"ns={index};s={node_name(machine.device, tag)}")
                nodes[node.nodeid.to_string()] = (machine.device, kind)
                watched.append(node)
        subscription = await client.create_subscription(self.publishing_ms, _Notifications(queue, nodes))
        await subscription.subscribe_data_change(watched)

    async def _consume(self, queue: asyncio.Queue[Signal]) -> None:
        while True:
            first = await queue.get()
            batch = [first]
            while not queue.empty():  # whatever arrived meanwhile goes in the same transaction
                batch.append(queue.get_nowait())
            delay = 0.2
            while True:
                try:
                    outcomes = await asyncio.to_thread(service.ingest, self.engine, batch, actor="opcua")
                    break
                except Exception:
                    log.exception("storing OPC UA signals failed; retrying in %.1fs", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_backoff)
            if self.on_outcomes is not None:
                self.on_outcomes(outcomes)
            for _ in batch:
                queue.task_done()
