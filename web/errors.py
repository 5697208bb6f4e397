"""Engine errors as HTTP responses: one status per error class, a message a person can act on."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
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

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own 422, except that an input echoed back may be NaN or infinity (1e400 parses as
        # infinity): strict JSON cannot carry those, and the default handler fails on them with a 500.
        return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
