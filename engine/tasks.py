"""The user-task table behind every inbox: mirroring, queries, claiming, and form validation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.orm import Session

from taktflow.engine.definitions import juel
from taktflow.engine.errors import Conflict, FieldError, InvalidVariables, NotFound
from taktflow.engine.store.models import HistoryEvent, ProcessInstance, TaskCandidate, UserTask

if TYPE_CHECKING:
    from taktflow.engine.core import Engine


def _split(value: str | list[str] | None) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in (value or "").split(",") if v.strip()]


# The Camunda attributes that may hold expressions evaluated when the task is created.
_ASSIGNMENT = ("assignee", "candidateGroups", "candidateUsers", "dueDate", "followUpDate", "priority")


def _with_variables(values: dict[str, Any], task: Task) -> dict[str, Any]:
    """Camunda's `${...}` in task attributes (candidateGroups="${operatorGroup}", priority="${urgent ? 90 : 50}"),
    evaluated as JUEL by the restricted evaluator against the task's variables."""

    def resolve(value: Any) -> Any:
        if not isinstance(value, str) or not juel.is_expression(value):
            return value
        return task.workflow.script_engine.evaluate(task, juel.to_python(value))

    return {k: resolve(v) for k, v in values.items()}


def task_metadata(task: Task) -> dict[str, Any]:
    """Candidates, assignee, due date, priority and form of a ready user task, from its model."""
    spec = task.task_spec
    ext = getattr(spec, "extensions", None) or {}
    attributes = ext.get("camunda", {})
    camunda = {**attributes, **_with_variables({k: attributes[k] for k in _ASSIGNMENT if k in attributes}, task)}
    props = _with_variables({**(ext.get("properties") or {}), **(ext.get("camundaProperties") or {})}, task)
    groups = _split(camunda.get("candidateGroups") or props.get("candidateGroups"))
    if not groups and spec.lane:
        groups = [spec.lane]
    return {
        "candidate_groups": groups,
        "candidate_users": _split(camunda.get("candidateUsers") or props.get("candidateUsers")),
        "assignee": (camunda.get("assignee") or props.get("assignee") or None),
        "due": camunda.get("dueDate") or props.get("dueDate"),
        "follow_up": camunda.get("followUpDate") or props.get("followUpDate"),
        "priority": camunda.get("priority") or props.get("priority"),
        "form": {"fields": ext.get("formFields", []), "formKey": camunda.get("formKey"), "outputs": _outputs(spec)},
    }


def _outputs(spec: Any) -> list[str]:
    """The data outputs a task's ioSpecification declares: besides form fields, what completing it may set."""
    io = getattr(spec, "io_specification", None)
    return [output.bpmn_id for output in io.data_outputs] if io is not None else []


def _resolve_date(value: str | datetime | date | None, now: datetime) -> datetime | None:
    """A literal ISO 8601 date-time, or a duration (P3D, PT4H) counted from when the task was created
    (or a date a `${...}` expression returned)."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=now.tzinfo)
    value = str(value).strip()
    if value.upper().startswith("P"):
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    return TimerEventDefinition.get_datetime(value)


def user_task_row(instance: ProcessInstance, task: Task, now: datetime) -> UserTask:
    meta = task_metadata(task)
    spec = task.task_spec
    priority = meta["priority"]
    row = UserTask(
        id=str(task.id), instance_id=instance.id, process_key=instance.process_key,
        business_key=instance.business_key, element_id=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id,
        lane=spec.lane, assignee=meta["assignee"], due_at=_resolve_date(meta["due"], now),
        follow_up_at=_resolve_date(meta["follow_up"], now),
        priority=int(priority) if priority not in (None, "") else 50, form=meta["form"], created_at=now,
    )
    row.candidates = [TaskCandidate(kind="group", value=g) for g in meta["candidate_groups"]] + [
        TaskCandidate(kind="user", value=u) for u in meta["candidate_users"]
    ]
    return row


# --- queries -------------------------------------------------------------------------------------------


def query(
    *, candidate_groups: list[str] | None = None, candidate_user: str | None = None,
    assignee: str | None = None, instance_id: str | None = None, process_key: str | None = None,
    unassigned: bool = False,
) -> Select[tuple[UserTask]]:
    stmt = select(UserTask)
    if instance_id:
        stmt = stmt.where(UserTask.instance_id == instance_id)
    if process_key:
        stmt = stmt.where(UserTask.process_key == process_key)
    if assignee:
        stmt = stmt.where(UserTask.assignee == assignee)
    if unassigned:
        stmt = stmt.where(UserTask.assignee.is_(None))
    offered = []
    if candidate_groups:
        offered.append((TaskCandidate.kind == "group") & TaskCandidate.value.in_(candidate_groups))
    if candidate_user:
        offered.append((TaskCandidate.kind == "user") & (TaskCandidate.value == candidate_user))
    if offered:
        # One EXISTS with the alternatives inside: the database walks the inbox order index and probes the
        # candidates of each task, instead of hashing every candidate row of the user's groups first.
        stmt = stmt.where(exists().where(TaskCandidate.task_id == UserTask.id, or_(*offered)))
    return stmt.order_by(UserTask.priority.desc(), UserTask.created_at, UserTask.id)


def get(session: Session, task_id: str) -> UserTask:
    row = session.get(UserTask, task_id)
    if row is None:
        raise NotFound(f"no open user task {task_id}")
    return row


def claim(session: Session, task_id: str, user: str) -> UserTask:
    row = get(session, task_id)
    result = session.execute(
        update(UserTask).where(UserTask.id == task_id, or_(UserTask.assignee.is_(None), UserTask.assignee == user))
        .values(assignee=user).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        # Someone else claimed it, or completed it since we read it (then the row is gone).
        current = session.execute(select(UserTask.assignee).where(UserTask.id == task_id)).first()
        raise Conflict(f"task {task_id} is claimed by {current[0]}" if current else f"task {task_id} is no longer open")
    session.refresh(row)
    return row


def unclaim(session: Session, task_id: str) -> UserTask:
    row = get(session, task_id)
    row.assignee = None
    return row


# --- forms ---------------------------------------------------------------------------------------------

TRUE_WORDS = frozenset({"true", "on", "yes", "1"})
FALSE_WORDS = frozenset({"false", "off", "no", "0"})


# A required yes/no field is a decision: it must be answered (never a silent false), and a No needs a reason,
# kept as the variable `<fieldId>Reason`. A form may declare that field itself (its label and constraints
# then apply); otherwise the engine adds a text field labelled "Reason".
REASON_SUFFIX = "Reason"
REASON_MISSING = "is required for a No: give a reason for the rejection"


def is_decision(field: dict[str, Any]) -> bool:
    return field.get("type") == "boolean" and bool(field.get("required"))


def decision_reasons(fields: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The reason field of each yes/no decision of a form, by the decision's id."""
    by_id = {field["id"]: field for field in fields}
    return {
        field["id"]: by_id.get(field["id"] + REASON_SUFFIX)
        or {"id": field["id"] + REASON_SUFFIX, "label": "Reason", "type": "string"}
        for field in fields if is_decision(field)
    }


# Camunda 7 embedded forms (`embedded:app:forms/approve-invoice.html`): the fields live in an HTML file the
# engine never reads, so the model declares none.
EXTERNAL_FORM_PREFIXES = ("embedded:",)


def validate_form(
    fields: list[dict[str, Any]], submitted: dict[str, Any], outputs: Iterable[str] = (),
    form_key: str | None = None,
) -> dict[str, Any]:
    """Convert submitted values to the fields' types and check their constraints.

    Only the variables the task declares are taken: its form fields, or the data outputs of its
    ioSpecification. Anything else is refused by name: a caller must not be able to set variables the
    model never asked for (order A's task completed with order B's `deliveryId` shipped order B).
    Raises InvalidVariables naming every field in error.

    A required yes/no field must be answered, and a No needs its reason `<fieldId>Reason` (declared with the
    field, whether or not the form lists it): see docs/forms.md.

    A task whose only form is a Camunda embedded form (its fields are in HTML outside the model) declares
    nothing the engine can check: it takes the submitted variables as Camunda does.
    """
    if not fields and not outputs and (form_key or "").startswith(EXTERNAL_FORM_PREFIXES):
        return dict(submitted)
    reasons = decision_reasons(fields)
    declared = {field["id"] for field in fields} | {r["id"] for r in reasons.values()} | set(outputs)
    errors = [FieldError(name, "is not a variable this task's form declares") for name in submitted
              if name not in declared]
    values = {name: value for name, value in submitted.items() if name in declared}
    for field in fields:
        name = field["id"]
        raw = submitted.get(name)
        if raw is None or raw == "":
            if raw == "" and field.get("type", "string") != "string":
                values.pop(name, None)  # an empty number, date or yes/no is "not given", not the text ""
            if field.get("required"):
                errors.append(FieldError(name, "is required: choose yes or no" if is_decision(field)
                                         else "is required"))
            continue
        try:
            value = _convert(field, raw)
        except ValueError as exc:
            errors.append(FieldError(name, str(exc)))
            continue
        problem = _check_constraints(field, value)
        if problem:
            errors.append(FieldError(name, problem))
            continue
        values[name] = value
    failed = {e.field for e in errors}
    for name, reason in reasons.items():
        given = values.get(reason["id"])
        if not isinstance(given, str) and given is not None:
            errors.append(FieldError(reason["id"], "must be text"))
        elif values.get(name) is False and reason["id"] not in failed and not (given or "").strip():
            errors.append(FieldError(reason["id"], REASON_MISSING))
    if errors:
        raise InvalidVariables(errors)
    return values


def _convert(field: dict[str, Any], raw: Any) -> Any:
    kind = field.get("type", "string")
    if kind == "long":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError("must be a whole number")
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind == "double":
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS or text == "":  # an unticked optional checkbox
            return False
        raise ValueError("must be true or false")
    if kind == "date":
        try:
            return date.fromisoformat(str(raw)[:10]).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if kind == "json":
        # Structured input (quantities per line, say): an object or list, from the API as is or from a
        # page as JSON text.
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ValueError("must be JSON (an object or a list)") from None
        if not isinstance(raw, dict | list):
            raise ValueError("must be JSON (an object or a list)")
        return raw
    if kind == "enum":
        allowed = [v["id"] for v in field.get("values", [])]
        if str(raw) not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return str(raw)
    return raw if isinstance(raw, str) else str(raw)


def _check_constraints(field: dict[str, Any], value: Any) -> str | None:
    if "min" in field and isinstance(value, int | float) and value < float(field["min"]):
        return f"must be at least {field['min']}"
    if "max" in field and isinstance(value, int | float) and value > float(field["max"]):
        return f"must be at most {field['max']}"
    if isinstance(value, str):
        if "minlength" in field and len(value) < int(field["minlength"]):
            return f"must be at least {field['minlength']} characters"
        if "maxlength" in field and len(value) > int(field["maxlength"]):
            return f"must be at most {field['maxlength']} characters"
        if "pattern" in field and not re.fullmatch(str(field["pattern"]), value):
            return f"must match {field['pattern']}"
    return None


# --- commands ------------------------------------------------------------------------------------------


def complete(
    engine: Engine, task_id: str, variables: dict[str, Any] | None = None, *, actor: str | None = None,
    user: str | None = None,
) -> ProcessInstance:
    """Complete a user task with the submitted variables (validated against its form fields)."""
    if variables is not None and not isinstance(variables, dict):
        raise InvalidVariables([FieldError("variables", "must be an object")])

    def work(session: Session) -> ProcessInstance:
        # The three columns needed, not an ORM object (its row is deleted when the task completes).
        row = session.execute(select(UserTask.instance_id, UserTask.assignee, UserTask.form)
                              .where(UserTask.id == task_id)).one_or_none()
        if row is None:
            if session.scalar(select(HistoryEvent.id).where(
                HistoryEvent.task_id == task_id, HistoryEvent.kind == "element_completed"
            ).limit(1)) is not None:
                raise Conflict(f"task {task_id} was completed already")
            raise NotFound(f"no open user task {task_id}")
        if user is not None and row.assignee not in (None, user):
            raise Conflict(f"task {task_id} is claimed by {row.assignee}")
        values = validate_form(row.form.get("fields", []), variables or {}, row.form.get("outputs", []),
                               row.form.get("formKey"))
        run = engine.load_run(session, row.instance_id, actor)
        run.refuse_bad_input = True
        task = run.task(task_id)
        if task.state == TaskState.COMPLETED:  # another command won the race for the instance lock
            raise Conflict(f"task {task_id} was completed already")
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict(f"task {task_id} is not waiting for completion")
        task.data.update(values)
        task.run()
        run.advance()
        engine.finish(run)
        return run.row

    return engine.command(work)
