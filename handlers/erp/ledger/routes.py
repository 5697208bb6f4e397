"""Ledger REST: accounts, journal entries with lines, trial balance, account ledger."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from taktflow.engine.core import Engine
from taktflow.handlers.erp.ledger import service
from taktflow.handlers.erp.web import num
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64, RowId
from taktflow.web.auth.service import FINANCE, Principal

router = APIRouter(prefix="/ledger", tags=["erp: ledger"])


@router.get("/accounts")
def accounts(engine: Engine = Depends(get_engine), _: Principal = Depends(require(FINANCE))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [{"code": a.code, "name": a.name, "kind": a.kind} for a in service.list_accounts(session)]


@router.get("/journal-entries")
def journal_entries(
    documentType: str | None = None, documentId: RowId | None = None,  # noqa: N803 - API names
    processInstanceId: str | None = None, account: str | None = None,  # noqa: N803
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT64),
    engine: Engine = Depends(get_engine), _: Principal = Depends(require(FINANCE)),
) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        entries = service.list_journal_entries(session, limit=limit, offset=offset, document_type=documentType,
                                               document_id=documentId, instance_id=processInstanceId, account=account)
        return [{
            "id": e.id, "postedAt": e.posted_at, "memo": e.memo, "bookingKey": e.booking_key,
            "document": {"type": e.document_type, "id": e.document_id, "number": e.document_number},
            "processInstanceId": e.instance_id,
            "lines": [{"account": ln.account_code, "debit": num(ln.debit), "credit": num(ln.credit),
                       "partnerId": ln.partner_id, "itemId": ln.item_id, "label": ln.label} for ln in e.lines],
        } for e in entries]


@router.get("/trial-balance")
def trial_balance(engine: Engine = Depends(get_engine), _: Principal = Depends(require(FINANCE))) -> dict[str, Any]:
    with engine.db.read() as session:
        rows = service.trial_balance(session)
    return {
        "accounts": [{"account": r.account, "name": r.name, "kind": r.kind, "debit": num(r.debit),
                      "credit": num(r.credit), "balance": num(r.balance)} for r in rows],
        "totalDebit": num(sum(r.debit for r in rows)), "totalCredit": num(sum(r.credit for r in rows)),
    }


@router.get("/accounts/{code}/lines")
def account_ledger(
    code: str, limit: int = Query(500, ge=1, le=5000), offset: int = Query(0, ge=0, le=MAX_INT64),
    engine: Engine = Depends(get_engine), _: Principal = Depends(require(FINANCE)),
) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [{"entryId": e.id, "postedAt": e.posted_at, "memo": e.memo, "debit": num(ln.debit),
                 "credit": num(ln.credit), "document": {"type": e.document_type, "number": e.document_number}}
                for ln, e in service.account_ledger(session, code, limit=limit, offset=offset)]
