"""Items REST."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.erp.items import service
from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.web import num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(prefix="/items", tags=["erp: master data"])


class ItemIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    procurement: str
    standardCost: Decimal  # noqa: N815 - API names
    salePrice: Decimal = Decimal("0")  # noqa: N815
    uom: str = "pcs"
    lotTracked: bool = False  # noqa: N815
    defaultSupplierId: RowId | None = None  # noqa: N815


def item_out(i: Item) -> dict[str, Any]:
    return {"id": i.id, "code": i.code, "name": i.name, "uom": i.uom, "kind": i.kind, "procurement": i.procurement,
            "standardCost": num(i.standard_cost), "salePrice": num(i.sale_price), "lotTracked": i.lot_tracked,
            "defaultSupplierId": i.default_supplier_id, "inventoryAccount": service.inventory_account(i)}


@router.get("")
def list_items(engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [item_out(i) for i in service.list_items(session)]


@router.post("", status_code=201)
def create_item(body: ItemIn, engine: Engine = Depends(get_engine),
                _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    return engine.command(lambda s: item_out(service.create_item(
        s, code=body.code, name=body.name, kind=body.kind, procurement=body.procurement,
        standard_cost=body.standardCost, sale_price=body.salePrice, uom=body.uom, lot_tracked=body.lotTracked,
        default_supplier_id=body.defaultSupplierId)))


@router.get("/{item_id}")
def read_item(item_id: RowId, engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> Any:
    with engine.db.read() as session:
        return item_out(service.get_item(session, item_id))
