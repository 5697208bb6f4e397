"""Service tasks of mrp_run.bpmn: plan, then carry out the planner's decision."""

from __future__ import annotations

from typing import Any

from taktflow.engine.handlers import HandlerContext, service_task_handler
from taktflow.handlers.erp.planning import service


@service_task_handler("erp.mrp.plan")
def plan(ctx: HandlerContext) -> dict[str, Any]:
    run = service.run_mrp(ctx.session, ctx.now, instance_id=ctx.instance_id)
    return {"mrpRunId": run.id, "mrpRunNumber": run.number, "proposalCount": len(run.proposals),
            "exceptionCount": len(run.exceptions)}


@service_task_handler("erp.mrp.decide")
def decide(ctx: HandlerContext) -> dict[str, Any]:
    run = service.get_run(ctx.session, int(ctx.variables["mrpRunId"]))
    started = service.decide(ctx.engine, ctx.session, run, approved=bool(ctx.variables.get("approved")),
                             now=ctx.now, actor=ctx.actor)
    return {"mrpRunState": run.state, "firmedInstances": started}
