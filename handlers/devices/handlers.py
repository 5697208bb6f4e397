"""Service-task handlers a work-order process uses to tell a work center's machine which operation runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taktflow.engine.handlers import HandlerContext, HandlerRegistry
from taktflow.engine.handlers import registry as default_registry
from taktflow.handlers.devices import service


def _optional(ctx: HandlerContext, name: str) -> Any:
    value = ctx.parameters.get(name, ctx.variables.get(name))
    return None if value in (None, "") else value


def _input(ctx: HandlerContext, name: str) -> Any:
    value = _optional(ctx, name)
    if value is None:
        raise ValueError(f"{ctx.element_id}: input {name!r} is missing")
    return value


def start_job(ctx: HandlerContext) -> Mapping[str, Any]:
    """Inputs workCenter, operationId, quantity; optional quantityBasis ("good" or "processed") and
    silenceSeconds (machine.silent after that long without a cycle). The machines' job counts start at 0."""
    quantity = _input(ctx, "quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity <= 0:
        raise ValueError(f"{ctx.element_id}: quantity {quantity!r} must be a positive number")
    silence = _optional(ctx, "silenceSeconds")
    if silence is not None and (isinstance(silence, bool) or not isinstance(silence, int | float) or silence <= 0):
        raise ValueError(f"{ctx.element_id}: silenceSeconds {silence!r} must be a positive number")
    machines = service.start_job(ctx.session, str(_input(ctx, "workCenter")), str(_input(ctx, "operationId")),
                                 int(quantity), now=ctx.now, basis=str(_optional(ctx, "quantityBasis") or "good"),
                                 silence_seconds=None if silence is None else float(silence))
    return {"machines": [m.id for m in machines]}


def end_job(ctx: HandlerContext) -> None:
    service.end_job(ctx.session, str(_input(ctx, "workCenter")))


def register(registry: HandlerRegistry) -> None:
    registry.register("devices.start_job", start_job)
    registry.register("devices.end_job", end_job)


register(default_registry)
