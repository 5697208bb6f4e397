"""Service-task handler of the in-process inspection."""

from __future__ import annotations

from typing import Any

from taktflow.engine.handlers import HandlerContext, service_task_handler
from taktflow.handlers.mes.common import variable
from taktflow.handlers.mes.operation.service import get_operation
from taktflow.handlers.mes.quality.service import record_inspection


@service_task_handler("mes.record_inspection")
def record(ctx: HandlerContext) -> dict[str, Any]:
    op = get_operation(ctx.session, int(variable(ctx.variables, "operationId")))
    row = record_inspection(ctx.session, op, measured=variable(ctx.variables, "measuredValue"), inspector=ctx.actor,
                            key=ctx.booking_key, now=ctx.now)
    return {"deviation": row.deviation, "inspectionResult": row.result}
