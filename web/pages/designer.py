"""Designer: open a deployed BPMN/DMN version in bpmn-js/dmn-js, edit it, deploy it as a new version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.definitions import service as definitions
from taktflow.engine.errors import InvalidModel
from taktflow.engine.store.models import DecisionDefinition, ProcessDefinition
from taktflow.web.auth.service import DEPLOY, Principal
from taktflow.web.pages.cockpit_query import process_overview
from taktflow.web.pages.deps import csrf_protect, get_engine, render, require_page, see_other, templates

router = APIRouter(prefix="/designer", include_in_schema=False)
MODELS = {"bpmn": ProcessDefinition, "dmn": DecisionDefinition}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$")
_FILE = re.compile(r"^[A-Za-z0-9_.-]{1,200}\.(bpmn|dmn)$")


@dataclass
class Editing:
    """What the editor shows: a model file, where it came from, and what is wrong with it."""

    kind: str  # bpmn | dmn
    key: str
    filename: str
    xml: str
    version: int | None = None
    versions: list[Any] | None = None
    problems: list[dict[str, Any]] | None = None


@router.get("")
def index(request: Request, _: Principal = Depends(require_page(DEPLOY))) -> Response:
    with get_engine(request).db.read() as session:
        processes = process_overview(session)
        decisions: dict[str, DecisionDefinition] = {}
        for d in session.scalars(select(DecisionDefinition).order_by(DecisionDefinition.key,
                                                                     DecisionDefinition.version)):
            decisions[d.key] = d
    return render(request, "designer/index.html", {"processes": processes, "decisions": list(decisions.values()),
                                                   "message": request.query_params.get("msg")})


def _versions(session: Session, kind: str, key: str) -> list[Any]:
    model = MODELS[kind]
    return list(session.scalars(select(model).where(model.key == key).order_by(model.version.desc())))


def _open(session: Session, kind: str, key: str, version: int | None) -> Editing:
    versions = _versions(session, kind, key)
    chosen = next((v for v in versions if version is None or v.version == version), None)
    if chosen is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind.upper()} {key!r} version {version or ''} is deployed")
    return Editing(kind, key, chosen.resource.name, chosen.resource.content, chosen.version, versions)


def _editor(request: Request, editing: Editing, status_code: int = 200) -> Response:
    if editing.problems is None and editing.version is not None:
        # A deployed version: what the deploy reported as warnings, recomputed so the page works by URL.
        found = definitions.check_model(definitions.ModelFile(editing.filename, editing.xml.encode("utf-8")))
        editing.problems = [p.as_dict() for p in found if p.severity == "warning"]
    return render(request, "designer/editor.html", {"e": editing, "message": request.query_params.get("msg")},
                  status_code=status_code)


@router.get("/processes/{key}")
def edit_process(request: Request, key: str, version: int | None = None,
                 _: Principal = Depends(require_page(DEPLOY))) -> Response:
    with get_engine(request).db.read() as session:
        return _editor(request, _open(session, "bpmn", key, version))


@router.get("/decisions/{key}")
def edit_decision(request: Request, key: str, version: int | None = None,
                  _: Principal = Depends(require_page(DEPLOY))) -> Response:
    with get_engine(request).db.read() as session:
        return _editor(request, _open(session, "dmn", key, version))


@router.get("/new")
def new_model(request: Request, key: str = "", kind: str = "bpmn",
              _: Principal = Depends(require_page(DEPLOY))) -> Response:
    key = key.strip()
    if not _KEY.match(key) or kind not in MODELS:
        return see_other("/designer?" + urlencode({"msg": "A new model needs a key: a letter, then letters, digits, "
                                                          "'_', '.' or '-'."}))
    template = "designer/blank.bpmn" if kind == "bpmn" else "designer/blank.dmn"
    xml = templates.env.get_template(template).render(key=key)
    return _editor(request, Editing(kind, key, f"{key}.{kind}", xml, versions=[]))


@router.post("/deploy", dependencies=[Depends(csrf_protect)])
def deploy(
    request: Request, xml: str = Form(...), filename: str = Form(...), kind: str = Form("bpmn"),
    key: str = Form(...), principal: Principal = Depends(require_page(DEPLOY)),
) -> Response:
    if kind not in MODELS or not _FILE.match(filename) or not filename.endswith("." + kind):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the model needs a .bpmn or .dmn file name")
    engine = get_engine(request)
    files = [definitions.ModelFile(filename, xml.encode("utf-8"))]
    try:
        result = engine.command(lambda session: definitions.deploy(
            session, files, clock=engine.clock, serializer=engine.serializer, source="web",
            deployed_by=principal.name,
        ))
    except InvalidModel as exc:
        with engine.db.read() as session:
            versions = _versions(session, kind, key)
        problems = [p.as_dict() for p in exc.problems]
        return _editor(request, Editing(kind, key, filename, xml, None, versions, problems),
                       status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    wanted = "process" if kind == "bpmn" else "decision"
    deployed = [d for d in result.definitions if d.kind == wanted]
    target = next((d for d in deployed if d.key == key), deployed[0] if deployed else None)
    if target is None:
        return see_other("/designer?" + urlencode({"msg": "Deployed, but the file defines no executable model."}))
    message = (f"Deployed {target.key} as version {target.version}." if target.new
               else f"No change: {target.key} version {target.version} is identical.")
    if result.warnings:
        count = len(result.warnings)
        message += f" {count} warning{'s' if count > 1 else ''}: listed below and marked on the diagram."
    path = "processes" if kind == "bpmn" else "decisions"
    return see_other(f"/designer/{path}/{target.key}?" + urlencode({"version": target.version, "msg": message}))
