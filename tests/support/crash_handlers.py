"""Handlers loaded into server processes by the crash and restart tests (TAKTFLOW_HANDLER_MODULES)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from taktflow.engine.handlers import HandlerContext, service_task_handler
from tests.support import bookings


@service_task_handler("test.book")
def book(ctx: HandlerContext) -> dict[str, str]:
    bookings.book(ctx.session, ctx.booking_key, 1)
    ctx.session.flush()  # the booking is written inside the open transaction before the crash
    marker = os.environ.get("TAKTFLOW_TEST_MARKER")
    if marker:
        Path(marker).write_text(ctx.booking_key)
    # A slow ledger: the chaos test's workers hold their claims (and open bookings) long enough to be killed.
    time.sleep(float(os.environ.get("TAKTFLOW_TEST_BOOK_SECONDS", "0")))
    if os.environ.get("TAKTFLOW_TEST_HANG") == "1":
        time.sleep(120)  # the test kills the process here
    return {"booked": ctx.booking_key}
