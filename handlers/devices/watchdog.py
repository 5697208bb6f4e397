"""The silence watchdog: `machine.silent` when a machine running a job reports nothing for too long.

A per-cycle timer inside the process would cost one process round per part. Here the devices slice, which
sees every signal, keeps when the job's machine last did something (each cycle and each state change starts
a new silence period) and a periodic check tells the waiting process once per silence period. A machine
that is held, stopped, aborted or offline is not checked: its downtime was reported (`machine.interrupted`).
Several watchdogs (devices runner, worker, embedded worker) may run side by side: a silence period is
claimed under the device's row lock and reported once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from taktflow.engine.core import Engine
from taktflow.handlers.devices.models import Device
from taktflow.handlers.devices.packml import HELD_OR_STOPPED
from taktflow.handlers.devices.service import SILENT, correlate

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


def silent_devices(session: Session, now: datetime, *, lock: bool) -> list[Device]:
    """Machines with a job whose silence period is over and not reported yet."""
    stmt = select(Device).where(
        Device.job_operation_id.is_not(None), Device.job_reached.is_(False), Device.job_silence_seconds.is_not(None),
        Device.job_active_at.is_not(None), Device.job_silent_at.is_(None),
        Device.state.not_in([int(s) for s in HELD_OR_STOPPED]), or_(Device.online.is_(None), Device.online.is_(True)),
    ).order_by(Device.id)
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return [d for d in session.scalars(stmt) if now - d.job_active_at >= timedelta(seconds=d.job_silence_seconds)]


def check_silence(engine: Engine, *, actor: str = "devices-watchdog") -> list[dict[str, Any]]:
    """One pass: report every machine that went silent (one command); returns what was correlated."""
    with engine.db.read() as session:  # most passes find nothing: no write transaction for them
        if not silent_devices(session, engine.clock.now(), lock=False):
            return []

    def work(session: Session) -> list[dict[str, Any]]:
        now = engine.clock.now()
        reported = []
        for device in silent_devices(session, now, lock=not engine.db.is_sqlite):
            device.job_silent_at = now
            variables = {"operationId": device.job_operation_id, "silentSince": device.job_active_at.isoformat(),
                         "silenceSeconds": device.job_silence_seconds}
            log.info("device %s silent since %s (job %s)", device.id, device.job_active_at, device.job_operation_id)
            reported.append({"device": device.id,
                             **correlate(engine, session, SILENT, device, variables, actor)})
        return reported

    return engine.command(work)


class SilenceWatchdog:
    """Runs `check_silence` every `poll_seconds` in a daemon thread until stopped."""

    def __init__(self, engine: Engine, poll_seconds: float = POLL_SECONDS) -> None:
        self.engine, self.poll_seconds = engine, poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SilenceWatchdog:
        self._thread = threading.Thread(target=self.run, name="taktflow-silence-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                check_silence(self.engine)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the watchdog
                log.exception("silence watchdog pass failed")
            self._stop.wait(self.poll_seconds)
