"""Wiring shared by every entry point (server, worker, CLI, tests): database, schema, engine, processes."""

from __future__ import annotations

import importlib
import logging
import os
import socket
from dataclasses import dataclass

from taktflow.config import Settings
from taktflow.engine.clock import Clock
from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import DeploymentResult, deploy_directory
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.store.db import Database
from taktflow.schema import migrate

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    engine: Engine

    @property
    def node_name(self) -> str:
        return f"{socket.gethostname()}-{os.getpid()}"

    def deploy_processes(self) -> DeploymentResult | None:
        """Deploy `processes/`: a changed file becomes a new version, an unchanged one stays."""
        result = self.engine.command(lambda session: deploy_directory(
            session, str(self.settings.processes_dir), clock=self.engine.clock,
            serializer=self.engine.serializer, source="startup",
        ))
        if result is not None:
            for d in result.definitions:
                log.info("%s %s version %s%s", d.kind, d.key, d.version, " (new)" if d.new else "")
        return result

    def close(self) -> None:
        self.database.dispose()


def boot(
    settings: Settings, *, registry: HandlerRegistry | None = None, clock: Clock | None = None,
    deploy: bool = True,
) -> Runtime:
    """Open the database, apply migrations, build the engine, and deploy the processes directory."""
    import taktflow.handlers  # noqa: F401 - registers the ERP, MES and device handlers

    for module in settings.handler_modules:
        importlib.import_module(module)
    database = Database(settings.database_url)
    migrate(database)
    runtime = Runtime(settings, database, Engine(database, registry=registry, clock=clock))
    if deploy:
        runtime.deploy_processes()
    return runtime
