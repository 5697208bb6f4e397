"""The MES REST API under /api/v1, one router per domain slice (included by web/app.py)."""

from fastapi import APIRouter

from taktflow.handlers.mes.bom import routes as boms
from taktflow.handlers.mes.genealogy import routes as genealogy
from taktflow.handlers.mes.operation import routes as operations
from taktflow.handlers.mes.routing import routes as routings
from taktflow.handlers.mes.scheduling import routes as scheduling
from taktflow.handlers.mes.work_center import routes as work_centers
from taktflow.handlers.mes.work_order import routes as work_orders

router = APIRouter(prefix="/api/v1")
for module in (work_centers, operations, boms, routings, work_orders, genealogy, scheduling):
    router.include_router(module.router)
