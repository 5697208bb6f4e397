"""Where the engine's time goes: pyinstrument over the order-to-cash benchmark loop (scripts/bench.sh installs it).

    python -m bench.profile [sqlite|postgresql] [--postgres-url URL] [--instances N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.common import engine_for, fresh_database
from bench.engine_bench import O2C_MODEL, run_engine_order


def main(argv: list[str] | None = None) -> int:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database", choices=("sqlite", "postgresql"), nargs="?", default="sqlite")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--instances", type=int, default=150)
    args = parser.parse_args(argv)
    with fresh_database(args.database, args.postgres_url, Path(tempfile.mkdtemp())) as url:
        engine = engine_for(url, O2C_MODEL)
        for n in range(20):
            run_engine_order(engine, -n - 1)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for n in range(args.instances):
            run_engine_order(engine, n)
        profiler.stop()
        engine.db.dispose()
    print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
