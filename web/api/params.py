"""Bounded numbers for API parameters and bodies.

JSON and query strings carry integers of any size; the database does not (INTEGER is 32 bits on PostgreSQL,
SQLite binds at most 64). A number no column can hold is refused here with a 422 naming the field, instead of
failing as an overflow deep in a query. Decimals are bounded where they are parsed (`erp.documents.dec`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import AfterValidator

from taktflow.engine.store.models import MAX_INT32, MAX_INT64

__all__ = ["MAX_INT32", "MAX_INT64", "Count", "RowId", "Variables"]

RowId = Annotated[int, Interval(ge=1, le=MAX_INT32)]
"""A row's id (path, query or body): ids are INTEGER columns."""

Count = Annotated[int, Interval(ge=0, le=MAX_INT32)]
"""A non-negative count or small number stored in an INTEGER column (retries, days, sequence in a routing)."""


def _json_safe(value: Any, path: str) -> None:
    """Refuse what JSON can parse but no column or client can hold: NaN/Infinity (and 1e400, which parses as
    infinity) and integers beyond 64 bits (a JavaScript client loses them, an id lookup overflows)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value} is not a finite number")
    elif isinstance(value, int):
        if not -MAX_INT64 - 1 <= value <= MAX_INT64:
            raise ValueError(f"{path}: integer does not fit in 64 bits")
    elif isinstance(value, dict):
        for key, item in value.items():
            _json_safe(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _json_safe(item, f"{path}[{index}]")


def _check_variables(value: dict[str, Any]) -> dict[str, Any]:
    for name, item in value.items():
        _json_safe(item, name)
    return value


Variables = Annotated[dict[str, Any], AfterValidator(_check_variables)]
"""Process variables from a client: any JSON object whose numbers are finite and fit in 64 bits."""
