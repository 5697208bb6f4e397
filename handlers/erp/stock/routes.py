"""Stock REST: warehouses, locations, on hand per item/location/lot, stock moves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.erp.stock import service
from taktflow.handlers.erp.web import num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64, RowId
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(tags=["erp: stock"])


class WarehouseIn(BaseModel):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=200)


@router.get("/warehouses")
def warehouses(engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [{"id": w.id, "code": w.code, "name": w.name} for w in service.list_warehouses(session)]


@router.post("/warehouses", status_code=201)
def create_warehouse(body: WarehouseIn, engine: Engine = Depends(get_engine),
                     _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        w = service.create_warehouse(session, code=body.code, name=body.name)
        return {"id": w.id, "code": w.code, "name": w.name}

    return engine.command(work)


@router.get("/locations")
def locations(warehouseId: RowId | None = None, engine: Engine = Depends(get_engine),  # noqa: N803
              _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [{"id": loc.id, "code": loc.code, "name": loc.name, "usage": loc.usage, "warehouseId": loc.warehouse_id}
                for loc in service.list_locations(session, warehouse_id=warehouseId)]


@router.get("/stock")
def on_hand(itemId: RowId | None = None, locationId: RowId | None = None,  # noqa: N803 - API names
            engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [{"itemId": lv.item_id, "item": lv.item_code, "locationId": lv.location_id, "location": lv.location_code,
                 "lotId": lv.lot_id, "lot": lv.lot_code, "quantity": num(lv.quantity), "reserved": num(lv.reserved)}
                for lv in service.stock_levels(session, item_id=itemId, location_id=locationId)]


@router.get("/stock/moves")
def moves(
    itemId: RowId | None = None, locationId: RowId | None = None, lotId: RowId | None = None,  # noqa: N803
    documentType: str | None = None, processInstanceId: str | None = None,  # noqa: N803
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),
    engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK)),
) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        rows = service.list_moves(session, limit=limit, offset=offset, item_id=itemId, location_id=locationId,
                                  lot_id=lotId, document_type=documentType, instance_id=processInstanceId)
        return [{"id": m.id, "itemId": m.item_id, "lotId": m.lot_id, "fromLocationId": m.from_location_id,
                 "toLocationId": m.to_location_id, "quantity": num(m.quantity), "unitCost": num(m.unit_cost),
                 "value": num(m.value), "movedAt": m.moved_at,
                 "document": {"type": m.document_type, "id": m.document_id, "number": m.document_number},
                 "processInstanceId": m.instance_id, "journalEntryId": m.journal_entry_id} for m in rows]
