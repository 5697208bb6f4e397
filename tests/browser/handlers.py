"""Handlers loaded into the browser tests' server (TAKTFLOW_HANDLER_MODULES=tests.browser.handlers)."""

from __future__ import annotations

import os
from pathlib import Path

from taktflow.engine.handlers import HandlerContext, service_task_handler


@service_task_handler("browser.reserve_stock")
def reserve_stock(ctx: HandlerContext) -> dict[str, str]:
    """Fails like an unreachable stock service until the test creates the file that says it is back."""
    if not Path(os.environ["TAKTFLOW_TEST_STOCK_ONLINE"]).exists():
        raise RuntimeError("stock service offline: connection refused")
    return {"reservation": f"RES-{ctx.business_key}"}
