"""Over loopback HTTP with two `taktflow serve` processes: starts and completions per second, device signals."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.common import HANDLER_MODULE, MODELS, summary_ms
from tests.support.server import Server  # the test suite's `taktflow serve` process, started and awaited

REPO = Path(__file__).resolve().parent.parent
CLIENTS = 16  # concurrent client connections, split over the servers


def cli_env(url: str, processes: Path) -> dict[str, str]:
    return {**os.environ, "TAKTFLOW_DATABASE_URL": url, "TAKTFLOW_PROCESSES_DIR": str(processes),
            "TAKTFLOW_HANDLER_MODULES": HANDLER_MODULE, "PYTHONPATH": str(REPO)}


class Servers:
    """N `taktflow serve --no-worker` processes on one database, and an admin token for them."""

    def __init__(self, url: str, tmp: Path, models: list[str], count: int = 2) -> None:
        processes = tmp / "processes"
        processes.mkdir(exist_ok=True)
        for name in models:
            (processes / name).write_bytes((MODELS / name).read_bytes())
        self.env = cli_env(url, processes)
        created = subprocess.run([sys.executable, "-m", "taktflow.cli", "token", "create", "bench", "--role",
                                  "admin"], env=self.env, capture_output=True, text=True, check=True)
        self.headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
        # One after the other: the first one deploys the models.
        self.servers = [Server(self.env, tmp / f"server-{n}.log") for n in range(count)]
        self.urls = [server.url for server in self.servers]

    def clients(self) -> list[httpx.Client]:
        return [httpx.Client(base_url=self.urls[n % len(self.urls)], headers=self.headers, timeout=60)
                for n in range(CLIENTS)]

    def has_route(self, path: str) -> bool:
        spec = httpx.get(f"{self.urls[0]}/openapi.json", timeout=30).json()
        return path in spec.get("paths", {})

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def _load(clients: list[httpx.Client], count: int, request: Callable[[httpx.Client, int], None]) -> dict[str, Any]:
    """`count` requests from all clients at once; requests/s over the wall time, and per-request latency."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        began = time.perf_counter()
        request(clients[n % len(clients)], n)
        with lock:
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(one, range(count)))
    wall = time.perf_counter() - began
    return {"per_s": round(count / wall, 1), **summary_ms(latencies)}


def http_rates(url: str, tmp: Path, count: int = 1500) -> dict[str, Any]:
    """Start-instance requests/s, then complete-task requests/s, on the approval process (two servers)."""
    servers = Servers(url, tmp, ["approval.bpmn"])
    clients = servers.clients()
    started: list[str] = [""] * count
    try:
        def start(client: httpx.Client, n: int) -> None:
            r = client.post("/api/v1/process-definitions/bench_approval/start", json={"businessKey": f"H-{n}"})
            assert r.status_code == 201, r.text
            started[n] = r.json()["id"]

        for n in range(50):  # warm-up: connections, caches
            start(clients[n % CLIENTS], n)
        starts = _load(clients, count, start)
        task_ids = []
        for offset in range(0, count, 1000):
            page = clients[0].get("/api/v1/tasks", params={"processKey": "bench_approval", "limit": 1000,
                                                           "offset": offset}).json()
            task_ids += [t["id"] for t in page]

        def complete(client: httpx.Client, n: int) -> None:
            r = client.post(f"/api/v1/tasks/{task_ids[n]}/complete", json={"variables": {"approved": True}})
            assert r.status_code == 200, r.text

        completes = _load(clients, min(count, len(task_ids)), complete)
    finally:
        for client in clients:
            client.close()
        servers.stop()
    return {"starts": starts, "completes": completes}


def device_signals(url: str, tmp: Path, machines: int = 300) -> dict[str, Any]:
    """Signals/s (all clients sending) and signal-to-token latency (one machine at a time): each `processed`
    count moves the one token waiting at its machine; the response comes once that token has moved.

    Uses the device signal endpoint when the server has it; otherwise message correlation (`POST /messages`)
    is the signal path, and the result says so.
    """
    servers = Servers(url, tmp, ["devices_cycle.bpmn"])
    clients = servers.clients()
    path = "devices" if servers.has_route("/api/v1/devices/{device_id}/signals") else "messages"
    try:
        if path == "devices":
            _register_machines(url, machines)
        results = []
        # Round 0: every client at once (signals/s). Round 1: one machine at a time (signal-to-token latency).
        for r, senders in enumerate((clients, clients[:1])):
            with ThreadPoolExecutor(len(clients)) as pool:  # one waiting instance per machine (not timed)
                list(pool.map(_start_cycle, [clients[n % len(clients)] for n in range(machines)], range(machines),
                              [r] * machines))

            def signal(client: httpx.Client, n: int, r: int = r) -> None:
                if path == "devices":
                    resp = client.post(f"/api/v1/devices/M-{n}/signals",
                                       json={"kind": "processed", "value": r + 1, "sequence": r + 1})
                    assert resp.status_code == 200, resp.text
                    [outcome] = resp.json()["signals"]
                    assert [m["status"] for m in outcome["messages"]] == ["delivered"], outcome
                else:
                    resp = client.post("/api/v1/messages", json={
                        "name": "machine.cycle_completed", "correlationKeys": {"workCenter": f"WC-{n}"},
                        "variables": {"count": 1}})
                    assert resp.status_code == 200, resp.text

            results.append(_load(senders, machines, signal))
    finally:
        for client in clients:
            client.close()
        servers.stop()
    loaded, single = results
    return {"path": path, "per_s": loaded["per_s"], "p50": single["p50"], "p99": single["p99"],
            "loaded_p50": loaded["p50"], "loaded_p99": loaded["p99"], "signals": machines * 2}


def _start_cycle(client: httpx.Client, n: int, r: int) -> None:
    resp = client.post("/api/v1/process-definitions/devices_bench_cycle/start",
                       json={"businessKey": f"CYCLE-{r}-{n}", "variables": {"workCenter": f"WC-{n}"}})
    assert resp.status_code == 201, resp.text


def _register_machines(url: str, machines: int) -> None:
    """One machine per work center, with its counter's baseline reading (the first reading counts nothing)."""
    from taktflow.engine.core import Engine
    from taktflow.engine.store.db import Database
    from taktflow.handlers.devices import service

    engine = Engine(Database(url))
    engine.command(lambda s: [service.register_device(s, f"M-{n}", f"WC-{n}") for n in range(machines)])
    service.ingest(engine, [service.Signal(f"M-{n}", "processed", 0, None, 0, source="http")
                            for n in range(machines)])
    engine.db.dispose()
