"""htmx pages for people: login, inbox and task forms, cockpit, designer (server-rendered Jinja2)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from taktflow.engine.errors import EngineError
from taktflow.web.pages import auth, cockpit, designer, erp, inbox, mes, mrp, schedule, start
from taktflow.web.pages.deps import STATIC_DIR, LoginRequired, navigate, render

ROUTERS = [auth.router, inbox.router, cockpit.router, designer.router, erp.router, mes.router, schedule.router,
           mrp.router, start.router]


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/static/", "/docs", "/openapi", "/health"))


def install(app: FastAPI) -> None:
    """Mount the static files and page routers; errors on pages become pages, the API keeps its JSON."""
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import urlencode

        # A swap cannot show the login page: htmx navigates instead.
        return navigate(request, "/login?" + urlencode({"next": exc.next_url}))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not _is_page(request):
            return await http_exception_handler(request, exc)
        titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed"}
        return render(request, "error.html", {"title": titles.get(exc.status_code, "Something went wrong"),
                                              "detail": exc.detail}, status_code=exc.status_code)

    api_engine_error = app.exception_handlers.get(EngineError)

    @app.exception_handler(EngineError)
    async def engine_error(request: Request, exc: EngineError) -> Response:
        if not _is_page(request) and api_engine_error is not None:
            return await api_engine_error(request, exc)
        return render(request, "error.html", {"title": "That did not work", "detail": str(exc)},
                      status_code=exc.status_code)
