"""What the script sandbox costs: a script task's code run in a worker process (engine/sandbox.py) against
the same code run in the server process, per script; the worker pool is warm (started before timing)."""

from __future__ import annotations

import time
from typing import Any

from taktflow.engine.scripting import RestrictedEnvironment

SCRIPT = "total = price * qty\nlines = [{'n': i, 'amount': price} for i in range(qty)]"


def overhead(runs: int) -> dict[str, Any]:
    sandboxed = RestrictedEnvironment()
    in_process = RestrictedEnvironment()
    in_process.sandboxed = False
    sandboxed.execute(SCRIPT, {"price": 1, "qty": 1}, {})  # start the worker outside the timing
    timings = {}
    for name, env in (("sandbox", sandboxed), ("in_process", in_process)):
        began = time.perf_counter()
        for n in range(runs):
            env.execute(SCRIPT, {"price": n, "qty": 10, "customer": "ACME", "lines": []}, {})
        timings[name] = round((time.perf_counter() - began) / runs * 1000, 3)
    return {"runs": runs, "sandbox_ms": timings["sandbox"], "in_process_ms": timings["in_process"],
            "overhead_ms": round(timings["sandbox"] - timings["in_process"], 3)}


if __name__ == "__main__":
    print(overhead(2000))
