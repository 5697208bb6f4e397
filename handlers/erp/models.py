"""Every ERP table, imported once so the shared metadata (and Alembic) sees them."""

from taktflow.handlers.erp.invoicing import models as invoicing  # noqa: F401
from taktflow.handlers.erp.items import models as items  # noqa: F401
from taktflow.handlers.erp.ledger import models as ledger  # noqa: F401
from taktflow.handlers.erp.partners import models as partners  # noqa: F401
from taktflow.handlers.erp.planning import models as planning  # noqa: F401
from taktflow.handlers.erp.purchasing import models as purchasing  # noqa: F401
from taktflow.handlers.erp.sales import models as sales  # noqa: F401
from taktflow.handlers.erp.stock import models as stock  # noqa: F401
