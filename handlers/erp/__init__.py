"""ERP: master data, double-entry ledger, perpetual inventory, order-to-cash and procure-to-pay.

Importing this package registers the ERP service-task handlers.
"""

from taktflow.handlers.erp import models  # noqa: E402, F401 - the tables
from taktflow.handlers.erp.planning import handlers as planning_handlers  # noqa: E402, F401
from taktflow.handlers.erp.purchasing import handlers as purchasing_handlers  # noqa: E402, F401
from taktflow.handlers.erp.sales import handlers as sales_handlers  # noqa: E402, F401
