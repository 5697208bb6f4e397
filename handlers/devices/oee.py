"""OEE from the machine event log: Availability × Performance × Quality, with loss categories, per shift.

Time model (domain.md §3.4, loss names from point85's TimeLoss):
- planned time = the window's time the machine was known and scheduled: everything but NOT_SCHEDULED (no data,
  Undefined) and UNSCHEDULED (Idle or Complete: ready, no work);
- availability = Execute time / planned time; the rest of planned time is SETUP (Resetting, Starting,
  Clearing, Completing), UNPLANNED_DOWNTIME (Held, Stopped, Aborted and their acting states; offline) and
  MINOR_STOPPAGES (Suspended: starved or blocked from outside the machine);
- performance = ideal cycle time × total count / Execute time; the missing part of Execute time is
  REDUCED_SPEED;
- total and good counts are the parts counted while a job ran: parts counted with no job are "unassigned"
  (reported, not counted);
- quality = good / total; REJECT_REWORK is the ideal time spent on rejects, NO_LOSS the ideal time of good parts.
So planned = NO_LOSS + REJECT_REWORK + REDUCED_SPEED + SETUP + UNPLANNED_DOWNTIME + MINOR_STOPPAGES.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.handlers.devices.models import Device, DeviceSignal, MachineEvent
from taktflow.handlers.devices.packml import State

S = State
LOSS_OF_STATE: dict[State, str] = {
    S.UNDEFINED: "NOT_SCHEDULED",
    S.IDLE: "UNSCHEDULED", S.COMPLETE: "UNSCHEDULED",
    S.RESETTING: "SETUP", S.STARTING: "SETUP", S.CLEARING: "SETUP", S.COMPLETING: "SETUP",
    S.SUSPENDED: "MINOR_STOPPAGES", S.SUSPENDING: "MINOR_STOPPAGES", S.UNSUSPENDING: "MINOR_STOPPAGES",
    S.HELD: "UNPLANNED_DOWNTIME", S.HOLDING: "UNPLANNED_DOWNTIME", S.UNHOLDING: "UNPLANNED_DOWNTIME",
    S.STOPPED: "UNPLANNED_DOWNTIME", S.STOPPING: "UNPLANNED_DOWNTIME", S.ABORTED: "UNPLANNED_DOWNTIME",
    S.ABORTING: "UNPLANNED_DOWNTIME",
}
OUTSIDE_PLANNED = ("NOT_SCHEDULED", "UNSCHEDULED")
# Shifts of the plant calendar (UTC): name, start hour, end hour (an end before the start crosses midnight).
SHIFTS: tuple[tuple[str, int, int], ...] = (("early", 6, 14), ("late", 14, 22), ("night", 22, 6))


@dataclass
class Tally:
    """Times (seconds) and counts of one or more machines over one window."""

    seconds: dict[str, float] = field(default_factory=dict)
    run: float = 0.0
    total: int = 0
    scrap: int = 0
    ideal_time: float = 0.0  # Σ ideal cycle × total count
    ideal_scrap_time: float = 0.0
    unassigned: int = 0  # parts counted with no job: not in OEE, reported so the gap is explained

    def add(self, other: Tally) -> None:
        for key, value in other.seconds.items():
            self.seconds[key] = self.seconds.get(key, 0.0) + value
        self.run += other.run
        self.total += other.total
        self.scrap += other.scrap
        self.ideal_time += other.ideal_time
        self.ideal_scrap_time += other.ideal_scrap_time
        self.unassigned += other.unassigned

    def report(self) -> dict[str, Any]:
        planned = self.run + sum(v for k, v in self.seconds.items() if k not in OUTSIDE_PLANNED)
        good = self.total - self.scrap
        availability = self.run / planned if planned > 0 else None
        performance = self.ideal_time / self.run if self.run > 0 else None
        quality = good / self.total if self.total > 0 else None
        parts = (availability, performance, quality)
        losses = {k: round(v, 3) for k, v in sorted(self.seconds.items())}
        if self.run > 0:
            losses["REDUCED_SPEED"] = round(self.run - self.ideal_time, 3)
            losses["REJECT_REWORK"] = round(self.ideal_scrap_time, 3)
            losses["NO_LOSS"] = round(self.ideal_time - self.ideal_scrap_time, 3)
        return {
            "plannedSeconds": round(planned, 3), "runSeconds": round(self.run, 3),
            "totalCount": self.total, "goodCount": good, "scrapCount": self.scrap,
            "unassignedCount": self.unassigned,
            "availability": _ratio(availability), "performance": _ratio(performance), "quality": _ratio(quality),
            "oee": _ratio(parts[0] * parts[1] * parts[2]) if None not in parts else None,
            "lossSeconds": losses,
        }


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def intervals(session: Session, device_id: str, start: datetime, end: datetime) -> list[MachineEvent]:
    """The machine event log's state intervals that overlap [start, end)."""
    return list(session.scalars(select(MachineEvent).where(
        MachineEvent.device_id == device_id, MachineEvent.started_at < end,
        (MachineEvent.ended_at.is_(None)) | (MachineEvent.ended_at > start),
    ).order_by(MachineEvent.started_at, MachineEvent.id)))


def tally(session: Session, device: Device, start: datetime, end: datetime, now: datetime) -> Tally:
    """One machine's times by loss category and its counts between `start` and `end` (machine time)."""
    result = Tally()
    known = 0.0
    for event in intervals(session, device.id, start, end):
        lo = max(event.started_at, start)
        hi = min(event.ended_at or max(now, event.started_at), end)
        seconds = max((hi - lo).total_seconds(), 0.0)
        known += seconds
        if event.online and event.state == S.EXECUTE:
            result.run += seconds
            continue
        loss = "UNPLANNED_DOWNTIME" if not event.online else LOSS_OF_STATE[State(event.state)]
        result.seconds[loss] = result.seconds.get(loss, 0.0) + seconds
    unknown = (end - start).total_seconds() - known
    if unknown > 0:
        result.seconds["NOT_SCHEDULED"] = result.seconds.get("NOT_SCHEDULED", 0.0) + unknown
    counts = session.execute(
        select(func.coalesce(func.sum(DeviceSignal.delta_count), 0),
               func.coalesce(func.sum(DeviceSignal.delta_scrap), 0))
        .where(DeviceSignal.device_id == device.id, DeviceSignal.status == "applied",
               DeviceSignal.machine_ts >= start, DeviceSignal.machine_ts < end)
    ).one()
    result.total, result.scrap = int(counts[0]), int(counts[1])
    # Parts a machine counted while no job ran belong to no operation: outside OEE's counts (domain.md §3.4).
    result.unassigned = int(session.scalar(
        select(func.coalesce(func.sum(DeviceSignal.delta_count), 0))
        .where(DeviceSignal.device_id == device.id, DeviceSignal.status == "unassigned",
               DeviceSignal.machine_ts >= start, DeviceSignal.machine_ts < end)) or 0)
    result.ideal_time = device.ideal_cycle_seconds * result.total
    result.ideal_scrap_time = device.ideal_cycle_seconds * result.scrap
    return result


def shifts_between(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """The plant calendar's shifts cut to [start, end)."""
    slices: list[tuple[str, datetime, datetime]] = []
    day = start.date() - timedelta(days=1)
    while True:
        for name, first, last in SHIFTS:
            begin = datetime.combine(day, time(first), start.tzinfo)
            finish = datetime.combine(day + timedelta(days=1 if last <= first else 0), time(last), start.tzinfo)
            lo, hi = max(begin, start), min(finish, end)
            if lo < hi:
                slices.append((name, lo, hi))
        day += timedelta(days=1)
        if datetime.combine(day, time(0), start.tzinfo) >= end:
            return sorted(slices, key=lambda s: s[1])


def oee(session: Session, devices: list[Device], start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """OEE of one machine or a work center's machines over the window, and for each shift in it."""
    whole = Tally()
    shifts = []
    for name, lo, hi in shifts_between(start, end):
        part = Tally()
        for device in devices:
            part.add(tally(session, device, lo, hi, now))
        whole.add(part)
        shifts.append({"shift": name, "from": lo, "to": hi, **part.report()})
    return {"from": start, "to": end, "devices": [d.id for d in devices], **whole.report(), "shifts": shifts}
