"""Device test fixtures: a real mosquitto broker, a real asyncua server, the test operation process."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from taktflow.engine import instances
from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import ModelFile
from taktflow.handlers.devices import handlers as device_handlers
from taktflow.handlers.devices import service
from tests.devices.broker import Mosquitto
from tests.support import deploy_models

MODELS = Path(__file__).resolve().parent / "models"


@pytest.fixture
def plant(engine: Engine) -> Engine:
    """The engine with the devices handlers, the test operation process and three registered machines."""
    device_handlers.register(engine.registry)
    deploy_models(engine, ModelFile("devices_operation.bpmn", (MODELS / "devices_operation.bpmn").read_bytes()))

    def seed(session: Any) -> None:
        service.register_device(session, "CUT-01", "WC-CUT", ideal_cycle_seconds=2.0,
                                mqtt_topic="acme/plant1/line1/CUT-01", sparkplug_id="acme/edge1/CUT-01")
        service.register_device(session, "ASSY-01", "WC-ASSY", ideal_cycle_seconds=4.0,
                                mqtt_topic="acme/plant1/line1/ASSY-01")
        service.register_device(session, "PACK-01", "WC-PACK", ideal_cycle_seconds=1.0)

    engine.command(seed)
    return engine


def start_operation(engine: Engine, work_center: str = "WC-CUT", operation: str = "OP-1", quantity: int = 3,
                    **job: Any) -> str:
    """`job`: further inputs of devices.start_job (quantityBasis, silenceSeconds)."""
    started = instances.start(engine, "devices_operation", business_key=operation, variables={
        "workCenter": work_center, "operationId": operation, "quantity": quantity, **job})
    return started.instance.id


def instance(engine: Engine, instance_id: str) -> Any:
    with engine.db.read() as session:
        return instances.get(session, instance_id)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- a real mosquitto -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker() -> Iterator[Mosquitto]:
    mosquitto = Mosquitto()
    mosquitto.start()
    yield mosquitto
    mosquitto.cleanup()


# --- an asyncio loop in a thread (asyncua server and client in sync tests) --------------------------------


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-asyncio", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        self.run(cancel_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    thread = LoopThread()
    yield thread
    thread.close()
