"""Peak RSS of a server process after 100 000 completed instances (run as its own process).

`python -m bench.rss_bench URL COUNT` boots the runtime and the web app as `taktflow serve` does, then
completes COUNT straight-through instances (start, one service task, end) through the engine API in this
process and prints a JSON line with the peak resident set size along the way.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from bench.common import engine_for


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main(url: str, count: int) -> dict[str, float]:
    from taktflow.bootstrap import Runtime
    from taktflow.config import get_settings
    from taktflow.engine import instances
    from taktflow.web.app import create_app

    engine = engine_for(url, "straight.bpmn")
    create_app(Runtime(get_settings(), engine.db, engine))  # what a server holds besides the engine
    checkpoints: dict[str, float] = {}
    began = time.perf_counter()
    for n in range(count):
        row = instances.start(engine, "bench_straight", business_key=f"S-{n}", variables={"order_no": n}).instance
        assert row.state == "completed"
        if n + 1 in (1_000, 10_000, count):
            checkpoints[f"rss_mb_after_{n + 1}"] = round(current_rss_mb(), 1)
    elapsed = time.perf_counter() - began
    engine.db.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peak_rss_mb": round(peak_mb, 1), **checkpoints, "instances": count,
            "instances_per_s": round(count / elapsed, 1)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
