#!/usr/bin/env bash
# `make bench`: install what the benchmarks need, start a throwaway PostgreSQL, run every benchmark in one run
# (bench/run.py → bench/results.json, bench/details.json), put the table into README.md, stop PostgreSQL.
# Extra arguments go to bench/run.py (e.g. --quick for a smoke run that writes nothing into the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-apt.sh postgresql
# The profiler used to find the hot paths (python -m bench.profile); not needed by the product.
.venv/bin/pip install -q 'pyinstrument>=5,<6' 2>&1 | grep -v "WARNING: Location" || true
pgdir=$(mktemp -d /tmp/taktflow-bench-pg.XXXXXX)
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'scripts/pg.sh stop "$pgdir"' EXIT
url=$(scripts/pg.sh start "$pgdir" "$port" | tail -1)
PYTHONPATH=. .venv/bin/python -m bench.run --postgres-url "$url" "$@"
case " $* " in
  *" --quick "*) ;;
  *) PYTHONPATH=. .venv/bin/python -m bench.table --readme >/dev/null ;;
esac
