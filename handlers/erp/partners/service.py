"""Partners: create, read, list, and the facts a credit check needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.documents import money
from taktflow.handlers.erp.errors import ErpError, NotFound
from taktflow.handlers.erp.partners.models import Partner


def create_partner(
    session: Session, *, code: str, name: str, is_customer: bool = False, is_supplier: bool = False,
    credit_limit: Any = 0, payment_terms_days: int = 30, email: str | None = None,
) -> Partner:
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise ErpError("a partner needs a code and a name")
    if not (is_customer or is_supplier):
        raise ErpError(f"partner {code}: mark it a customer, a supplier, or both")
    limit = money(credit_limit)
    if limit < 0:
        raise ErpError(f"partner {code}: the credit limit must not be negative")
    if payment_terms_days < 0:
        raise ErpError(f"partner {code}: payment terms must not be negative")
    if session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise ErpError(f"a partner with code {code} exists already")
    partner = Partner(code=code, name=name, is_customer=is_customer, is_supplier=is_supplier, credit_limit=limit,
                      payment_terms_days=payment_terms_days, email=email)
    session.add(partner)
    session.flush()
    return partner


def get_partner(session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"partner {partner_id} does not exist")
    return partner


def partner_by_code(session: Session, code: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise NotFound(f"partner {code} does not exist")
    return partner


def list_partners(session: Session, *, role: str | None = None) -> list[Partner]:
    stmt = select(Partner).order_by(Partner.code)
    if role == "customer":
        stmt = stmt.where(Partner.is_customer.is_(True))
    elif role == "supplier":
        stmt = stmt.where(Partner.is_supplier.is_(True))
    elif role is not None:
        raise ErpError("role must be customer or supplier")
    return list(session.scalars(stmt))


def update_credit_limit(session: Session, partner_id: int, credit_limit: Any) -> Partner:
    partner = get_partner(session, partner_id)
    limit = money(credit_limit)
    if limit < 0:
        raise ErpError("the credit limit must not be negative")
    partner.credit_limit = limit
    return partner


def require_customer(session: Session, partner_id: int) -> Partner:
    partner = get_partner(session, partner_id)
    if not partner.is_customer:
        raise ErpError(f"partner {partner.code} is not a customer")
    return partner


def require_supplier(session: Session, partner_id: int) -> Partner:
    partner = get_partner(session, partner_id)
    if not partner.is_supplier:
        raise ErpError(f"partner {partner.code} is not a supplier")
    return partner
