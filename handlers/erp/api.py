"""The ERP REST API under /api/v1, one router per domain slice (included by web/app.py)."""

from fastapi import APIRouter

from taktflow.handlers.erp.invoicing import routes as invoicing
from taktflow.handlers.erp.items import routes as items
from taktflow.handlers.erp.ledger import routes as ledger
from taktflow.handlers.erp.partners import routes as partners
from taktflow.handlers.erp.planning import routes as planning
from taktflow.handlers.erp.purchasing import routes as purchasing
from taktflow.handlers.erp.sales import routes as sales
from taktflow.handlers.erp.stock import routes as stock

router = APIRouter(prefix="/api/v1")
for module in (partners, items, stock, ledger, sales, invoicing, purchasing, planning):
    router.include_router(module.router)
