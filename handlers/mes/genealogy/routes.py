"""Traceability REST: a lot's genealogy in both directions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from taktflow.engine.core import Engine
from taktflow.handlers.mes.genealogy import service
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import WORK, Principal

router = APIRouter(tags=["mes: traceability"])


@router.get("/lots/{lot_id}/genealogy", responses={404: {"description": "unknown lot"}})
def genealogy(lot_id: RowId, engine: Engine = Depends(get_engine),
              _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    """Back to every consumed lot, machine, operator and inspection (`madeBy`, `consumed`); forward to every
    lot made from it and every sales order those reached (`usedIn`, `salesOrders`)."""
    with engine.db.read() as session:
        return service.genealogy(session, lot_id)
