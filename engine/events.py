"""Message correlation, signals and timers: how the outside world (and other instances) reach waits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.engine.errors import EngineError, NotFound
from taktflow.engine.runtime import InstanceRun, Outgoing, canonical_key
from taktflow.engine.store.models import ProcessDefinition, ProcessInstance, Subscription

if TYPE_CHECKING:
    from taktflow.engine.core import Engine


@dataclass(frozen=True)
class Reached:
    instance_id: str
    business_key: str | None
    element_id: str


def correlate_message(
    engine: Engine, name: str, *, business_key: str | None = None,
    correlation_keys: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
    actor: str | None = None,
) -> list[Reached]:
    """Deliver a message to every instance waiting for it with matching keys. NotFound if none waits."""
    if not name:
        raise EngineError("a message needs a name")
    if variables is not None and not isinstance(variables, dict):
        raise EngineError("variables must be an object")

    def work(session: Session) -> list[Reached]:
        return correlate_in(engine, session, name, business_key=business_key, correlation_keys=correlation_keys,
                            variables=variables, actor=actor)

    return engine.command(work)


def correlate_in(
    engine: Engine, session: Session, name: str, *, business_key: str | None = None,
    correlation_keys: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
    actor: str | None = None,
) -> list[Reached]:
    """correlate_message inside the caller's command, so the caller's own rows commit with the delivery."""
    stmt = select(Subscription).where(Subscription.kind == "message", Subscription.name == name)
    if business_key is not None:
        stmt = stmt.where(Subscription.business_key == business_key)
    if correlation_keys:
        stmt = stmt.where(Subscription.correlation_key == canonical_key(correlation_keys))
    subscriptions = list(session.scalars(stmt.order_by(Subscription.id)))
    reached = _deliver(engine, session, subscriptions, name, variables or {}, actor, one_per_instance=True,
                       correlation_key=canonical_key(correlation_keys) if correlation_keys else None)
    if not reached and not correlation_keys:
        reached = start_by_event(engine, session, "message", name, business_key, variables or {}, actor)
    if not reached:
        keys = [f"businessKey={business_key}"] if business_key else []
        keys += [f"{k}={v}" for k, v in (correlation_keys or {}).items()]
        raise NotFound(f"no instance waits for message {name!r}{' with ' + ', '.join(keys) if keys else ''}")
    return reached


def broadcast_signal(
    engine: Engine, name: str, *, variables: dict[str, Any] | None = None, actor: str | None = None,
) -> list[Reached]:
    """Deliver a signal to every instance waiting for it (signals are broadcasts: none waiting is fine)."""
    if not name:
        raise EngineError("a signal needs a name")

    def work(session: Session) -> list[Reached]:
        return signal_in(engine, session, name, variables or {}, actor)

    return engine.command(work)


def signal_in(
    engine: Engine, session: Session, name: str, variables: dict[str, Any], actor: str | None,
    exclude: str | None = None,
) -> list[Reached]:
    stmt = select(Subscription).where(Subscription.kind == "signal", Subscription.name == name)
    if exclude is not None:
        stmt = stmt.where(Subscription.instance_id != exclude)
    subscriptions = list(session.scalars(stmt.order_by(Subscription.id)))
    reached = _deliver(engine, session, subscriptions, name, variables, actor, one_per_instance=False)
    return reached + start_by_event(engine, session, "signal", name, None, variables, actor)


def start_by_event(
    engine: Engine, session: Session, kind: str, name: str, business_key: str | None,
    variables: dict[str, Any], actor: str | None,
) -> list[Reached]:
    """Start an instance of every process (latest version) whose start event catches this message or
    signal, and hand the event to it (BPMN message and signal start events)."""
    from taktflow.engine.instances import start_in  # instances builds on this module

    reached: list[Reached] = []
    for key in start_event_processes(engine, session, kind, name):
        run = start_in(engine, session, key, business_key=business_key, variables=dict(variables), actor=actor)
        subscriptions = session.scalars(select(Subscription).where(
            Subscription.instance_id == run.row.id, Subscription.kind == kind, Subscription.name == name,
        ).order_by(Subscription.id).limit(1))
        reached += _deliver(engine, session, subscriptions, name, variables, actor, one_per_instance=True)
    return reached


def start_event_processes(engine: Engine, session: Session, kind: str, name: str) -> list[str]:
    """Keys of the deployed processes (latest versions) with a top-level start event for this event."""
    wanted = MessageEventDefinition if kind == "message" else SignalEventDefinition
    latest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.key).subquery())
    definitions = session.scalars(select(ProcessDefinition).join(
        latest, (ProcessDefinition.key == latest.c.key) & (ProcessDefinition.version == latest.c.version)))
    keys = []
    for definition in definitions:  # one query; the parsed specs come from the engine's cache
        key = definition.key
        spec, _ = engine.specs(definition)
        for task_spec in spec.start.outputs:
            candidates = [task_spec, *getattr(task_spec, "outputs", [])]  # a start event may sit behind a split
            if any(isinstance(getattr(c, "event_definition", None), wanted)
                   and getattr(c.event_definition, "name", None) == name and isinstance(c, StartEvent)
                   for c in candidates):
                keys.append(key)
                break
    return keys


def _deliver(
    engine: Engine, session: Session, subscriptions: Iterable[Subscription], name: str,
    variables: dict[str, Any], actor: str | None, *, one_per_instance: bool, correlation_key: str | None = None,
) -> list[Reached]:
    by_instance: dict[str, list[Subscription]] = {}
    for sub in subscriptions:
        by_instance.setdefault(sub.instance_id, []).append(sub)
    reached: list[Reached] = []
    for instance_id, subs in by_instance.items():
        run = engine.load_run(session, instance_id, actor)
        if run.row.state in ("completed", "cancelled"):
            continue
        if not engine.db.is_sqlite:
            # Read the waits again under the instance lock: a command that held it before us may have moved
            # them (a loop waits again, with a new task) or consumed them. SQLite commands never read stale.
            subs = _current_subscriptions(session, instance_id, subs[0].kind, name, correlation_key)
        delivered = False
        for sub in subs[:1] if one_per_instance else subs:
            if deliver_to_task(run, sub.task_id, sub.kind, name, variables):
                reached.append(Reached(instance_id, run.row.business_key, sub.element_id))
                delivered = True
        if delivered:
            run.advance()
            engine.finish(run)
    return reached


def _current_subscriptions(
    session: Session, instance_id: str, kind: str, name: str, correlation_key: str | None,
) -> list[Subscription]:
    stmt = select(Subscription).where(Subscription.instance_id == instance_id, Subscription.kind == kind,
                                      Subscription.name == name)
    if correlation_key is not None:
        stmt = stmt.where(Subscription.correlation_key == correlation_key)
    return list(session.scalars(stmt.order_by(Subscription.id)))


def deliver_to_task(run: InstanceRun, task_id: str, kind: str, name: str, variables: dict[str, Any]) -> bool:
    """Hand one message or signal to one waiting catch event of a loaded instance."""
    task = run.task(task_id)
    if task.state != TaskState.WAITING:
        return False
    definition = task.task_spec.event_definition
    candidates = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
    for candidate in candidates:
        if getattr(candidate, "name", None) != name:
            continue
        event = BpmnEvent(candidate, payload=dict(variables))
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
        # The payload becomes process variables, as Camunda's correlate(...).setVariables(...) does. Set after
        # _update: that re-inherits the parent's data and would put back older values of the same names.
        task.data.update(variables)
        run.record(f"{kind}_received", {"name": name, "variables": variables or None}, task=task)
        return True
    return False


def fire_timer(engine: Engine, run: InstanceRun) -> None:
    """Let SpiffWorkflow look at the instance's timers against the engine clock (due ones fire)."""
    from taktflow.engine import clock as engine_clock

    with engine_clock.using(engine.clock):
        run.workflow.refresh_timers()
    run.advance()


def route_thrown(engine: Engine, session: Session, item: Outgoing, *, source: InstanceRun) -> None:
    """An instance threw a signal or message nothing inside it caught: other instances may be waiting."""
    if item.kind == "signal":
        signal_in(engine, session, item.name, item.payload, source.actor, exclude=source.row.id)
        return
    stmt = select(Subscription).where(Subscription.kind == "message", Subscription.name == item.name,
                                      Subscription.instance_id != source.row.id)
    if source.row.business_key is not None:
        stmt = stmt.where(Subscription.business_key == source.row.business_key)
    subscription = session.scalar(stmt.order_by(Subscription.id).limit(1))
    if subscription is not None:
        _deliver(engine, session, [subscription], item.name, item.payload, source.actor, one_per_instance=True)
    else:
        start_by_event(engine, session, "message", item.name, source.row.business_key, item.payload, source.actor)


def waiting_instances(session: Session, name: str) -> list[ProcessInstance]:
    ids = select(Subscription.instance_id).where(Subscription.name == name)
    return list(session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))))
