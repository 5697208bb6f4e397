"""The FastAPI application: REST API under /api/v1 (pages come with the web issue)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import taktflow.handlers  # noqa: F401 - registers the ERP, MES and device handlers
from taktflow import __version__
from taktflow.bootstrap import Runtime
from taktflow.engine.jobs import Worker
from taktflow.web import errors
from taktflow.web.api import router as api_router

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, embedded_worker: bool = False) -> FastAPI:
    """`embedded_worker` runs timers and retries inside the server (the single-process SQLite setup)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if embedded_worker:
            worker = Worker(runtime.engine, f"{runtime.node_name}-embedded")
            threading.Thread(target=worker.run, name="taktflow-worker", daemon=True).start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(title="Taktflow", version=__version__, lifespan=lifespan,
                  description="BPMN process platform for ERP and MES: deploy, start and drive process instances.")
    app.state.engine = runtime.engine
    app.state.runtime = runtime
    errors.install(app)
    app.include_router(api_router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
