#!/usr/bin/env bash
# `make test`: install what the suite needs, start a throwaway PostgreSQL, run ruff and the whole suite on
# SQLite and PostgreSQL, stop PostgreSQL again (also on failure). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages the suite uses; a missing one is installed, never skipped.
scripts/ensure-apt.sh postgresql mosquitto chromium
pgdir=$(mktemp -d /tmp/taktflow-pg.XXXXXX)
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'scripts/pg.sh stop "$pgdir"' EXIT
export TAKTFLOW_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir" "$port" | tail -1)
export CI=${CI:-true}
# The betsy conformance models may not be copied into the repository (licence): they are read from BETSY
# (`make test BETSY=DIR`, default ../shared/conformance/betsy). A clone without them runs everything else and
# says so; `make conformance` needs them and fails without.
betsy_dir=${TAKTFLOW_BETSY_DIR:-../shared/conformance/betsy}
select=()
if [ -d "$betsy_dir" ]; then
  export TAKTFLOW_BETSY_DIR=$(cd "$betsy_dir" && pwd)
else
  echo "make test: no betsy suite at $betsy_dir: the tests marked 'betsy' are left out (\`make test BETSY=DIR\` runs them)"
  select=(-m "not betsy")
fi
.venv/bin/ruff check .
.venv/bin/python -m pytest -q --ignore=tests/browser "${select[@]}" "$@"
# Browser tests in their own process: sync Playwright's event loop breaks asyncio tests sharing a process.
.venv/bin/python -m pytest -q tests/browser
