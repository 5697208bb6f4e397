"""`make bench`: every benchmark in one run on this machine → bench/results.json (+ details.json), a table.

    python -m bench.run --postgres-url postgresql+psycopg://postgres@127.0.0.1:54329/postgres

scripts/bench.sh starts a throwaway PostgreSQL and calls this. `--quick` runs tiny sizes (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import engine_bench, http_bench, inbox_bench, scheduling_bench, script_bench
from bench.common import fresh_database
from bench.table import render

HERE = Path(__file__).resolve().parent


def machine(postgres_url: str) -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    os_name = next((line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                    if line.startswith("PRETTY_NAME=")), platform.system())
    admin = create_engine(postgres_url)
    with admin.connect() as conn:
        pg = conn.scalar(text("SHOW server_version"))
        fsync = conn.scalar(text("SHOW fsync"))
    admin.dispose()
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "ram": f"{mem_kb / 2**20:.0f} GiB",
        "os": f"{os_name}, Linux {platform.release()}", "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "postgresql": f"{pg} (throwaway cluster, fsync={fsync})",
        "spiffworkflow": version("spiffworkflow"), "sqlalchemy": version("sqlalchemy"),
    }


def rss_after(count: int, tmp: Path, postgres_url: str) -> dict[str, Any]:
    """In its own process, so the number is a server's footprint and not this runner's."""
    with fresh_database("sqlite", postgres_url, tmp) as url:
        env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        done = subprocess.run([sys.executable, "-m", "bench.rss_bench", url, str(count)], env=env,
                              capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the benchmarks run, no numbers")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    quick = args.quick
    pg = args.postgres_url
    tmp = Path(tempfile.mkdtemp(prefix="taktflow-bench-"))
    details: dict[str, Any] = {"machine": machine(pg), "quick": quick}
    began = time.monotonic()

    def step(name: str) -> None:
        print(f"[{time.monotonic() - began:6.0f} s] {name}", flush=True)

    for kind in ("sqlite", "postgresql"):
        step(f"engine throughput vs raw SpiffWorkflow ({kind})")
        with fresh_database(kind, pg, tmp) as url:
            details[f"engine_{kind}"] = engine_bench.throughput(url, 50 if quick else 300)
        step(f"database floor of the same orders: the engine's statements replayed alone ({kind})")
        with fresh_database(kind, pg, tmp) as url:
            details[f"floor_{kind}"] = engine_bench.database_floor(url, 50 if quick else 300)
    step("multi-instance size scaling (PostgreSQL)")
    with fresh_database("postgresql", pg, tmp) as url:
        details["multi_instance"] = engine_bench.multi_instance(url, repeats=1 if quick else 3)
    for kind in ("postgresql", "sqlite"):
        step(f"inbox latency ({kind})")
        with fresh_database(kind, pg, tmp) as url:
            details[f"inbox_{kind}"] = inbox_bench.inbox_latency(
                url, (1_000, 5_000) if quick else (1_000, 100_000), queries=50 if quick else 300)
    step("HTTP starts and completions, 2 servers (PostgreSQL)")
    with fresh_database("postgresql", pg, tmp) as url:
        details["http"] = http_bench.http_rates(url, Path(tempfile.mkdtemp(dir=tmp)), 200 if quick else 1500)
    step("device signals, 2 servers (PostgreSQL)")
    with fresh_database("postgresql", pg, tmp) as url:
        details["signals"] = http_bench.device_signals(url, Path(tempfile.mkdtemp(dir=tmp)), 50 if quick else 300)
    step("job-shop scheduling: public instances through POST /api/v1/schedules (CP-SAT) and greedy")
    details["scheduling"] = scheduling_bench.job_shop(pg, tmp, quick=quick)
    step("script sandbox: a script task's code in a worker process vs in the server process")
    details["scripts"] = script_bench.overhead(200 if quick else 5000)
    for kind in ("sqlite", "postgresql"):
        step(f"scripts outside the command's transaction: other writers meanwhile, k scripts in one command ({kind})")
        with fresh_database(kind, pg, tmp) as url:
            details["scripts"][f"writers_{kind}"] = script_bench.writers_during_a_script(url, 0.3 if quick else 1.0)
        with fresh_database(kind, pg, tmp) as url:
            details["scripts"][f"per_command_{kind}"] = script_bench.scripts_in_one_command(
                url, (1, 5) if quick else (1, 5, 20, 100), 3 if quick else 20)
    rss_count = 2_000 if quick else 100_000
    step(f"server RSS over {rss_count} straight-through instances (SQLite)")
    details["rss"] = rss_after(rss_count, tmp, pg)
    details["seconds"] = round(time.monotonic() - began)

    mi = details["multi_instance"]
    inbox = details["inbox_postgresql"]
    inbox_big = "5000" if quick else "100000"
    results = {
        "engine_ratio_sqlite": details["engine_sqlite"]["ratio"],
        "engine_ratio_postgres": details["engine_postgresql"]["ratio"],
        # The highest ratio the engine's own statements leave room for (see engine_bench.database_floor).
        "engine_ceiling_sqlite": details["floor_sqlite"]["ceiling_ratio"],
        "engine_ceiling_postgres": details["floor_postgresql"]["ceiling_ratio"],
        "mi_time_ratio_300_100": round(mi["300"]["ms_per_item"] / mi["100"]["ms_per_item"], 2),
        "mi_bytes_per_item_300": mi["300"]["stored_bytes_per_item"],
        "inbox_p95_ms_1k": inbox["1000"]["p95"],
        "inbox_p95_ms_100k": inbox[inbox_big]["p95"],
        "http_starts_per_s": details["http"]["starts"]["per_s"],
        "signals_per_s": details["signals"]["per_s"],
        "signal_latency_p99_ms": details["signals"]["p99"],
        "rss_mb_after_100k": details["rss"]["peak_rss_mb"],
        "script_sandbox_overhead_ms": details["scripts"]["overhead_ms"],
        # Another instance start to end while a 1 s script runs (SQLite has one write lock).
        "script_writer_p99_ms_sqlite": details["scripts"]["writers_sqlite"]["outside_transaction"]["p99"],
        "script_command_ratio_5_postgres": details["scripts"]["per_command_postgresql"]["5"]["ratio"],
        # Makespan ÷ best known: ft10 (10×10, 10 s), la36 (15×15, 30 s), the worst of ft06 and la01-la05.
        **{f"sched_ratio_{name}": details["scheduling"][name]["ratio"] for name in ("ft10", "la36")
           if name in details["scheduling"]},
        "sched_ratio_small_worst": max(v["ratio"] for k, v in details["scheduling"].items() if k in (
            "ft06", "la01", "la02", "la03", "la04", "la05")),
        "machine": details["machine"],
    }
    out = args.out if not quick else tmp / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_name("details.json").write_text(json.dumps(details, indent=2) + "\n")
    step(f"done: {out}")
    print(render(results, details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
