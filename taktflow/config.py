"""Settings read from the environment (one place, so every entry point agrees)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_FILE = "taktflow.db"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get(
            "TAKTFLOW_DATABASE_URL", f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"
        )
    )
    # Extra modules whose import registers service-task handlers (plugins, test doubles).
    handler_modules: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            m.strip() for m in os.environ.get("TAKTFLOW_HANDLER_MODULES", "").split(",") if m.strip()
        )
    )
    processes_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("TAKTFLOW_PROCESSES_DIR", REPO_ROOT / "processes"))
    )
    # The company currency (ISO 4217): every amount in the books is in it (no multi-currency yet).
    currency: str = field(default_factory=lambda: os.environ.get("TAKTFLOW_CURRENCY", "EUR").strip().upper())


def get_settings() -> Settings:
    return Settings()
