"""The engine's tables.

Runtime tables (user_task, subscription, job, external_task, incident) hold only what is open now, so
the inbox and correlation stay index lookups whatever the history length; `history_event` keeps the rest.
Instance state lives in its own table so listing instances never reads state blobs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

MAX_INT32 = 2**31 - 1  # Integer columns (ids, counts): 32 bits on PostgreSQL
MAX_INT64 = 2**63 - 1  # BigInteger columns; SQLite binds no larger integer at all


def row_id(text: str) -> int | None:
    """The id in a text reference ("42"), or None when it is not one: only ASCII digits ('²'.isdigit() is
    True and int('²') fails; int('١٢') is 12) and nothing an Integer id column could not hold."""
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    value = int(text)
    return value if 0 < value <= MAX_INT32 else None


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no zones), always handed out timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# --- definitions -------------------------------------------------------------------------------------------


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))  # api | cli | startup
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    deployed_at: Mapped[datetime]

    resources: Mapped[list[DeploymentResource]] = relationship(back_populates="deployment")


class DeploymentResource(Base):
    __tablename__ = "deployment_resource"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[str] = mapped_column(Text)

    deployment: Mapped[Deployment] = relationship(back_populates="resources")


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(300))
    resource_id: Mapped[int] = mapped_column(ForeignKey("deployment_resource.id"))
    # Hash of the defining file plus every file it depends on (called processes, decisions).
    content_hash: Mapped[str] = mapped_column(String(64))
    # The parsed spec with its call-activity specs, serialized once; instances store no spec. Deferred: the
    # engine keeps parsed specs cached by id, so commands need not read this (large) column every time.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    deployed_at: Mapped[datetime]

    resource: Mapped[DeploymentResource] = relationship()


class DecisionDefinition(Base):
    __tablename__ = "decision_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(300))
    resource_id: Mapped[int] = mapped_column(ForeignKey("deployment_resource.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]

    resource: Mapped[DeploymentResource] = relationship()


# --- instances ---------------------------------------------------------------------------------------------


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        UniqueConstraint("process_key", "idempotency_key"),
        Index("ix_process_instance_key_state", "process_key", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)  # active | completed | cancelled | incident
    # Optimistic lock: every command bumps it; a command that saw an older value loses.
    version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the start request the key was first used with: a reuse with another body is refused.
    idempotency_request_hash: Mapped[str | None] = mapped_column(String(64))
    started_by: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # Variables visible at the instance's open wait states (or at its end), for reading without loading.
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active_elements: Mapped[list[Any]] = mapped_column(JSON, default=list)

    definition: Mapped[ProcessDefinition] = relationship()


class InstanceState(Base):
    __tablename__ = "instance_state"

    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    serializer_version: Mapped[str] = mapped_column(String(20))
    # zlib-compressed JSON of the SpiffWorkflow task tree, without the spec.
    state: Mapped[bytes] = mapped_column(LargeBinary)


class UserTask(Base):
    __tablename__ = "user_task"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    follow_up_at: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(Integer, default=50, index=True)
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)

    candidates: Mapped[list[TaskCandidate]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )

    @property
    def candidate_groups(self) -> list[str]:
        return sorted(c.value for c in self.candidates if c.kind == "group")

    @property
    def candidate_users(self) -> list[str]:
        return sorted(c.value for c in self.candidates if c.kind == "user")


# The inbox's order (priority first, oldest first): the first page is read in index order, checking each
# task's candidates by primary key, instead of sorting every open task of the user's groups.
Index("ix_user_task_inbox", UserTask.priority.desc(), UserTask.created_at, UserTask.id)


class TaskCandidate(Base):
    """Who may claim a task: one row per candidate group or user, indexed for the inbox."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_kind_value", "kind", "value"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("user_task.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # group | user
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class Subscription(Base):
    """A waiting message, signal or conditional event: found by name + key, never by scanning instances."""

    __tablename__ = "subscription"
    __table_args__ = (
        Index("ix_subscription_corr", "kind", "name", "correlation_key"),
        Index("ix_subscription_bkey", "kind", "name", "business_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # message | signal
    name: Mapped[str] = mapped_column(String(300))
    business_key: Mapped[str | None] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class Job(Base):
    """Work a worker picks up when due: a timer to fire or a failed service task to retry."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "due_at", "lock_expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # timer | service_task
    # NULL while an incident holds the job (retries used up): the worker ignores it.
    due_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_error: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    lock_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ExternalTask(Base):
    """A service task with no in-process handler, worked by an API client (fetch-and-lock by topic)."""

    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_task_topic", "topic", "lock_expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(300))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    lock_expires_at: Mapped[datetime | None]
    retries: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # failed_job | script_error | uncaught_bpmn_error | ...
    message: Mapped[str] = mapped_column(Text)
    stacktrace: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)


class HistoryEvent(Base):
    """Append-only audit: who did what to which element of an instance, when, and with what data."""

    __tablename__ = "history_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    task_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
