"""Operations cockpit: definitions and running counts, instance search, bulk cancel/retry, instance page."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from taktflow.engine import instances, jobs
from taktflow.engine.errors import EngineError
from taktflow.engine.store.models import Incident
from taktflow.web.api.params import RowId
from taktflow.web.auth.service import OPERATE, Principal
from taktflow.web.pages.cockpit_query import InstanceFilter, instance_view, process_overview, search_instances
from taktflow.web.pages.deps import csrf_protect, get_engine, is_htmx, render, require_page, see_other

router = APIRouter(prefix="/cockpit", include_in_schema=False)
STATES = instances.STATES


@router.get("")
def overview(request: Request, _: Principal = Depends(require_page(OPERATE))) -> Response:
    with get_engine(request).db.read() as session:
        processes = process_overview(session)
    return render(request, "cockpit/overview.html", {"processes": processes})


@router.get("/instances")
def instance_list(request: Request, _: Principal = Depends(require_page(OPERATE))) -> Response:
    q = request.query_params
    try:
        page = int(q.get("page") or 1)
    except ValueError:
        page = 1
    state = q.get("state") or ""
    f = InstanceFilter(business_key=(q.get("business_key") or "").strip(), state=state if state in STATES else "",
                       process=q.get("process") or "", variable=(q.get("variable") or "").strip(),
                       value=(q.get("value") or "").strip(), page=page)
    with get_engine(request).db.read() as session:
        result = search_instances(session, f)
    block = "results" if is_htmx(request) and request.headers.get("HX-Target") == "instance-results" else None
    return render(request, "cockpit/instances.html", {"page": result, "states": STATES, "message": q.get("msg")},
                  block=block)


@router.post("/instances/bulk", dependencies=[Depends(csrf_protect)])
async def bulk(request: Request, principal: Principal = Depends(require_page(OPERATE))) -> Response:
    engine = get_engine(request)
    form = await request.form()
    ids = [str(i) for i in form.getlist("ids")]
    action = form.get("action")
    done, failed = 0, []
    for instance_id in ids:
        try:
            if action == "cancel":
                instances.cancel(engine, instance_id, actor=principal.name, reason="bulk cancel in the cockpit")
                done += 1
            elif action == "retry":
                with engine.db.read() as session:
                    open_ids = list(session.scalars(select(Incident.id).where(
                        Incident.instance_id == instance_id, Incident.resolved_at.is_(None))))
                for incident_id in open_ids:
                    jobs.retry_incident(engine, incident_id, actor=principal.name)
                done += 1 if open_ids else 0
        except EngineError as exc:
            failed.append(f"{instance_id[:8]}: {exc}")
    verb = {"cancel": "Cancelled", "retry": "Retried"}.get(str(action), "Changed")
    message = f"{verb} {done} of {len(ids)} selected instance(s)."
    if failed:
        message += f" Refused: {'; '.join(failed)}"
    back = form.get("back")
    query = back if isinstance(back, str) else ""
    return see_other("/cockpit/instances?" + (query + "&" if query else "") + urlencode({"msg": message}))


@router.get("/instances/{instance_id}")
def instance_page(request: Request, instance_id: str, _: Principal = Depends(require_page(OPERATE))) -> Response:
    with get_engine(request).db.read() as session:
        view = instance_view(session, instance_id)
        xml = view.definition.resource.content
    return render(request, "cockpit/instance.html",
                  {"view": view, "xml": xml, "message": request.query_params.get("msg")})


@router.post("/instances/{instance_id}/cancel", dependencies=[Depends(csrf_protect)])
def cancel(request: Request, instance_id: str, principal: Principal = Depends(require_page(OPERATE))) -> Response:
    try:
        instances.cancel(get_engine(request), instance_id, actor=principal.name, reason="cancelled in the cockpit")
        message = "Instance cancelled."
    except EngineError as exc:
        message = str(exc)
    return see_other(f"/cockpit/instances/{instance_id}?" + urlencode({"msg": message}))


@router.post("/incidents/{incident_id}/retry", dependencies=[Depends(csrf_protect)])
def retry(request: Request, incident_id: RowId, principal: Principal = Depends(require_page(OPERATE))) -> Response:
    engine = get_engine(request)
    with engine.db.read() as session:
        incident = session.get(Incident, incident_id)
        instance_id = incident.instance_id if incident is not None else None
    if instance_id is None:
        return see_other("/cockpit/instances?" + urlencode({"msg": f"incident {incident_id} does not exist"}))
    try:
        jobs.retry_incident(engine, incident_id, actor=principal.name)
        with engine.db.read() as session:
            again = session.scalar(jobs.open_incidents(instance_id).limit(1))
        message = (f"Retried; it failed again: {again.message}" if again is not None
                   else "Retried: the incident is resolved.")
    except EngineError as exc:
        message = str(exc)
    return see_other(f"/cockpit/instances/{instance_id}?" + urlencode({"msg": message}))

