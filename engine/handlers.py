"""The registry that maps a service task to a Python handler, and what a handler is given.

A handler is a plain function `handler(ctx: HandlerContext) -> dict | None`. It books through
`ctx.session`, inside the command's transaction, and never commits: its bookings and the instance's new
state commit together or not at all. It must be safe to run again (a retried job re-runs it), so it books
each document under `ctx.booking_key`. Raising `BpmnError` hands a business error to the model's error
boundary event. Raising an `EngineError` with a 4xx status (an `ErpError`, say) refuses the input: when the
caller of the command supplied it (starting an instance, completing a user task), the whole command is
refused with that error and nothing is committed; in a job, timer or message it is a failure like any other.
Any other exception is a technical failure, retried as a job and then an incident.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


class BpmnError(Exception):  # noqa: N818 - the BPMN name
    """A business error for the model to catch (error boundary event by code)."""

    def __init__(self, code: str, message: str = "", variables: Mapping[str, Any] | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.variables = dict(variables or {})


@dataclass(frozen=True)
class HandlerContext:
    instance_id: str
    business_key: str | None
    process_key: str
    element_id: str
    task_id: str
    variables: Mapping[str, Any]
    parameters: Mapping[str, Any]
    # The command's session, handed out by `session`: the engine opens the handler's savepoint on first use, so
    # a handler that books nothing costs no savepoint.
    open_session: Callable[[], Session]
    now: datetime
    actor: str | None = None
    attempt: int = 1
    extensions: Mapping[str, Any] = field(default_factory=dict)
    # The running engine, so a handler can start another instance in this command (instances.start_in).
    engine: Any = None

    @property
    def session(self) -> Session:
        """Where the handler books: the command's transaction (never commit it)."""
        return self.open_session()

    @property
    def booking_key(self) -> str:
        """Stable across retries of this task, new for every other task: the key to book documents under."""
        return f"{self.instance_id}:{self.task_id}"


Handler = Callable[[HandlerContext], Mapping[str, Any] | None]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        if name in self._handlers and self._handlers[name] is not handler:
            raise ValueError(f"a handler named {name!r} is registered already")
        self._handlers[name] = handler

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: `@registry.handler("erp.post_goods_issue")`."""

        def decorate(fn: Handler) -> Handler:
            self.register(name, fn)
            return fn

        return decorate

    def get(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    def unregister(self, name: str) -> None:
        self._handlers.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._handlers)


# The process-wide registry that handlers/erp, handlers/mes and handlers/devices register into.
registry = HandlerRegistry()
service_task_handler = registry.handler
