"""Demo data for `taktflow serve --demo` (idempotent: running it again adds nothing)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taktflow.bootstrap import Runtime
from taktflow.engine import instances
from taktflow.engine.errors import NotFound
from taktflow.engine.store.models import ProcessInstance
from taktflow.handlers.devices.demo import seed_devices
from taktflow.handlers.mes.demo import seed_plant
from taktflow.web.auth.demo import seed_users
from taktflow.web.auth.service import create_token

log = logging.getLogger(__name__)

DEMO_REQUESTS = [
    ("MR-1001", {"machine": "CNC-01", "symptom": "spindle vibration above limit"}),
    ("MR-1002", {"machine": "PRESS-02", "symptom": "hydraulic pressure drops during cycle"}),
    ("MR-1003", {"machine": "PACK-01", "symptom": "label applicator misaligned"}),
]


def seed(runtime: Runtime, token: str) -> None:
    engine = runtime.engine
    engine.command(lambda session: create_token(session, "demo-admin", "admin", engine.clock.now(), token=token))
    log.info("demo admin token: %s", token)
    seed_users(engine)  # people for the web pages; passwords in README
    engine.command(seed_plant)  # MES demo plant: work centers, machines, BOMs, routings (idempotent)
    engine.command(seed_devices)  # the plant's machines for the device adapters (idempotent)

    def count(session: Session) -> int:
        return session.scalar(select(func.count()).select_from(ProcessInstance)) or 0

    with engine.db.read() as session:
        if count(session):
            return
    for business_key, variables in DEMO_REQUESTS:
        try:
            instances.start(engine, "maintenance_request", business_key=business_key, variables=variables,
                            actor="demo", idempotency_key=business_key)
        except NotFound:
            log.warning("demo process maintenance_request is not deployed")
            return
