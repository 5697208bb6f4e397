"""Inbox and task pages: what is waiting for me, claim and unclaim, and the task's form."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from taktflow.engine import instances, tasks
from taktflow.engine.errors import Conflict, EngineError, InvalidVariables, NotFound
from taktflow.engine.store.models import UserTask
from taktflow.web.auth.access import may_see, may_work_on
from taktflow.web.auth.service import WORK, Principal
from taktflow.web.pages.deps import csrf_protect, get_engine, is_htmx, render, require_page, see_other
from taktflow.web.pages.inbox_query import DUE, PRIORITY, SCOPES, InboxFilter, inbox

router = APIRouter(include_in_schema=False)


def _filter_of(values: Any) -> InboxFilter:
    try:
        page = int(values.get("page") or 1)
    except ValueError:
        page = 1
    return InboxFilter(scope=values.get("scope") or "open", process=values.get("process") or "",
                       due=values.get("due") or "", priority=values.get("priority") or "", q=values.get("q") or "",
                       page=page)


def _inbox_response(request: Request, principal: Principal, f: InboxFilter, *, block: str | None,
                    message: str | None = None) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        page = inbox(session, principal, f, engine.clock.now())
    if block and request.query_params.get("fp") == page.fingerprint:
        return Response(status_code=status.HTTP_204_NO_CONTENT)  # nothing new: htmx swaps nothing
    return render(request, "inbox.html", {"page": page, "scopes": SCOPES, "due_options": DUE,
                                          "priority_options": PRIORITY, "message": message}, block=block)


@router.get("/inbox")
def inbox_page(request: Request, principal: Principal = Depends(require_page(WORK))) -> Response:
    block = "results" if is_htmx(request) and request.headers.get("HX-Target") == "inbox-results" else None
    done, started = request.query_params.get("done"), request.query_params.get("started")
    message = f"Completed: {done}" if done else f"Started: {started}" if started else None
    return _inbox_response(request, principal, _filter_of(request.query_params), block=block, message=message)


def _visible_task(session: Session, principal: Principal, task_id: str) -> UserTask:
    row = tasks.get(session, task_id)
    if not may_see(principal, row):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this task is not offered to you or your groups")
    return row


async def _claim_or_unclaim(request: Request, principal: Principal, task_id: str, claim: bool) -> Response:
    engine = get_engine(request)
    form = await request.form()

    def work(session: Session) -> UserTask:
        row = _visible_task(session, principal, task_id)
        if claim:
            if not may_work_on(principal, row):
                raise Conflict(f"task {row.name} is claimed by {row.assignee}")
            return tasks.claim(session, task_id, principal.name)
        if row.assignee not in (None, principal.name) and not principal.sees_all_tasks:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"only {row.assignee} or an admin may unclaim this task")
        return tasks.unclaim(session, task_id)

    try:
        row = engine.command(work)
        message = f"{'Claimed' if claim else 'Unclaimed'}: {row.name}"
    except (Conflict, NotFound) as exc:
        message = str(exc)
    if is_htmx(request):
        return _inbox_response(request, principal, _filter_of(form), block="results", message=message)
    back = form.get("back")
    if isinstance(back, str) and back.startswith(("/tasks/", "/inbox")):
        return see_other(back)
    return see_other("/inbox?" + _filter_of(form).query_string())


@router.post("/tasks/{task_id}/claim", dependencies=[Depends(csrf_protect)])
async def claim(request: Request, task_id: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    return await _claim_or_unclaim(request, principal, task_id, claim=True)


@router.post("/tasks/{task_id}/unclaim", dependencies=[Depends(csrf_protect)])
async def unclaim(request: Request, task_id: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    return await _claim_or_unclaim(request, principal, task_id, claim=False)


# --- the task form ---------------------------------------------------------------------------------------

# What a task page shows beside its form, by (process key, element id): a slice registers a reader that
# returns (template, context) from the instance's variables, e.g. the pick list of the pick task. The
# inbox stays free of domain knowledge; a reader returning None shows nothing.
TaskPanel = Callable[[Session, dict[str, Any]], "tuple[str, dict[str, Any]] | None"]
TASK_PANELS: dict[tuple[str, str], TaskPanel] = {}


def task_panel(process_key: str, element_id: str) -> Callable[[TaskPanel], TaskPanel]:
    def register(reader: TaskPanel) -> TaskPanel:
        TASK_PANELS[(process_key, element_id)] = reader
        return reader

    return register


@dataclass
class FormField:
    """One input of a generated task form, with what to show in it and the error next to it."""

    spec: dict[str, Any]
    value: str
    error: str | None
    reason: FormField | None = None  # a yes/no decision's reason, asked for when the answer is No

    @property
    def id(self) -> str:
        return self.spec["id"]

    @property
    def type(self) -> str:
        return self.spec.get("type", "string")

    @property
    def checked(self) -> bool:
        return self.value.strip().lower() in tasks.TRUE_WORDS

    @property
    def declined(self) -> bool:
        return self.value.strip().lower() in tasks.FALSE_WORDS

    @property
    def errors(self) -> list[tuple[str, str, str]]:
        """(id, label, message) of this field's error and its reason's, for the summary above the form."""
        own = [(self.id, self.spec.get("label") or self.id, self.error)] if self.error else []
        return own + (self.reason.errors if self.reason else [])


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def form_fields(specs: list[dict[str, Any]], variables: dict[str, Any], submitted: dict[str, str] | None,
                errors: dict[str, str]) -> list[FormField]:
    """The inputs of a generated form (a task's or a start form's) with what to show in them: what was just
    submitted, else the variable's value, else the field's default; a decision carries its reason box."""

    def field(spec: dict[str, Any]) -> FormField:
        name = spec["id"]
        if submitted is not None:
            value = submitted.get(name, "")
        elif name in variables:
            value = _shown(variables[name])
        else:
            value = _shown(spec.get("defaultValue"))
        return FormField(spec, value, errors.get(name))

    reasons = tasks.decision_reasons(specs)
    shown_with_decision = {r["id"] for r in reasons.values()}
    fields = []
    for spec in specs:
        if spec["id"] in shown_with_decision:
            continue
        fields.append(field(spec))
        if spec["id"] in reasons:
            fields[-1].reason = field(reasons[spec["id"]])
    return fields


def posted_variables(fields: list[dict[str, Any]], form: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """What a generated form posted: the text of each input (shown again on an error) and the variables.

    Only the model's form fields (and a decision's reason) become variables: a person cannot post extra
    variables into the instance."""
    reasons = {r["id"]: decision for decision, r in tasks.decision_reasons(fields).items()}
    submitted = {key: str(form.get(key) or "") for key in [f["id"] for f in fields] + list(reasons)}
    # An empty optional number, date or choice is "not given", not the text "". A reason goes with a No
    # only: text left in the hidden box after switching back to Yes is not a reason for anything.
    types = {f["id"]: f.get("type", "string") for f in fields}
    variables: dict[str, Any] = {}
    for key, value in submitted.items():
        if key in reasons:
            if value.strip() and submitted[reasons[key]].strip().lower() not in tasks.TRUE_WORDS:
                variables[key] = value
        elif value != "" or types[key] == "string":
            variables[key] = value
    return submitted, variables


def _task_page(request: Request, principal: Principal, task_id: str, *, submitted: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, problem: str | None = None, status_code: int = 200) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        try:
            row = _visible_task(session, principal, task_id)
        except NotFound:
            return render(request, "task_gone.html", {"task_id": task_id}, status_code=404)
        instance = instances.get(session, row.instance_id)
        variables = dict(instance.variables or {})
        fields = form_fields(row.form.get("fields", []), variables, submitted, errors or {})
        names = {f.id for f in fields} | {f.reason.id for f in fields if f.reason}
        details = {k: v for k, v in sorted(variables.items()) if k not in names}
        reader = TASK_PANELS.get((row.process_key, row.element_id))
        panel = reader(session, variables) if reader is not None else None
        return render(request, "task.html", {
            "task": row, "instance": instance, "fields": fields, "details": details, "now": engine.clock.now(),
            "panel": panel,
            "may_work": may_work_on(principal, row), "problem": problem,
            "errors": [error for f in fields for error in f.errors],
        }, status_code=status_code)


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    return _task_page(request, principal, task_id)


@router.post("/tasks/{task_id}/complete", dependencies=[Depends(csrf_protect)])
async def complete(request: Request, task_id: str, principal: Principal = Depends(require_page(WORK))) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        try:
            row = _visible_task(session, principal, task_id)
        except NotFound:
            return render(request, "task_gone.html", {"task_id": task_id}, status_code=404)
        fields = list(row.form.get("fields", []))
        name, business_key = row.name, row.business_key
    form = await request.form()
    submitted, variables = posted_variables(fields, form)
    try:
        tasks.complete(engine, task_id, variables, actor=principal.name, user=principal.name)
    except InvalidVariables as exc:
        errors = {e.field: e.message for e in exc.errors}
        return _task_page(request, principal, task_id, submitted=submitted, errors=errors, status_code=422)
    except EngineError as exc:
        if exc.status_code >= 500:
            raise
        # Claimed or completed meanwhile, or a step after the task refused what was entered: said on the form,
        # with the input kept.
        return _task_page(request, principal, task_id, submitted=submitted, problem=str(exc),
                          status_code=exc.status_code)
    label = f"{name} ({business_key})" if business_key else name
    return see_other("/inbox?" + urlencode({"done": label}))
