"""Device REST API: machines and gateways push signals; screens read state, counters, event log and OEE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from taktflow.engine.core import Engine
from taktflow.handlers.devices import oee as oee_service
from taktflow.handlers.devices import service
from taktflow.handlers.devices.packml import State
from taktflow.web.api.deps import get_engine, require
from taktflow.web.api.params import MAX_INT64
from taktflow.web.auth.service import WORK, Principal

router = APIRouter(prefix="/devices", tags=["devices"])


class SignalIn(BaseModel):
    kind: str = Field(description=f"one of {', '.join(service.KINDS)}")
    value: Any = None
    timestamp: datetime | None = Field(default=None, description="machine time (ISO 8601); receive time if empty")
    sequence: int | None = Field(default=None, ge=0, le=MAX_INT64,
                                 description="per device, increasing; detects duplicates")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.post("/{device_id}/signals", responses={404: {"description": "unknown device"},
                                                422: {"description": "invalid signal"}})
def post_signals(device_id: str, body: SignalIn | list[SignalIn], engine: Engine = Depends(get_engine),
                 principal: Principal = Depends(require(WORK))) -> dict[str, Any]:
    items = body if isinstance(body, list) else [body]
    if not items:
        raise HTTPException(422, "no signal given")
    signals = [service.Signal(device_id, s.kind, s.value, _utc(s.timestamp), s.sequence, source="http")
               for s in items]
    for signal in signals:  # a bad one refuses the whole request: nothing of it is booked
        service.check(signal)
    outcomes = service.ingest(engine, signals, actor=principal.name)
    if outcomes and outcomes[0].status == "refused":
        raise service.UnknownDevice(outcomes[0].detail or f"device {device_id!r} is not registered")
    return {"signals": [o.as_dict() for o in outcomes]}


@router.get("")
def list_devices(engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        return [service.device_out(d) for d in service.list_devices(session)]


@router.get("/{device_id}", responses={404: {"description": "unknown device"}})
def get_device(device_id: str, engine: Engine = Depends(get_engine),
               _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        return service.device_out(service.get_device(session, device_id))


def window(
    start: datetime | None = Query(None, alias="from", description="ISO 8601; default: 24 hours before `to`"),
    end: datetime | None = Query(None, alias="to", description="ISO 8601; default: now"),
    engine: Engine = Depends(get_engine),
) -> tuple[datetime, datetime]:
    """The machine-time window a query covers."""
    hi = _utc(end) or engine.clock.now()
    lo = _utc(start) or hi - timedelta(hours=24)
    if lo >= hi:
        raise HTTPException(422, "'from' must be before 'to'")
    if hi - lo > timedelta(days=93):
        raise HTTPException(422, "the window may span at most 93 days")
    return lo, hi


@router.get("/{device_id}/oee", responses={404: {"description": "unknown device"}})
def device_oee(device_id: str, span: tuple[datetime, datetime] = Depends(window), engine: Engine = Depends(get_engine),
               _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        device = service.get_device(session, device_id)
        return {"device": device.id, "workCenter": device.work_center,
                **oee_service.oee(session, [device], *span, engine.clock.now())}


@router.get("/work-centers/{work_center}/oee", responses={404: {"description": "no machine at the work center"}})
def work_center_oee(work_center: str, span: tuple[datetime, datetime] = Depends(window),
                    engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> dict[str, Any]:
    with engine.db.read() as session:
        devices = service.devices_of_work_center(session, work_center)
        if not devices:
            raise service.UnknownDevice(f"work center {work_center!r} has no registered machine")
        return {"workCenter": work_center, **oee_service.oee(session, devices, *span, engine.clock.now())}


@router.get("/{device_id}/events", responses={404: {"description": "unknown device"}})
def machine_events(device_id: str, span: tuple[datetime, datetime] = Depends(window),
                   engine: Engine = Depends(get_engine), _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    """The machine event log: PackML state intervals overlapping the window."""
    with engine.db.read() as session:
        service.get_device(session, device_id)
        rows = oee_service.intervals(session, device_id, *span)
        return [{"state": State(r.state).label, "stateCode": r.state, "online": r.online, "reason": r.reason,
                 "from": r.started_at, "to": r.ended_at} for r in rows]


@router.get("/{device_id}/anomalies")
def anomalies(device_id: str, limit: int = Query(100, ge=1, le=1000), engine: Engine = Depends(get_engine),
              _: Principal = Depends(require(WORK))) -> list[dict[str, Any]]:
    """Refused and unapplied signals (unknown device, impossible transition, duplicate, out of order)."""
    with engine.db.read() as session:
        rows = service.anomalies(session, device_id, limit)
        return [{"at": r.at, "kind": r.kind, "detail": r.detail, "source": r.source, "signal": r.signal}
                for r in rows]
