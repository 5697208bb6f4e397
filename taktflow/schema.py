"""The application's schema: every slice's models on one metadata, migrated by Alembic on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig

import taktflow.handlers.devices.models  # noqa: F401 - registers the device tables
import taktflow.handlers.erp.models  # noqa: F401 - registers the ERP tables
import taktflow.handlers.mes.models  # noqa: F401 - registers the MES tables
import taktflow.web.auth.models  # noqa: F401 - registers the tables
from taktflow.engine.store.db import Database
from taktflow.engine.store.models import Base

metadata = Base.metadata
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(database: Database) -> None:
    """Bring the schema to the newest revision (applied on every start; a no-op when current)."""
    with database.engine.begin() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        # "heads": every slice (engine, auth, erp, mes, devices) may carry its own branch of revisions.
        alembic_command.upgrade(cfg, "heads")
