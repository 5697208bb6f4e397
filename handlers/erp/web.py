"""What the ERP routes share: the engine and caller (web/api/deps.py), and JSON shapes of documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from taktflow.handlers.erp.documents import Stateful


def num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def document_out(doc: Stateful, **extra: Any) -> dict[str, Any]:
    """Number, state and the actions the state allows, plus the document's own fields."""
    return {"id": doc.id, "number": doc.number, "state": doc.state,  # type: ignore[attr-defined]
            "allowedActions": type(doc).actions_from(doc.state), **extra}
