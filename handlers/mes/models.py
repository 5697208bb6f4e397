"""Every MES table, imported once so the shared metadata (and Alembic) sees them."""

from taktflow.handlers.mes.bom.models import Bom, BomLine
from taktflow.handlers.mes.genealogy.models import LotLink
from taktflow.handlers.mes.operation.models import Alert, Downtime, Operation
from taktflow.handlers.mes.quality.models import Inspection
from taktflow.handlers.mes.routing.models import Routing, RoutingOperation
from taktflow.handlers.mes.scheduling.models import (
    Calendar,
    Holiday,
    PlannedOperation,
    RoutingTime,
    Schedule,
    Shift,
    WorkCenterCalendar,
)
from taktflow.handlers.mes.work_center.models import Machine, WorkCenter
from taktflow.handlers.mes.work_order.models import (
    MaterialIssue,
    MaterialRequirement,
    ProcurementRequest,
    WorkOrder,
)

__all__ = ["Alert", "Bom", "BomLine", "Calendar", "Downtime", "Holiday", "Inspection", "LotLink", "Machine",
           "MaterialIssue", "MaterialRequirement", "Operation", "PlannedOperation", "ProcurementRequest", "Routing",
           "RoutingOperation", "RoutingTime", "Schedule", "Shift", "WorkCenter", "WorkCenterCalendar", "WorkOrder"]
