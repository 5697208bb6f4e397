"""MRP screen: the latest run's proposals with their pegging and exceptions; run MRP, firm a proposal.

Thin: planning is handlers/erp/planning; this module reads a run and calls its service.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taktflow.engine.errors import EngineError
from taktflow.handlers.erp.planning import service as planning
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import OPERATE, WORK, Principal
from taktflow.web.pages.deps import csrf_protect, get_engine, is_htmx, render, require_page, see_other

router = APIRouter(prefix="/erp", include_in_schema=False)


def _context(session: Session, run_id: int | None) -> dict[str, Any]:
    run = planning.get_run(session, run_id) if run_id else planning.latest_run(session)
    return {"run": run}


@router.get("/mrp")
def mrp_page(request: Request, run: int | None = None, _: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        return render(request, "planning/mrp.html", {**_context(session, run),
                                                     "message": request.query_params.get("msg")})


def _answer(request: Request, run_id: int | None, message: str, failed: bool) -> Response:
    if not is_htmx(request) and not failed:
        return see_other("/erp/mrp?" + urlencode({"msg": message, **({"run": run_id} if run_id else {})}))
    with get_engine(request).db.read() as session:
        return render(request, "planning/mrp.html", {**_context(session, run_id), "message": message,
                                                     "failed": failed},
                      block="mrp" if is_htmx(request) else None, status_code=422 if failed else 200)


@router.post("/mrp", dependencies=[Depends(csrf_protect)])
async def run_mrp(request: Request, principal: Principal = Depends(require_page(OPERATE))) -> Response:
    engine = get_engine(request)
    try:
        run = await run_in_threadpool(planning.start_run, engine, actor=principal.name)
    except EngineError as exc:
        return _answer(request, None, f"MRP did not run: {exc}", True)
    return _answer(request, run.id, f"{run.number} planned {len(run.proposals)} proposals", False)


@router.post("/mrp/proposals/{proposal_id}/firm", dependencies=[Depends(csrf_protect)])
async def firm(request: Request, proposal_id: RowId, principal: Principal = Depends(require_page(OPERATE))) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        run_id = planning.get_proposal(session, proposal_id).run_id
    try:
        proposal = await run_in_threadpool(planning.firm_proposal, engine, proposal_id, actor=principal.name)
    except EngineError as exc:
        return _answer(request, run_id, f"Not firmed: {exc}", True)
    return _answer(request, run_id, f"{proposal.number} firmed as {proposal.firmed_document}", False)
