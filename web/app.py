"""The FastAPI application: REST API under /api/v1, htmx pages for people, static assets."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

import taktflow.handlers  # noqa: F401 - registers the ERP, MES and device handlers
from taktflow import __version__
from taktflow.bootstrap import Runtime
from taktflow.engine.jobs import Worker
from taktflow.handlers.devices.routes import router as devices_router
from taktflow.handlers.devices.watchdog import SilenceWatchdog
from taktflow.handlers.erp.api import router as erp_router
from taktflow.handlers.mes.api import router as mes_router
from taktflow.web import errors
from taktflow.web.api import router as api_router
from taktflow.web.nul_guard import RefuseNul
from taktflow.web.pages import install as install_pages

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, embedded_worker: bool = False) -> FastAPI:
    """`embedded_worker` runs timers and retries inside the server (the single-process SQLite setup)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = watchdog = None
        if embedded_worker:
            worker = Worker(runtime.engine, f"{runtime.node_name}-embedded")
            threading.Thread(target=worker.run, name="taktflow-worker", daemon=True).start()
            watchdog = SilenceWatchdog(runtime.engine).start()  # machine.silent for machines that push over HTTP
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if watchdog is not None:
                watchdog.stop()

    # /docs is served below from the npm-pinned Swagger UI in /static, not FastAPI's CDN default: plants run
    # offline. ReDoc would load from a CDN too, so it is off.
    app = FastAPI(title="Taktflow", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="BPMN process platform for ERP and MES: deploy, start and drive process instances.")
    app.state.engine = runtime.engine
    app.state.runtime = runtime
    errors.install(app)
    app.add_middleware(RefuseNul)
    app.include_router(api_router)
    app.include_router(devices_router, prefix="/api/v1")
    app.include_router(erp_router)
    app.include_router(mes_router)
    install_pages(app)

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        vendor = "/static/vendor/swagger-ui"
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="Taktflow API",
                                   swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{vendor}/swagger-ui.css",
                                   swagger_favicon_url=f"{vendor}/favicon-32x32.png")

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
