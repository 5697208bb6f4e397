"""What the cockpit reads: definitions with running counts, instance search, one instance's picture."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from taktflow.engine import history, instances, jobs
from taktflow.engine.store.models import HistoryEvent, Incident, ProcessDefinition, ProcessInstance, UserTask

PER_PAGE = 50
RUNNING = ("active", "incident")


@dataclass
class VersionRow:
    definition: ProcessDefinition
    running: int
    incidents: int


@dataclass
class ProcessRow:
    key: str
    name: str | None
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def latest(self) -> VersionRow:
        return self.versions[-1]

    @property
    def running(self) -> int:
        return sum(v.running for v in self.versions)

    @property
    def incidents(self) -> int:
        return sum(v.incidents for v in self.versions)


def process_overview(session: Session) -> list[ProcessRow]:
    running = dict(session.execute(
        select(ProcessInstance.definition_id, func.count()).where(ProcessInstance.state.in_(RUNNING))
        .group_by(ProcessInstance.definition_id)).all())
    incidents = dict(session.execute(
        select(ProcessInstance.definition_id, func.count(Incident.id))
        .join(Incident, Incident.instance_id == ProcessInstance.id).where(Incident.resolved_at.is_(None))
        .group_by(ProcessInstance.definition_id)).all())
    rows: dict[str, ProcessRow] = {}
    for d in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)):
        row = rows.setdefault(d.key, ProcessRow(d.key, d.name))
        row.name = d.name
        row.versions.append(VersionRow(d, running.get(d.id, 0), incidents.get(d.id, 0)))
    return list(rows.values())


@dataclass
class InstanceFilter:
    business_key: str = ""
    state: str = ""
    process: str = ""
    variable: str = ""
    value: str = ""
    page: int = 1

    def query_string(self, **changes: Any) -> str:
        values = {"business_key": self.business_key, "state": self.state, "process": self.process,
                  "variable": self.variable, "value": self.value, "page": self.page, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


@dataclass
class InstancePage:
    rows: list[tuple[ProcessInstance, int]]  # instance, its definition's version
    total: int
    filter: InstanceFilter
    processes: list[str]
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_instances(session: Session, f: InstanceFilter) -> InstancePage:
    """Business key is a prefix search; a variable matches on its value as text (numbers too)."""
    stmt = instances.query(key=f.process or None, state=f.state or None)
    if f.business_key:
        stmt = stmt.where(ProcessInstance.business_key.startswith(f.business_key, autoescape=True))
    if f.variable:
        # As text on both databases: SQLite's json_extract gives 3 for 3, PostgreSQL's ->> gives '3'.
        stored = cast(ProcessInstance.variables[f.variable].as_string(), String)
        stmt = stmt.where(stored == f.value) if f.value else stmt.where(stored.is_not(None))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    f.page = min(max(f.page, 1), pages)
    page = stmt.add_columns(ProcessDefinition.version).join(
        ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
    rows = [(i, v) for i, v in session.execute(page.limit(PER_PAGE).offset((f.page - 1) * PER_PAGE)).all()]
    processes = list(session.scalars(select(ProcessDefinition.key).distinct().order_by(ProcessDefinition.key)))
    return InstancePage(rows, total, f, processes)


@dataclass
class InstanceView:
    instance: ProcessInstance
    definition: ProcessDefinition
    events: list[HistoryEvent]
    incidents: list[Incident]
    open_tasks: list[UserTask]
    completed: dict[str, int]
    active: list[str]
    incident_elements: list[str]

    @property
    def markers(self) -> dict[str, Any]:
        """For the diagram: which elements to colour and the counts to pin on them."""
        return {"active": self.active, "completed": self.completed, "incidents": self.incident_elements}


def instance_view(session: Session, instance_id: str) -> InstanceView:
    instance = instances.get(session, instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id)
    events = history.of_instance(session, instance_id)
    completed = Counter(e.element_id for e in events if e.kind == "element_completed" and e.element_id)
    incidents = list(session.scalars(select(Incident).where(Incident.instance_id == instance_id)
                                     .order_by(Incident.resolved_at.is_not(None), Incident.id.desc())))
    open_tasks = list(session.scalars(select(UserTask).where(UserTask.instance_id == instance_id)))
    incident_elements = sorted({i.element_id for i in session.scalars(jobs.open_incidents(instance_id))
                                if i.element_id})
    return InstanceView(instance, definition, events, incidents, open_tasks, dict(completed),
                        list(instance.active_elements or []), incident_elements)
