"""The benchmark table, from bench/results.json (and details.json): printed, or written into README.md.

    python -m bench.table            print the table
    python -m bench.table --readme   replace the table between the bench markers in README.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def render(results: dict[str, Any], details: dict[str, Any] | None = None) -> str:
    d = details or {}

    def extra(text: str) -> str:
        return f" ({text})" if d else ""

    eng = {k: d.get(f"engine_{k}", {}) for k in ("sqlite", "postgresql")}
    floor = {k: d.get(f"floor_{k}", {}) for k in ("sqlite", "postgresql")}
    mi = d.get("multi_instance", {})
    inbox = d.get("inbox_postgresql", {})
    http = d.get("http", {})
    sig = d.get("signals", {})
    scripts = d.get("scripts", {})
    writers = scripts.get("writers_sqlite", {})
    signal_path = ("`POST /api/v1/devices/{id}/signals`" if sig.get("path") == "devices"
                   else "message correlation, `POST /api/v1/messages`")
    rows = [
        ("Engine throughput, SQLite, as a ratio to raw SpiffWorkflow in memory (goal ≥ 0.5)",
         results["engine_ratio_sqlite"],
         extra(f"{eng['sqlite'].get('engine_per_s')} vs {eng['sqlite'].get('raw_per_s')} instances/s")),
        ("Engine throughput, PostgreSQL, ratio to raw SpiffWorkflow (goal ≥ 0.5)",
         results["engine_ratio_postgres"],
         extra(f"{eng['postgresql'].get('engine_per_s')} vs {eng['postgresql'].get('raw_per_s')} instances/s")),
        *[(f"Highest ratio the engine's statements leave room for, {name}: raw ÷ (raw + database floor)",
           results.get(f"engine_ceiling_{key}"),
           extra(f"the {floor[kind].get('statements')} statements in {floor[kind].get('transactions')} transactions "
                 f"of one order replayed alone: {floor[kind].get('floor_ms')} ms; raw SpiffWorkflow "
                 f"{floor[kind].get('raw_ms')} ms"))
          for name, key, kind in (("SQLite", "sqlite", "sqlite"), ("PostgreSQL", "postgres", "postgresql"))
          if results.get(f"engine_ceiling_{key}") is not None],
        ("Multi-instance time per item, 300 items ÷ 100 items (1.0 = linear)", results["mi_time_ratio_300_100"],
         extra(f"{mi.get('100', {}).get('ms_per_item')} → {mi.get('300', {}).get('ms_per_item')} ms per item")),
        ("Multi-instance stored state per item at 300 items (bytes)", results["mi_bytes_per_item_300"],
         extra(f"{mi.get('10', {}).get('stored_bytes_per_item')} at 10, "
               f"{mi.get('100', {}).get('stored_bytes_per_item')} at 100; raw SpiffWorkflow JSON "
               f"{mi.get('300', {}).get('raw_spiff_state_bytes')} bytes at 300")),
        ("Inbox p95 with 1 000 open tasks, PostgreSQL (ms; goal < 20)", results["inbox_p95_ms_1k"],
         extra(f"p50 {inbox.get('1000', {}).get('p50')} ms")),
        ("Inbox p95 with 100 000 open tasks, PostgreSQL (ms; goal < 20, ≤ 2× the 1 000 case)",
         results["inbox_p95_ms_100k"], extra(f"p50 {inbox.get('100000', {}).get('p50')} ms; SQLite p95 "
                                             f"{d.get('inbox_sqlite', {}).get('100000', {}).get('p95')} ms")),
        ("HTTP start-instance requests/s, 2 servers, loopback", results["http_starts_per_s"],
         extra(f"complete-task {http.get('completes', {}).get('per_s')}/s; start p50 "
               f"{http.get('starts', {}).get('p50')} ms under 16 clients")),
        ("Device signals/s, 2 servers", results["signals_per_s"], extra(f"via {signal_path}")),
        ("Signal-to-token latency p99 (ms)", results["signal_latency_p99_ms"],
         extra(f"p50 {sig.get('p50')} ms, one machine at a time; p99 {sig.get('loaded_p99')} ms under load")),
        *([("Script task in the sandbox's worker process, extra time per script (ms)",
            results["script_sandbox_overhead_ms"],
            extra(f"{scripts.get('sandbox_ms')} ms in the worker vs "
                  f"{scripts.get('in_process_ms')} ms in the server process"))]
          if results.get("script_sandbox_overhead_ms") is not None else []),
        *([("Another writer (an instance start to end) while a script runs, SQLite, p99 (ms)",
            results["script_writer_p99_ms_sqlite"],
            extra(f"the script spins {writers.get('spin_s')} s; "
                  f"p50 {writers.get('outside_transaction', {}).get('p50')} ms, "
                  f"max {writers.get('outside_transaction', {}).get('max')} ms; "
                  f"{writers.get('inside_transaction', {}).get('max')} ms when the script ran inside the "
                  f"command's transaction"))]
          if results.get("script_writer_p99_ms_sqlite") is not None else []),
        *([("A command with 5 script tasks, run again after each script ÷ all inside the transaction, PostgreSQL",
            results["script_command_ratio_5_postgres"],
            extra("; ".join(f"{k} scripts {v['outside_transaction_ms']} vs {v['inside_transaction_ms']} ms"
                            for k, v in scripts.get("per_command_postgresql", {}).items())))]
          if results.get("script_command_ratio_5_postgres") is not None else []),
        ("Peak server RSS after 100 000 completed instances (MB)", results["rss_mb_after_100k"],
         extra(f"resident {d.get('rss', {}).get('rss_mb_after_1000')} MB after 1 000, "
               f"{d.get('rss', {}).get('rss_mb_after_100000')} MB after 100 000; "
               f"{d.get('rss', {}).get('instances_per_s')} instances/s, SQLite")),
    ]
    sched = d.get("scheduling", {})

    def schedule_detail(*names: str) -> str:
        return extra("; ".join(
            f"{n} {sched[n]['makespan']} vs {sched[n]['best_known']}, {sched[n]['status']} in "
            f"{sched[n]['solve_seconds']} s, greedy {sched[n]['greedy_ratio']}" for n in names if n in sched))

    rows += [
        (title, results[key], schedule_detail(*names)) for title, key, names in (
            ("Job-shop makespan ÷ best known, ft10 10×10 within 10 s, through the API (goal ≤ 1.02)",
             "sched_ratio_ft10", ("ft10",)),
            ("Job-shop makespan ÷ best known, la36 15×15 within 30 s (goal ≤ 1.05)", "sched_ratio_la36", ("la36",)),
            ("Job-shop makespan ÷ best known, worst of ft06 and la01-la05 (10 s each)", "sched_ratio_small_worst",
             ("ft06", "la01", "la02", "la03", "la04", "la05")),
        ) if key in results]
    lines = ["| Measure | Result | Detail |", "|---|---:|---|"]
    lines += [f"| {name} | {value} | {detail.strip(' ()')} |" for name, value, detail in rows]
    m = results["machine"]
    lines += ["", f"Measured in one `make bench` run on: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}, "
              f"Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, "
              f"SpiffWorkflow {m['spiffworkflow']}."]
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> None:
    content = readme.read_text()
    if START not in content or END not in content:
        raise SystemExit(f"{readme} has no {START} … {END} markers")
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--readme", nargs="?", const=HERE.parent / "README.md", type=Path, default=None)
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    details_file = args.results.with_name("details.json")
    details = json.loads(details_file.read_text()) if details_file.exists() else None
    table = render(results, details)
    if args.readme:
        update_readme(args.readme, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
