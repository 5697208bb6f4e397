"""Instance commands: start, cancel, read. Each is one transaction (see `Engine.command`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import latest_process_id
from taktflow.engine.errors import Conflict, EngineError, IdempotencyKeyReused, NotFound
from taktflow.engine.store.models import Incident, ProcessInstance

STATES = ("active", "completed", "cancelled", "incident")


@dataclass(frozen=True)
class Started:
    instance: ProcessInstance
    created: bool  # False when an idempotency key returned an earlier start


def start(
    engine: Engine, key: str, *, business_key: str | None = None, variables: dict[str, Any] | None = None,
    actor: str | None = None, idempotency_key: str | None = None,
) -> Started:
    if variables is not None and not isinstance(variables, dict):
        raise EngineError("variables must be an object")

    request_hash = _request_hash(business_key, variables or {}) if idempotency_key else None

    def work(session: Session) -> Started:
        if idempotency_key:
            earlier = _by_idempotency_key(session, key, idempotency_key)
            if earlier is not None:
                return _replayed(earlier, idempotency_key, request_hash)
        run = start_in(engine, session, key, business_key=business_key, variables=variables or {},
                       actor=actor, idempotency_key=idempotency_key, refuse_bad_input=True,
                       idempotency_request_hash=request_hash)
        return Started(run.row, created=True)

    try:
        return engine.command(work)
    except IntegrityError:
        # Two starts with one idempotency key raced: the other one won, and is the answer.
        if idempotency_key:
            with engine.db.read() as session:
                earlier = _by_idempotency_key(session, key, idempotency_key)
                if earlier is not None:
                    return _replayed(earlier, idempotency_key, request_hash)
        raise


def _request_hash(business_key: str | None, variables: dict[str, Any]) -> str:
    """What a start request asked for, independent of key order and whitespace."""
    body = json.dumps({"businessKey": business_key, "variables": variables}, sort_keys=True, default=str,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _replayed(earlier: ProcessInstance, idempotency_key: str, request_hash: str | None) -> Started:
    """The answer to a retried start: the instance the key made, if the retry asks for the same thing.

    A different body under the same key is a client bug (two requests sharing a key), not a retry: answering
    with the first instance would silently drop the second request, so it is refused (Stripe, IETF draft).
    Instances started before the hash was kept have none and replay as before.
    """
    if earlier.idempotency_request_hash not in (None, request_hash):
        raise IdempotencyKeyReused(
            f"Idempotency-Key {idempotency_key!r} was used with a different request body "
            f"(instance {earlier.id}); use a new key for a new request")
    return Started(earlier, created=False)


def start_in(
    engine: Engine, session: Session, key: str, *, business_key: str | None, variables: dict[str, Any],
    actor: str | None, idempotency_key: str | None = None, refuse_bad_input: bool = False,
    idempotency_request_hash: str | None = None,
) -> Any:
    run = engine.new_run(session, latest_process_id(session, key), key, business_key=business_key,
                         variables=variables, actor=actor, idempotency_key=idempotency_key,
                         idempotency_request_hash=idempotency_request_hash)
    run.refuse_bad_input = refuse_bad_input
    run.advance()
    engine.finish(run)
    return run


def _by_idempotency_key(session: Session, key: str, idempotency_key: str) -> ProcessInstance | None:
    return session.scalar(select(ProcessInstance).where(
        ProcessInstance.process_key == key, ProcessInstance.idempotency_key == idempotency_key
    ))


def cancel(engine: Engine, instance_id: str, *, actor: str | None = None, reason: str | None = None) -> ProcessInstance:
    return engine.command(lambda session: cancel_in(engine, session, instance_id, actor=actor, reason=reason))


def cancel_in(engine: Engine, session: Session, instance_id: str, *, actor: str | None = None,
              reason: str | None = None) -> ProcessInstance:
    """Cancel inside the caller's command (a document cancelled with its process commits as one)."""
    run = engine.load_run(session, instance_id, actor)
    if run.row.state in ("completed", "cancelled"):
        raise Conflict(f"instance {instance_id} is {run.row.state} and cannot be cancelled")
    run.cancel(reason)
    for incident in session.scalars(
        select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
    ):
        incident.resolved_at = engine.clock.now()
    engine.finish(run)
    return run.row


def get(session: Session, instance_id: str) -> ProcessInstance:
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return row


def query(
    *, business_key: str | None = None, key: str | None = None, state: str | None = None,
) -> Select[tuple[ProcessInstance]]:
    stmt = select(ProcessInstance)
    if business_key:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    if key:
        stmt = stmt.where(ProcessInstance.process_key == key)
    if state:
        if state not in STATES:
            raise EngineError(f"state must be one of {', '.join(STATES)}")
        stmt = stmt.where(ProcessInstance.state == state)
    return stmt.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id)
