"""Bounded integers for API parameters and bodies.

JSON and query strings carry integers of any size; the database does not (INTEGER is 32 bits on PostgreSQL,
SQLite binds at most 64). A number no column can hold is refused here with a 422 naming the field, instead of
failing as an overflow deep in a query. Decimals are bounded where they are parsed (`erp.documents.dec`).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

from taktflow.engine.store.models import MAX_INT32, MAX_INT64

__all__ = ["MAX_INT32", "MAX_INT64", "Count", "RowId"]

RowId = Annotated[int, Interval(ge=1, le=MAX_INT32)]
"""A row's id (path, query or body): ids are INTEGER columns."""

Count = Annotated[int, Interval(ge=0, le=MAX_INT32)]
"""A non-negative count or small number stored in an INTEGER column (retries, days, sequence in a routing)."""
