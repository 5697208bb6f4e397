"""MES: BOMs, routings, work centers, work orders, operations, quality, lot genealogy.

Importing this package registers the work-order process's service-task handlers.
"""

from taktflow.handlers.mes.operation import handlers as _operation_handlers  # noqa: F401
from taktflow.handlers.mes.quality import handlers as _quality_handlers  # noqa: F401
from taktflow.handlers.mes.work_order import handlers as _work_order_handlers  # noqa: F401
