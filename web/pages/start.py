"""Start a process from the pages, as Camunda Tasklist's "Start process": the processes a person may start,
each with its start form; and the business documents whose forms start theirs (a sales order starts
order-to-cash). After the start, the person goes to the new instance's first task when it is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy import select

from taktflow.engine import instances, tasks
from taktflow.engine.definitions.start_forms import StartForm, start_form, start_forms
from taktflow.engine.errors import EngineError, InvalidVariables
from taktflow.engine.store.models import UserTask
from taktflow.web.auth.access import may_release_work_orders, may_start, may_work_on
from taktflow.web.auth.service import WORK, Principal
from taktflow.web.pages.deps import csrf_protect, get_engine, is_htmx, navigate, render, require_page
from taktflow.web.pages.inbox import form_fields, posted_variables

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class DocumentStart:
    """A business document whose form books it and starts its process."""

    href: str
    label: str
    process: str
    allowed: Callable[[Principal], bool]


DOCUMENT_STARTS = (
    DocumentStart("/erp/sales/new", "New sales order", "order_to_cash", lambda p: p.may(WORK)),
    DocumentStart("/erp/requisitions/new", "New purchase requisition", "procure_to_pay", lambda p: p.may(WORK)),
    DocumentStart("/mes/work-orders/new", "New work order", "work_order", may_release_work_orders),
)


@router.get("/start")
def start_list(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    with get_engine(request).db.read() as session:
        forms = [f for f in start_forms(session) if may_start(principal, f)]
    return render(request, "start/index.html", {
        "forms": forms, "documents": [d for d in DOCUMENT_STARTS if d.allowed(principal)]})


def _startable(request: Request, principal: Principal, key: str) -> StartForm:
    with get_engine(request).db.read() as session:
        form = start_form(session, key)
    if not (form.has_none_start and form.startable_in_tasklist):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"process {key} is not started by hand")
    if not may_start(principal, form):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"process {form.name} may be started by "
                            f"{', '.join(sorted(form.candidate_groups | form.candidate_users))}")
    return form


def _form_page(request: Request, form: StartForm, *, submitted: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, problem: str | None = None, status_code: int = 200) -> Response:
    fields = form_fields(form.fields, {}, submitted, errors or {})
    block = "form" if is_htmx(request) and request.method == "POST" else None
    return render(request, "start/form.html", {
        "form": form, "fields": fields, "business_key": (submitted or {}).get("business_key", ""),
        "problem": problem, "errors": [error for f in fields for error in f.errors],
    }, block=block, status_code=status_code)


@router.get("/start/{key}")
def start_page(request: Request, key: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    return _form_page(request, _startable(request, principal, key))


@router.post("/start/{key}", dependencies=[Depends(csrf_protect)])
async def start(request: Request, key: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    form = _startable(request, principal, key)
    posted = await request.form()
    submitted, posted_values = posted_variables(form.fields, posted)
    submitted["business_key"] = str(posted.get("business_key") or "").strip()
    engine = get_engine(request)
    try:
        # The start form's fields, typed and checked as a task form's are; nothing else becomes a variable.
        variables = tasks.validate_form(form.fields, posted_values, form_key=form.form_key)
        business_key = (str(variables.get(form.business_key_field) or "") if form.business_key_field
                        else submitted["business_key"]) or None
        run = instances.start(engine, key, business_key=business_key, variables=variables, actor=principal.name)
    except InvalidVariables as exc:
        return _form_page(request, form, submitted=submitted, errors={e.field: e.message for e in exc.errors},
                          status_code=422)
    except EngineError as exc:
        if exc.status_code >= 500:
            raise
        return _form_page(request, form, submitted=submitted, problem=str(exc), status_code=422)
    instance_id = run.instance.id
    with engine.db.read() as session:
        # user_task holds the open tasks only
        first = next((t for t in session.scalars(select(UserTask).where(UserTask.instance_id == instance_id)
                                                 .order_by(UserTask.created_at)) if may_work_on(principal, t)), None)
    if first is not None:
        return navigate(request, f"/tasks/{first.id}")
    label = f"{form.name} ({business_key})" if business_key else form.name
    return navigate(request, "/inbox?" + urlencode({"started": label}))
