"""Machine signals: normalize, store, apply to PackML state and counters, correlate to waiting processes.

Every adapter (MQTT, Sparkplug B, OPC UA, HTTP) hands `ingest` the same `Signal`. One command stores the
signal, moves the device's state and counters, appends to the machine event log, and delivers the derived
messages (`machine.cycle_completed`, ...) to the instances waiting on the device's work center — all in one
transaction, so an adapter acknowledges its broker only after everything the signal caused is committed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from taktflow.engine import events
from taktflow.engine.core import Engine, StaleInstance
from taktflow.engine.errors import EngineError, NotFound
from taktflow.engine.store.models import MAX_INT64
from taktflow.handlers.devices.models import Device, DeviceAnomaly, DeviceSignal, MachineEvent
from taktflow.handlers.devices.packml import HELD_OR_STOPPED, State, parse_state, transition_allowed

log = logging.getLogger(__name__)

KINDS = ("state", "processed", "defective", "stop_reason", "design_speed", "online")
CYCLE_COMPLETED = "machine.cycle_completed"
QUANTITY_REACHED = "machine.quantity_reached"
STATE_CHANGED = "machine.state_changed"
INTERRUPTED = "machine.interrupted"
RESUMED = "machine.resumed"
SILENT = "machine.silent"
QUANTITY_BASES = ("good", "processed")


class InvalidSignal(EngineError):
    status_code = 422


class UnknownDevice(NotFound):
    pass


@dataclass(frozen=True)
class Signal:
    """The one shape every transport is normalized to."""

    device: str
    kind: str
    value: Any
    timestamp: datetime | None = None  # machine time; the receive time when the machine sends none
    sequence: int | None = None  # per device, increasing; None when the transport has no numbering
    source: str = "http"
    sequence_wrap: int | None = None  # Sparkplug numbers 0..255 and starts over


@dataclass(frozen=True)
class Cycle:
    """Parts a machine reported for the job (operation) it runs: what a cycle listener is told."""

    device: str
    work_center: str
    operation_id: str
    count: int  # parts in this step
    scrap: int
    total_count: int  # since the job start
    total_good: int
    total_scrap: int
    at: datetime  # received (server clock)


# Called for every cycle of a machine with a job, inside the signal's transaction (`on_cycle`): the place
# where per-part counts reach other slices without one process round per part (MES keeps its operation's
# machine count this way; the process itself waits only for milestones such as `machine.quantity_reached`).
CycleListener = Callable[[Session, Cycle], None]
_cycle_listeners: list[CycleListener] = []


def on_cycle(listener: CycleListener) -> CycleListener:
    """Register a cycle listener (idempotent). It must not raise for cycles it does not care about."""
    if listener not in _cycle_listeners:
        _cycle_listeners.append(listener)
    return listener


@dataclass(frozen=True)
class StateChange:
    """A machine entered a PackML state, or told why it stands (a stop reason or fault code while stopped):
    what a state listener is told, e.g. to keep a downtime record whether or not a job runs."""

    device: str
    work_center: str
    state: State
    previous: State
    reason: str | None  # PackTags Admin.StopReason as text ("ID: Value"), the machine's last one
    operation_id: str | None  # the job running on the machine, if any
    at: datetime  # received (server clock)


StateListener = Callable[[Session, StateChange], None]
_state_listeners: list[StateListener] = []


def on_state_change(listener: StateListener) -> StateListener:
    """Register a state listener (idempotent). Like a cycle listener it runs inside the signal's transaction,
    before the derived messages are correlated, and must not raise for changes it does not care about."""
    if listener not in _state_listeners:
        _state_listeners.append(listener)
    return listener


@dataclass
class Outcome:
    device: str
    kind: str
    sequence: int | None
    status: str  # applied | late | duplicate | anomaly | refused
    detail: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"device": self.device, "kind": self.kind, "sequence": self.sequence, "status": self.status,
                "detail": self.detail, "messages": self.messages}


# --- validation ------------------------------------------------------------------------------------------


def check(signal: Signal) -> Any:
    """The signal's value in its kind's type; InvalidSignal with a message a sender can act on."""
    kind, value = signal.kind, signal.value
    if kind not in KINDS:
        raise InvalidSignal(f"signal kind {kind!r} is unknown: use one of {', '.join(KINDS)}")
    if signal.sequence is not None and (isinstance(signal.sequence, bool) or not isinstance(signal.sequence, int)
                                        or signal.sequence < 0):
        raise InvalidSignal(f"sequence {signal.sequence!r} must be a whole number >= 0")
    if kind == "state":
        try:
            return parse_state(value)
        except ValueError as exc:
            raise InvalidSignal(str(exc)) from None
    if kind in ("processed", "defective"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer() \
                or value < 0:
            raise InvalidSignal(f"{kind} counter value {value!r} must be a whole number >= 0")
        if value > MAX_INT64:  # no PLC counts beyond 64 bits; the raw reading is a BigInteger column
            raise InvalidSignal(f"{kind} counter value {value:.4g} is larger than a 64-bit counter")
        return int(value)
    if kind == "design_speed":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise InvalidSignal(f"design speed {value!r} must be a positive number of parts per minute")
        return float(value) or None  # 0 is a PLC whose design speed is not configured: keep ours
    if kind == "online":
        if not isinstance(value, bool):
            raise InvalidSignal(f"online value {value!r} must be true or false")
        return value
    # stop_reason: PackTags Admin.StopReason is {ID, Value}; keep what a person can read.
    if isinstance(value, dict):
        return ": ".join(str(value[k]) for k in ("ID", "Value") if value.get(k) not in (None, ""))[:200] or None
    return None if value is None else str(value)[:200]


# --- counters and sequences ------------------------------------------------------------------------------


def counter_step(previous: int | None, current: int, limit: int) -> tuple[int, str | None]:
    """Parts counted since the previous reading, and whether the counter rolled over or was reset.

    A counter that drops is a rollover when it was in the top tenth of its range and now is in the bottom
    tenth (it wrapped); any other drop is a reset to zero, so the new value is what was counted since.
    """
    if previous is None:
        return 0, None  # the first reading is the baseline: the counter may have run long before
    if current >= previous:
        return current - previous, None
    if previous >= limit * 0.9 and current < limit * 0.1:
        return current + limit - previous, "counter_rollover"
    return current, "counter_reset"


def normalized_sequence(device: Device, raw: int, wrap: int | None) -> int:
    """A wrapping sequence (0..wrap-1) as a position in the device's ever-increasing numbering."""
    base = device.sequence_base
    if wrap is None:
        return base + raw
    last = (device.last_sequence - base) if device.last_sequence is not None else -1
    if last < 0:
        return base + raw
    candidate = last - last % wrap + raw
    best = min((candidate - wrap, candidate, candidate + wrap), key=lambda c: (abs(c - last), -c))
    return base + max(best, 0)


# --- the command ------------------------------------------------------------------------------------------


def ingest(engine: Engine, signals: Sequence[Signal], *, actor: str | None = None) -> list[Outcome]:
    """Store and apply signals in one transaction (the adapter acknowledges after this returns)."""
    return engine.command(lambda session: [record_signal(engine, session, s, actor=actor) for s in signals])


def record_signal(engine: Engine, session: Session, signal: Signal, *, actor: str | None = None) -> Outcome:
    now = engine.clock.now()
    stmt = select(Device).where(Device.id == signal.device)
    if not engine.db.is_sqlite:  # two adapters feeding one device queue up on its row
        stmt = stmt.with_for_update()
    device = session.scalar(stmt)
    outcome = Outcome(signal.device, signal.kind, signal.sequence, "applied")
    if device is None:
        return _anomaly(session, outcome, None, now, "unknown_device", "refused",
                        f"device {signal.device!r} is not registered; signal refused", signal)
    try:
        value = check(signal)
    except InvalidSignal as exc:
        return _anomaly(session, outcome, device, now, "invalid_signal", "anomaly", str(exc), signal)
    at = signal.timestamp or now

    if signal.kind == "online" and value:
        # A birth starts the machine's numbering over; a birth seen before (redelivered) changes nothing.
        if device.born_at is not None and at <= device.born_at:
            return _anomaly(session, outcome, device, now, "duplicate", "duplicate",
                            f"birth at {at.isoformat()} was seen already", signal)
        device.born_at = at
        device.sequence_base = (device.last_sequence + 1) if device.last_sequence is not None else 0

    sequence = None
    if signal.sequence is not None:
        sequence = normalized_sequence(device, signal.sequence, signal.sequence_wrap)
        outcome.sequence = sequence
        seen = session.scalar(select(exists().where(DeviceSignal.device_id == device.id,
                                                    DeviceSignal.sequence == sequence,
                                                    DeviceSignal.kind == signal.kind)))
        if seen:
            return _anomaly(session, outcome, device, now, "duplicate", "duplicate",
                            f"{signal.kind} with sequence {sequence} was received already", signal)
    row = DeviceSignal(device_id=device.id, kind=signal.kind, value=_jsonable(signal.value), machine_ts=at,
                       sequence=sequence, received_at=now, source=signal.source, status="applied", messages=[])
    session.add(row)
    if sequence is not None and device.last_sequence is not None and sequence < device.last_sequence:
        # Older than what the machine already told us: kept for the record, not applied over newer state.
        row.status = outcome.status = "late"
        return _anomaly(session, outcome, device, now, "out_of_order", "late",
                        f"sequence {sequence} arrived after {device.last_sequence}; stored, not applied", signal)
    if sequence is not None:
        device.last_sequence = sequence
    device.last_signal_at = now

    messages = _apply(session, device, row, value, at, outcome, now, signal)
    row.status = outcome.status
    session.flush()
    for name, variables in messages:
        outcome.messages.append(correlate(engine, session, name, device, variables, actor))
    row.messages = list(outcome.messages)
    return outcome


def _apply(
    session: Session, device: Device, row: DeviceSignal, value: Any, at: datetime, outcome: Outcome,
    now: datetime, signal: Signal,
) -> list[tuple[str, dict[str, Any]]]:
    kind = signal.kind
    if kind == "state":
        return _apply_state(session, device, value, at, outcome, now, signal)
    if kind == "online":
        return _apply_online(session, device, value, at, now)
    if kind == "stop_reason":
        device.stop_reason = value
        current = _open_interval(session, device)
        if current is not None and current.state != State.EXECUTE and current.reason is None:
            current.reason = value
        if value is not None and device.state in HELD_OR_STOPPED:  # the reason came after the stop
            state = State(device.state)
            _tell(session, _state_listeners, StateChange(device.id, device.work_center, state, state, value,
                                                         device.job_operation_id, now))
        return []
    if kind == "design_speed":
        if value is not None:
            device.ideal_cycle_seconds = 60.0 / value
        return []
    raw_field = "processed_raw" if kind == "processed" else "defective_raw"
    previous = getattr(device, raw_field)
    step, note = counter_step(previous, value, device.counter_limit)
    setattr(device, raw_field, value % device.counter_limit)
    if note is not None:
        _log(session, device.id, now, note, f"{kind} counter went from {previous} to {value}: counted {step}",
             signal)
    if kind == "defective":
        row.delta_scrap = step
        device.defective_total += step
        device.scrap_unreported += step
        if step and not device.job_operation_id:
            _unassigned(session, device, outcome, 0, now, signal)
        return []
    row.delta_count = step
    if step == 0:
        return []
    device.processed_total += step
    scrap = min(device.scrap_unreported, step)
    device.scrap_unreported -= scrap
    total = device.processed_total - device.job_processed_start
    total_scrap = device.defective_total - device.scrap_unreported - device.job_defective_start
    messages = [(CYCLE_COMPLETED, {
        "count": step, "good": step - scrap, "scrap": scrap, "totalCount": total,
        "totalGood": total - total_scrap, "totalScrap": total_scrap, "state": State(device.state).label,
    })]
    if not device.job_operation_id:
        _unassigned(session, device, outcome, step, now, signal)
        return messages
    _job_active(device, now)
    _tell(session, _cycle_listeners, Cycle(device.id, device.work_center, device.job_operation_id, step, scrap,
                                           total, total - total_scrap, total_scrap, now))
    made = total if device.job_quantity_basis == "processed" else total - total_scrap
    if not device.job_reached and device.job_quantity is not None and made >= device.job_quantity:
        device.job_reached = True
        messages.append((QUANTITY_REACHED, {
            "operationId": device.job_operation_id, "quantity": device.job_quantity,
            "good": total - total_scrap, "scrap": total_scrap, "count": total,
        }))
    return messages


def _apply_state(
    session: Session, device: Device, new: State, at: datetime, outcome: Outcome, now: datetime, signal: Signal,
) -> list[tuple[str, dict[str, Any]]]:
    current = State(device.state)
    if new == current:
        return []
    if not transition_allowed(current, new, resync=device.online is False):
        outcome.status = "anomaly"
        _log(session, device.id, now, "impossible_transition",
             f"{current.label} → {new.label} is not a PackML transition; state stays {current.label}", signal)
        outcome.detail = f"{current.label} → {new.label} is not a PackML transition"
        return []
    _switch_interval(session, device, new, device.online is not False, at)
    device.state = new
    device.state_since = at
    _job_active(device, now)  # a machine that changes state is not silent: its silence period starts over
    variables = {"state": new.label, "stateCode": int(new), "previousState": current.label,
                 "reason": device.stop_reason}
    _tell(session, _state_listeners, StateChange(device.id, device.work_center, new, current, device.stop_reason,
                                                 device.job_operation_id, now))
    messages = [(STATE_CHANGED, variables)]
    if new in HELD_OR_STOPPED:
        messages.append((INTERRUPTED, {**variables, "offline": False}))
    elif new == State.EXECUTE:
        messages.append((RESUMED, {**variables, "offline": False}))
    return messages


def _apply_online(
    session: Session, device: Device, online: bool, at: datetime, now: datetime,
) -> list[tuple[str, dict[str, Any]]]:
    was = device.online
    device.online = online
    if was is online:
        return []
    _switch_interval(session, device, State(device.state), online, at)
    label = State(device.state).label
    variables = {"state": label, "stateCode": device.state, "previousState": label, "reason": device.stop_reason}
    if not online:
        return [(INTERRUPTED, {**variables, "offline": True})]
    _job_active(device, now)
    # Back online while producing: whoever waits for the machine to run again must not wait for a state change.
    return [(RESUMED, {**variables, "offline": False})] if was is False and device.state == State.EXECUTE else []


def _open_interval(session: Session, device: Device) -> MachineEvent | None:
    return session.scalar(select(MachineEvent).where(MachineEvent.device_id == device.id,
                                                     MachineEvent.ended_at.is_(None)))


def _switch_interval(session: Session, device: Device, state: State, online: bool, at: datetime) -> None:
    """Close the machine event log's open interval and open the next one at machine time `at`."""
    current = _open_interval(session, device)
    if current is not None:
        at = max(at, current.started_at)  # a machine clock that stepped back must not make negative time
        current.ended_at = at
    reason = device.stop_reason if state not in (State.EXECUTE,) else None
    session.add(MachineEvent(device_id=device.id, state=int(state), online=online, reason=reason, started_at=at))


def _unassigned(session: Session, device: Device, outcome: Outcome, parts: int, now: datetime,
                signal: Signal) -> None:
    """Parts counted with no job: stored as unassigned (OEE counts only applied signals), the machine flagged;
    the anomaly log says so once per period, not once per part."""
    outcome.status = "unassigned"
    device.unassigned_count += parts
    if device.unassigned_since is None:
        device.unassigned_since = now
        _log(session, device.id, now, "counting_without_job",
             f"{device.id} counts parts but runs no job: the counts are unassigned and kept out of OEE", signal)


def _job_active(device: Device, now: datetime) -> None:
    if device.job_operation_id:
        device.job_active_at, device.job_silent_at = now, None


def _tell(session: Session, listeners: Sequence[Callable[[Session, Any], None]], event: Cycle | StateChange) -> None:
    for listener in listeners:
        savepoint = session.begin_nested()
        try:
            listener(session, event)
        except Exception:  # a broken listener must not lose the machine's signal
            savepoint.rollback()
            log.exception("listener %s failed for %s", getattr(listener, "__name__", listener), event)
        else:
            savepoint.commit()


def correlate(
    engine: Engine, session: Session, name: str, device: Device, variables: dict[str, Any], actor: str | None,
) -> dict[str, Any]:
    """Deliver one message to the instances waiting on the work center, inside the signal's transaction."""
    work_center = device.work_center
    payload = {"workCenter": work_center, "device": device.id, **variables}
    savepoint = session.begin_nested()
    try:
        reached = events.correlate_in(engine, session, name, correlation_keys={"workCenter": work_center},
                                      variables=payload, actor=actor or "devices")
    except NotFound:
        savepoint.rollback()
        return {"name": name, "status": "unmatched"}
    except (StaleInstance, DBAPIError):
        raise  # the whole command is retried from scratch
    except Exception as exc:  # a broken model must not lose the machine's signal
        savepoint.rollback()
        log.exception("message %s for work center %s failed", name, work_center)
        return {"name": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    savepoint.commit()
    return {"name": name, "status": "delivered", "instances": [r.instance_id for r in reached]}


def _anomaly(
    session: Session, outcome: Outcome, device: Device | None, now: datetime, kind: str, status: str, detail: str,
    signal: Signal,
) -> Outcome:
    _log(session, device.id if device is not None else signal.device, now, kind, detail, signal)
    outcome.status, outcome.detail = status, detail
    return outcome


def _log(session: Session, device_id: str, now: datetime, kind: str, detail: str, signal: Signal) -> None:
    log.warning("device %s: %s: %s", device_id, kind, detail)
    session.add(DeviceAnomaly(device_id=device_id[:300], at=now, kind=kind, detail=detail, source=signal.source,
                              signal=_signal_dict(signal)))


def _signal_dict(signal: Signal) -> dict[str, Any]:
    return {"kind": signal.kind, "value": _jsonable(signal.value), "sequence": signal.sequence,
            "timestamp": signal.timestamp.isoformat() if signal.timestamp else None}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


# --- jobs: which operation runs on a work center's machine -----------------------------------------------


def start_job(
    session: Session, work_center: str, operation_id: str, quantity: int, *, now: datetime, basis: str = "good",
    silence_seconds: float | None = None,
) -> list[Device]:
    """Counts from here on belong to `operation_id`; `machine.quantity_reached` fires once at `quantity` parts
    (good ones, or with basis "processed" good + rejects). With `silence_seconds` the watchdog sends
    `machine.silent` when the machine reports nothing for that long."""
    if basis not in QUANTITY_BASES:
        raise InvalidSignal(f"quantity basis {basis!r} is unknown: use one of {', '.join(QUANTITY_BASES)}")
    machines = devices_of_work_center(session, work_center, lock=True)
    if not machines:
        raise UnknownDevice(f"work center {work_center!r} has no registered machine")
    for device in machines:
        if device.job_operation_id == operation_id:
            continue  # a retried handler must not restart the count
        device.job_operation_id, device.job_quantity, device.job_reached = operation_id, quantity, False
        device.job_processed_start = device.processed_total
        device.job_defective_start = device.defective_total - device.scrap_unreported
        device.job_quantity_basis, device.job_silence_seconds = basis, silence_seconds
        device.job_active_at, device.job_silent_at = now, None
        device.unassigned_count, device.unassigned_since = 0, None  # a job runs: the machine is not flagged
    return machines


def end_job(session: Session, work_center: str) -> None:
    for device in devices_of_work_center(session, work_center, lock=True):
        device.job_operation_id, device.job_quantity, device.job_reached = None, None, False
        device.job_quantity_basis, device.job_silence_seconds = None, None
        device.job_active_at, device.job_silent_at = None, None


# --- queries ----------------------------------------------------------------------------------------------


def get_device(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise UnknownDevice(f"device {device_id!r} is not registered")
    return device


def list_devices(session: Session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.work_center, Device.id)))


def anomalies(session: Session, device_id: str, limit: int = 100) -> list[DeviceAnomaly]:
    """What was refused or not applied for a device, newest first."""
    return list(session.scalars(select(DeviceAnomaly).where(DeviceAnomaly.device_id == device_id)
                                .order_by(DeviceAnomaly.id.desc()).limit(limit)))


def devices_of_work_center(session: Session, work_center: str, *, lock: bool = False) -> list[Device]:
    stmt = select(Device).where(Device.work_center == work_center).order_by(Device.id)
    if lock and session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt))


def register_device(session: Session, device_id: str, work_center: str, *, name: str | None = None,
                    ideal_cycle_seconds: float = 1.0, **addresses: Any) -> Device:
    """Create or update a device definition (idempotent: the demo seeding and tests call it again)."""
    device = session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, name=name or device_id, work_center=work_center,
                        ideal_cycle_seconds=ideal_cycle_seconds, state=0, processed_total=0, defective_total=0,
                        scrap_unreported=0, sequence_base=0, job_processed_start=0, job_defective_start=0,
                        job_reached=False, unassigned_count=0)
        session.add(device)
    device.name, device.work_center, device.ideal_cycle_seconds = name or device.name, work_center, \
        ideal_cycle_seconds
    for key, value in addresses.items():
        if key not in ("mqtt_topic", "sparkplug_id", "opcua_endpoint", "opcua_namespace", "counter_limit"):
            raise TypeError(f"unknown device address {key!r}")
        setattr(device, key, value)
    session.flush()
    return device


def device_out(device: Device) -> dict[str, Any]:
    state = State(device.state)
    return {
        "id": device.id, "name": device.name, "workCenter": device.work_center,
        "state": state.label, "stateCode": int(state), "stateSince": device.state_since,
        "online": device.online, "stopReason": device.stop_reason,
        "counters": {"processed": device.processed_total, "defective": device.defective_total,
                     "good": device.processed_total - device.defective_total,
                     "processedRaw": device.processed_raw, "defectiveRaw": device.defective_raw},
        "countingWithoutJob": device.unassigned_since is not None and not device.job_operation_id,
        "unassignedCount": device.unassigned_count, "unassignedSince": device.unassigned_since,
        "idealCycleSeconds": device.ideal_cycle_seconds, "lastSequence": device.last_sequence,
        "lastSignalAt": device.last_signal_at,
        "job": None if not device.job_operation_id else {
            "operationId": device.job_operation_id, "quantity": device.job_quantity,
            "quantityBasis": device.job_quantity_basis or "good",
            "count": device.processed_total - device.job_processed_start, "reached": device.job_reached,
            "silenceSeconds": device.job_silence_seconds, "silentSince": device.job_active_at
            if device.job_silent_at else None},
        "transports": {"mqttTopic": device.mqtt_topic, "sparkplugId": device.sparkplug_id,
                       "opcuaEndpoint": device.opcua_endpoint, "opcuaNamespace": device.opcua_namespace},
    }
