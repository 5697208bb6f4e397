"""What a person needs to start a deployed process by hand: its start form and who may start it.

Read from the deployed model as Camunda 7 writes it: `camunda:formData` on the process's none start event,
`camunda:candidateStarterGroups` / `camunda:candidateStarterUsers` and `camunda:isStartableInTasklist` on
the process. Processes that a business document starts (a sales order starts order-to-cash) say
`isStartableInTasklist="false"`: their start is the document's form, which also books the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.engine.definitions.parser import camunda_extensions
from taktflow.engine.definitions.xml import parse_model_xml
from taktflow.engine.errors import NotFound
from taktflow.engine.store.models import ProcessDefinition

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
_EVENT_DEFINITIONS = ("messageEventDefinition", "timerEventDefinition", "signalEventDefinition",
                      "conditionalEventDefinition", "errorEventDefinition", "escalationEventDefinition",
                      "compensateEventDefinition")


def _names(value: str | None) -> frozenset[str]:
    return frozenset(n.strip() for n in (value or "").split(",") if n.strip())


@dataclass(frozen=True)
class StartForm:
    key: str
    name: str
    version: int
    fields: list[dict[str, Any]] = field(default_factory=list)
    form_key: str | None = None
    # The form field whose value becomes the business key (Camunda's `formData businessKey`).
    business_key_field: str | None = None
    candidate_groups: frozenset[str] = frozenset()
    candidate_users: frozenset[str] = frozenset()
    startable_in_tasklist: bool = True
    # A process with only message/timer/signal starts cannot be started by a person at all.
    has_none_start: bool = True


def _read(definition: ProcessDefinition) -> StartForm:
    root, _ = parse_model_xml(definition.resource.content.encode(), definition.resource.name)
    process = None if root is None else next(
        (p for p in root.iter(f"{_BPMN}process") if p.get("id") == definition.key), None)
    if process is None:
        return StartForm(definition.key, definition.name or definition.key, definition.version, has_none_start=False)
    none_starts = [s for s in process.findall(f"{_BPMN}startEvent")
                   if not any(s.find(f"{_BPMN}{d}") is not None for d in _EVENT_DEFINITIONS)]
    fields: list[dict[str, Any]] = []
    form_key = business_key_field = None
    if none_starts:
        extensions = camunda_extensions(none_starts[0])
        fields = extensions.get("formFields", [])
        form_key = extensions.get("camunda", {}).get("formKey")
        form = none_starts[0].find(f"{_BPMN}extensionElements/{_CAMUNDA}formData")
        business_key_field = form.get("businessKey") if form is not None else None
    return StartForm(
        key=definition.key, name=definition.name or definition.key, version=definition.version, fields=fields,
        form_key=form_key, business_key_field=business_key_field,
        candidate_groups=_names(process.get(f"{_CAMUNDA}candidateStarterGroups")),
        candidate_users=_names(process.get(f"{_CAMUNDA}candidateStarterUsers")),
        startable_in_tasklist=process.get(f"{_CAMUNDA}isStartableInTasklist", "true").lower() != "false",
        has_none_start=bool(none_starts),
    )


def start_forms(session: Session) -> list[StartForm]:
    """The latest version of every deployed process that a person can start, by name."""
    latest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.key).subquery())
    rows = session.scalars(select(ProcessDefinition).join(
        latest, (ProcessDefinition.key == latest.c.key) & (ProcessDefinition.version == latest.c.version)))
    forms = [_read(row) for row in rows]
    return sorted((f for f in forms if f.has_none_start and f.startable_in_tasklist), key=lambda f: f.name.lower())


def start_form(session: Session, key: str) -> StartForm:
    """The start form of a process's latest version (NotFound when no version is deployed)."""
    row = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                          .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"no process definition with key {key!r} is deployed")
    return _read(row)
