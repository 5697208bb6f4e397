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
.venv/bin/ruff check .
.venv/bin/python -m pytest -q --ignore=tests/browser "$@"
# Browser tests in their own process: sync Playwright's event loop breaks asyncio tests sharing a process.
.venv/bin/python -m pytest -q tests/browser
