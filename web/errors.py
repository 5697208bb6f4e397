"""Engine errors as HTTP responses: one status per error class, a message a person can act on."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from taktflow.engine.errors import EngineError, InvalidModel, InvalidVariables


def install(app: FastAPI) -> None:
    @app.exception_handler(EngineError)
    async def engine_error(request: Request, exc: EngineError) -> JSONResponse:
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, InvalidModel):
            body["errors"] = [p.as_dict() for p in exc.problems]
        elif isinstance(exc, InvalidVariables):
            body["errors"] = [{"field": e.field, "message": e.message} for e in exc.errors]
        return JSONResponse(body, status_code=exc.status_code)
