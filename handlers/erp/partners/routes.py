"""Partners REST."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.erp.partners import service
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.web import num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import Count, RowId
from taktflow.web.auth.service import OPERATE, WORK, Principal

router = APIRouter(prefix="/partners", tags=["erp: master data"])


class PartnerIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    isCustomer: bool = False  # noqa: N815 - API names
    isSupplier: bool = False  # noqa: N815
    creditLimit: Decimal = Decimal("0")  # noqa: N815
    paymentTermsDays: Count = 30  # noqa: N815
    email: str | None = None


def partner_out(p: Partner) -> dict[str, Any]:
    return {"id": p.id, "code": p.code, "name": p.name, "isCustomer": p.is_customer, "isSupplier": p.is_supplier,
            "creditLimit": num(p.credit_limit), "paymentTermsDays": p.payment_terms_days, "email": p.email}


@router.get("")
def list_partners(role: str | None = None, engine: Engine = Depends(get_engine),
                  _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [partner_out(p) for p in service.list_partners(session, role=role)]


@router.post("", status_code=201)
def create_partner(body: PartnerIn, engine: Engine = Depends(get_engine),
                   _: Principal = Depends(require(OPERATE))) -> dict[str, Any]:
    return engine.command(lambda s: partner_out(service.create_partner(
        s, code=body.code, name=body.name, is_customer=body.isCustomer, is_supplier=body.isSupplier,
        credit_limit=body.creditLimit, payment_terms_days=body.paymentTermsDays, email=body.email)))


@router.get("/{partner_id}")
def read_partner(partner_id: RowId, engine: Engine = Depends(get_engine),
                 _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return partner_out(service.get_partner(session, partner_id))
