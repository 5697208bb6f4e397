"""`taktflow devices` and `taktflow simulate machine`: run the adapters, or a simulated machine, until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal

from taktflow.engine.core import Engine
from taktflow.handlers.devices.adapters.mqtt import MqttAdapter
from taktflow.handlers.devices.adapters.opcua import OpcUaAdapter
from taktflow.handlers.devices.simulator import PackMLMachine, simulate
from taktflow.handlers.devices.watchdog import SilenceWatchdog

log = logging.getLogger(__name__)


def _on_stop(callback: object) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, callback)  # type: ignore[arg-type]


async def run_adapters(engine: Engine, mqtt_url: str | None, *, client_id: str = "taktflow-devices") -> None:
    """MQTT (when a broker is configured) and OPC UA (for devices with an endpoint) until SIGTERM/SIGINT, and
    the silence watchdog (`machine.silent` for a running job's machine that reports nothing)."""
    watchdog = SilenceWatchdog(engine).start()
    mqtt_adapter = None
    if mqtt_url:
        mqtt_adapter = MqttAdapter(engine, mqtt_url, client_id=client_id)
        mqtt_adapter.start()
        log.info("MQTT adapter: broker %s, client id %s", mqtt_url, client_id)
    else:
        log.info("no TAKTFLOW_MQTT_URL: MQTT adapter not started")
    opcua = OpcUaAdapter(engine)
    stopped = asyncio.Event()

    def stop() -> None:
        opcua.stop()
        stopped.set()

    _on_stop(stop)
    try:
        await opcua.run()  # returns at once when no device has an OPC UA endpoint
        await stopped.wait()
    finally:
        watchdog.stop()
        if mqtt_adapter is not None:
            mqtt_adapter.stop()


async def run_simulator(device: str, *, mqtt_url: str | None, opcua_endpoint: str | None, seconds: float | None,
                        topic: str | None, sparkplug_id: str | None, speed: float, seed: int | None,
                        ideal_cycle: float) -> int:
    task = asyncio.create_task(simulate(
        device, mqtt_url=mqtt_url, topic=topic, sparkplug_id=sparkplug_id, opcua_endpoint=opcua_endpoint,
        seconds=seconds, speed=speed, machine=PackMLMachine(ideal_cycle=ideal_cycle, seed=seed),
    ))
    _on_stop(task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return 0
