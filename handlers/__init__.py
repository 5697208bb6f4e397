"""Service-task handlers of the ERP, MES and device slices; importing this registers them."""

import taktflow.handlers.devices  # noqa: F401,E402 - devices.start_job / devices.end_job
import taktflow.handlers.erp  # noqa: F401,E402 - erp.o2c.* / erp.p2p.*
import taktflow.handlers.mes  # noqa: F401,E402 - mes.* (work-order process)
