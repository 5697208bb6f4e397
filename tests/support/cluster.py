"""Several real `taktflow serve` processes over one database, for the chaos and concurrency tests."""

from __future__ import annotations

from pathlib import Path

from tests.support import MODELS
from tests.support.server import cli_env, run_cli


def api_env(database_url: str, tmp: Path, *models: str, **extra: str) -> tuple[dict[str, str], dict[str, str]]:
    """Environment for CLI processes that deploy `models` at start-up, and an admin's API headers."""
    processes = tmp / "processes"
    processes.mkdir()
    for name in models:
        (processes / name).write_bytes((MODELS / name).read_bytes())
    env = cli_env(database_url, TAKTFLOW_PROCESSES_DIR=str(processes), **extra)
    created = run_cli(["token", "create", "test-suite", "--role", "admin"], env)
    assert created.returncode == 0, created.stderr
    return env, {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
