"""The engine's notion of "now", injectable for tests and the timer worker.

SpiffWorkflow reads `datetime.now(timezone.utc)` inside its timer event definitions and offers no hook.
We replace that module's `datetime` name once with a subclass whose `now()` honours the clock of the
command that is running (a context variable), so a test clock moves every timer the engine computes.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("taktflow_clock", default=None)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        clock = _current.get()
        if clock is None:
            return datetime.now(tz)
        now = clock.now()
        return now.astimezone(tz) if tz is not None else now.replace(tzinfo=None)


spiff_timer.datetime = _ClockedDatetime  # type: ignore[misc]


@contextlib.contextmanager
def using(clock: Clock) -> Iterator[None]:
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)


def utcnow(clock: Clock | None = None) -> datetime:
    return (clock or _current.get() or SystemClock()).now()
