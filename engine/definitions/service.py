"""Deploying definitions: validate, parse, version, store.

Identical content is not a new version; changed content gets the next version of its key; instances
keep the version they started on (they reference the definition row, never "the latest").
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from taktflow.engine.clock import Clock
from taktflow.engine.definitions import validation
from taktflow.engine.definitions.parser import TaktflowParser, normalize, prepare_for_parser
from taktflow.engine.definitions.reserved_ids import restore_designer_ids
from taktflow.engine.definitions.xml import model_text, parse_model_xml
from taktflow.engine.errors import InvalidModel, ModelProblem, NotFound
from taktflow.engine.store.models import DecisionDefinition, Deployment, DeploymentResource, ProcessDefinition
from taktflow.engine.store.state import StateSerializer

DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/", "http://www.omg.org/spec/DMN/")


@dataclass(frozen=True)
class ModelFile:
    name: str
    content: bytes


@dataclass
class DeployedDefinition:
    kind: str  # process | decision
    key: str
    version: int
    name: str | None
    new: bool
    id: int


@dataclass
class DeploymentResult:
    deployment_id: int | None
    definitions: list[DeployedDefinition] = field(default_factory=list)
    warnings: list[ModelProblem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(d.new for d in self.definitions)


@dataclass
class _Parsed:
    file: ModelFile
    kind: str
    root: etree._Element
    sha256: str


def _kind_of(file: ModelFile, root: etree._Element) -> str:
    namespace = etree.QName(root).namespace or ""
    if namespace.startswith(DMN_NAMESPACES):
        return "dmn"
    return "bpmn"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _latest(session: Session, model: Any, key: str) -> Any:
    return session.scalar(select(model).where(model.key == key).order_by(model.version.desc()).limit(1))


def deploy(
    session: Session, files: list[ModelFile], *, clock: Clock, serializer: StateSerializer,
    source: str = "api", deployed_by: str | None = None, name: str | None = None,
    profile: str = validation.constraints.STANDARD,
) -> DeploymentResult:
    """Validate and deploy BPMN/DMN files as one unit; refuse all of it on any error.

    `profile` weighs the specification's rules: `standard` (default) reports those that do not change
    execution as warnings, `strict` refuses every breach (what the conformance runner uses)."""
    if not files:
        raise InvalidModel([ModelProblem(None, "files-required", "no files were given")])
    if profile not in validation.constraints.PROFILES:
        raise InvalidModel([ModelProblem(None, "validation-profile", f"unknown validation profile {profile!r}; "
                                         f"use one of {', '.join(validation.constraints.PROFILES)}")])
    problems: list[ModelProblem] = []
    parsed: list[_Parsed] = []
    for file in files:
        root, errors = parse_model_xml(file.content, file.name)
        if root is None:
            problems.extend(errors)
            continue
        kind = _kind_of(file, root)
        problems.extend(normalize(root, file.name))
        problems.extend(validation.check(root, file.name, kind, profile))
        parsed.append(_Parsed(file, kind, root, _sha(file.content)))
    _raise_errors(problems)
    for item in parsed:
        if item.kind == "bpmn":
            prepare_for_parser(item.root)

    parser = TaktflowParser()
    try:
        for item in parsed:
            if item.kind == "dmn":
                parser.add_dmn_xml(item.root, filename=item.file.name)
        for item in parsed:
            if item.kind == "bpmn":
                parser.add_bpmn_xml(item.root, filename=item.file.name)
    except ValidationException as exc:
        problems.append(_problem_of(exc))
    _raise_errors(problems)
    dependencies = _add_deployed_dependencies(session, parser, parsed)

    specs: dict[str, tuple[Any, dict[str, Any], _Parsed]] = {}
    for item in parsed:
        if item.kind != "bpmn":
            continue
        for process in item.root.iter(f"{{{validation.BPMN_NS}}}process"):
            if process.get("isExecutable") == "false":
                continue
            key = process.get("id")
            try:
                spec = parser.get_spec(key)
                subprocess_specs = parser.get_subprocess_specs(key, require_call_activity_specs=False)
                restore_designer_ids(spec, subprocess_specs)
            except ValidationException as exc:
                problems.append(_problem_of(exc, item.file.name))
                continue
            except RecursionError:
                problems.append(ModelProblem(key, "bpmn-parse", "the process is too deep to parse",
                                             file=item.file.name))
                continue
            missing = {n for n, s in subprocess_specs.items() if s is None}
            if missing:
                for node in item.root.iter(f"{{{validation.BPMN_NS}}}callActivity"):
                    if node.get("calledElement") in missing:
                        problems.append(ModelProblem(
                            node.get("id"), "called-element-exists",
                            f"calls process {node.get('calledElement')!r}, which is neither in this deployment "
                            "nor deployed", file=item.file.name,
                        ))
                continue
            specs[key] = (spec, subprocess_specs, item)
    _raise_errors(problems)

    now = clock.now()
    result = DeploymentResult(deployment_id=None, warnings=[p for p in problems if p.severity != "error"])
    deployment: Deployment | None = None
    resources: dict[str, DeploymentResource] = {}

    def resource_for(item: _Parsed) -> DeploymentResource:
        nonlocal deployment
        if deployment is None:
            deployment = Deployment(name=name or ", ".join(f.name for f in files)[:200], source=source,
                                    deployed_by=deployed_by, deployed_at=now)
            session.add(deployment)
        if item.file.name not in resources:
            resources[item.file.name] = DeploymentResource(
                deployment=deployment, name=item.file.name, kind=item.kind, sha256=item.sha256,
                content=model_text(item.file.content),
            )
            session.add(resources[item.file.name])
        return resources[item.file.name]

    for item in parsed:
        if item.kind != "dmn":
            continue
        for decision in item.root.iter("{*}decision"):
            key = decision.get("id")
            latest = _latest(session, DecisionDefinition, key)
            if latest is not None and latest.content_hash == item.sha256:
                result.definitions.append(DeployedDefinition("decision", key, latest.version, latest.name, False,
                                                             latest.id))
                continue
            row = DecisionDefinition(key=key, version=(latest.version + 1) if latest else 1,
                                     name=decision.get("name"), resource=resource_for(item),
                                     content_hash=item.sha256, deployed_at=now)
            session.add(row)
            session.flush()
            result.definitions.append(DeployedDefinition("decision", key, row.version, row.name, True, row.id))

    for key, (spec, subprocess_specs, item) in specs.items():
        content_hash = _sha("\n".join([item.sha256, *sorted(dependencies.get(item.file.name, set()))]).encode())
        latest = _latest(session, ProcessDefinition, key)
        if latest is not None and latest.content_hash == content_hash:
            result.definitions.append(DeployedDefinition("process", key, latest.version, latest.name, False, latest.id))
            continue
        row = ProcessDefinition(
            key=key, version=(latest.version + 1) if latest else 1, name=spec.description or key,
            resource=resource_for(item), content_hash=content_hash,
            spec=serializer.specs_to_dict(spec, subprocess_specs), deployed_at=now,
        )
        session.add(row)
        session.flush()
        result.definitions.append(DeployedDefinition("process", key, row.version, row.name, True, row.id))
    if deployment is not None:
        session.flush()
        result.deployment_id = deployment.id
    return result


def check_model(file: ModelFile, profile: str = validation.constraints.STANDARD) -> list[ModelProblem]:
    """What deploying one file would report about it (errors and warnings), without parsing or storing it:
    the designer lists a deployed version's warnings from this."""
    root, errors = parse_model_xml(file.content, file.name)
    if root is None:
        return errors
    return normalize(root, file.name) + validation.check(root, file.name, _kind_of(file, root), profile)


def _add_deployed_dependencies(session: Session, parser: TaktflowParser, parsed: list[_Parsed]) -> dict[str, set[str]]:
    """Load the latest deployed files of called processes and decisions this deployment does not carry.

    Returns, per file of the deployment, the hashes of the deployed files it was parsed against, so a
    changed dependency makes a new version of the process that uses it.
    """
    provided_processes = {p.get("id") for item in parsed if item.kind == "bpmn"
                          for p in item.root.iter(f"{{{validation.BPMN_NS}}}process")}
    provided_decisions = {d.get("id") for item in parsed if item.kind == "dmn" for d in item.root.iter("{*}decision")}
    used: dict[str, set[str]] = {}
    loaded: set[int] = set()
    for item in parsed:
        if item.kind != "bpmn":
            continue
        called = {n.get("calledElement") for n in item.root.iter(f"{{{validation.BPMN_NS}}}callActivity")}
        decisions = {
            n.text for n in item.root.iter(f"{{{validation.SPIFF_NS}}}calledDecisionId")
        } | {n.get("{http://camunda.org/schema/1.0/bpmn}decisionRef")
             for n in item.root.iter(f"{{{validation.BPMN_NS}}}businessRuleTask")}
        for key in sorted(k for k in called - provided_processes if k):
            latest = _latest(session, ProcessDefinition, key)
            if latest is not None:
                _load_resource(parser, latest.resource, loaded)
                used.setdefault(item.file.name, set()).add(latest.resource.sha256)
        for key in sorted(k for k in decisions - provided_decisions if k):
            latest = _latest(session, DecisionDefinition, key)
            if latest is not None:
                _load_resource(parser, latest.resource, loaded)
                used.setdefault(item.file.name, set()).add(latest.resource.sha256)
    return used


def _load_resource(parser: TaktflowParser, resource: DeploymentResource, loaded: set[int]) -> None:
    if resource.id in loaded:
        return
    loaded.add(resource.id)
    root, _ = parse_model_xml(resource.content.encode(), resource.name)
    normalize(root)
    if resource.kind == "dmn":
        parser.add_dmn_xml(root, filename=resource.name)
    else:
        prepare_for_parser(root)
        parser.add_bpmn_xml(root, filename=resource.name)


def _problem_of(exc: ValidationException, filename: str | None = None) -> ModelProblem:
    line = getattr(exc, "line_number", None)
    element = getattr(exc, "id", None) or getattr(exc, "name", None) or (f"line {line}" if line else None)
    message = str(exc.args[0]) if exc.args else str(exc)
    rule = getattr(exc, "rule", "bpmn-parse")
    return ModelProblem(element, rule, message, file=getattr(exc, "file_name", None) or filename)


def _raise_errors(problems: list[ModelProblem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InvalidModel(errors)


# --- reading ---------------------------------------------------------------------------------------------


def latest_process_id(session: Session, key: str) -> int:
    """The id of the latest version of a process: what every start reads (one indexed column, no ORM object)."""
    definition_id = session.connection().execute(_LATEST_PROCESS_ID, {"key": key}).scalar()
    if definition_id is None:
        raise NotFound(f"no process definition with key {key!r} is deployed")
    return definition_id


_pd = ProcessDefinition.__table__
_LATEST_PROCESS_ID = select(_pd.c.id).where(_pd.c.key == bindparam("key")).order_by(_pd.c.version.desc()).limit(1)


def list_processes(session: Session) -> list[ProcessDefinition]:
    return list(session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)))


def deploy_directory(
    session: Session, directory: str, *, clock: Clock, serializer: StateSerializer, source: str = "startup",
) -> DeploymentResult | None:
    """Deploy every .bpmn and .dmn file of a directory as one deployment (unchanged files stay as they are)."""
    if not os.path.isdir(directory):
        return None
    names = sorted(n for n in os.listdir(directory) if n.endswith((".bpmn", ".dmn")))
    if not names:
        return None
    files = [ModelFile(n, open(os.path.join(directory, n), "rb").read()) for n in names]
    return deploy(session, files, clock=clock, serializer=serializer, source=source, name=os.path.basename(directory))


def count_versions(session: Session, key: str) -> int:
    return session.scalar(select(func.count()).select_from(ProcessDefinition).where(ProcessDefinition.key == key)) or 0

