"""What every MES slice shares: quantity and money columns, number conversion, and its error class.

State machines use the ERP's `documents.transition` (one transitions table per document, one place that
enforces it), and quantities/amounts its `qty` / `money`, so both slices round the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric

from taktflow.engine.errors import EngineError
from taktflow.handlers.erp.documents import dec, money, qty  # noqa: F401 - re-exported for the MES slices

Quantity = Numeric(18, 4)
Money = Numeric(18, 2)
ZERO = Decimal(0)


class MesError(EngineError):
    """Bad input from a person, a machine or a process: refused with a message, nothing booked (HTTP 422)."""

    status_code = 422


def as_number(value: Decimal | None) -> float | int | None:
    """A quantity as a JSON number for process variables (whole numbers stay ints)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def variable(variables: Mapping[str, Any], name: str) -> Any:
    """A process variable the model must have set; a clear error names the missing one."""
    value = variables.get(name)
    if value in (None, ""):
        raise MesError(f"the process variable {name!r} is missing")
    return value


def quantity_of(value: Any, what: str) -> Decimal:
    """A non-negative quantity from user input (forms, API), with a message naming the field."""
    try:
        result = qty(value, what)
    except EngineError as exc:
        raise MesError(str(exc)) from None
    if result < 0:
        raise MesError(f"{what} must not be negative")
    return result
