"""Inbox query latency with 1 000 and 100 000 open user tasks (rows bulk-inserted as the engine writes them)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bench.common import summary_ms
from taktflow.engine import tasks
from taktflow.engine.store.db import Database
from taktflow.engine.store.models import ProcessDefinition, ProcessInstance, TaskCandidate, UserTask
from taktflow.schema import migrate
from taktflow.web.api.tasks import task_out

GROUPS = [f"group-{n}" for n in range(20)]  # a plant's teams: sales, shipping, quality, line 1..n, ...
PROCESSES = ["order_to_cash", "procure_to_pay", "work_order", "maintenance_request", "quality_check"]
ELEMENTS = ["approve", "review", "inspect", "confirm_receipt", "release", "check_credit"]
BATCH = 5000


def _definition(db: Database) -> int:
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        return conn.execute(insert(ProcessDefinition).values(
            key="bench_inbox", version=1, name="Inbox benchmark", resource_id=_resource(conn, now),
            content_hash="0" * 64, spec={}, deployed_at=now).returning(ProcessDefinition.id)).scalar_one()


def _fill(db: Database, definition_id: int, count: int, seed: int) -> None:
    """Open tasks as the engine leaves them: one instance each, one or two candidate groups, some assigned."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for offset in range(0, count, BATCH):
        instances: list[dict[str, Any]] = []
        user_tasks: list[dict[str, Any]] = []
        candidates: list[dict[str, Any]] = []
        for n in range(offset, min(count, offset + BATCH)):
            instance_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
            process = rng.choice(PROCESSES)
            created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 90))
            instances.append({"id": instance_id, "definition_id": definition_id, "process_key": process,
                              "business_key": f"BK-{n}", "state": "active", "version": 2, "started_at": created,
                              "variables": {"orderNo": n}, "active_elements": [rng.choice(ELEMENTS)]})
            user_tasks.append({
                "id": task_id, "instance_id": instance_id, "process_key": process, "business_key": f"BK-{n}",
                "element_id": rng.choice(ELEMENTS), "name": "Review", "lane": None,
                "assignee": f"user-{rng.randint(0, 199)}" if rng.random() < 0.3 else None,
                "due_at": created + timedelta(days=rng.randint(1, 14)), "follow_up_at": None,
                "priority": rng.choice((30, 50, 50, 50, 70, 90)), "form": {"fields": [], "formKey": None},
                "created_at": created,
            })
            for group in rng.sample(GROUPS, rng.choice((1, 1, 2))):
                candidates.append({"task_id": task_id, "kind": "group", "value": group})
        with db.engine.begin() as conn:
            conn.execute(insert(ProcessInstance), instances)
            conn.execute(insert(UserTask), user_tasks)
            conn.execute(insert(TaskCandidate), candidates)


def _resource(conn: Any, now: datetime) -> int:
    from taktflow.engine.store.models import Deployment, DeploymentResource

    deployment_id = conn.execute(insert(Deployment).values(name="bench", source="api", deployed_at=now)
                                 .returning(Deployment.id)).scalar_one()
    return conn.execute(insert(DeploymentResource).values(
        deployment_id=deployment_id, name="bench.bpmn", kind="bpmn", sha256="0" * 64, content="")
        .returning(DeploymentResource.id)).scalar_one()


def inbox_latency(url: str, counts: tuple[int, ...] = (1_000, 100_000), queries: int = 300) -> dict[str, Any]:
    """p50/p95 of a worker's inbox page: tasks of their groups or offered to them, first 50 by priority."""
    db = Database(url)
    migrate(db)
    rng = random.Random(11)
    out: dict[str, Any] = {}
    definition_id = _definition(db)
    filled = 0
    for count in counts:
        began = time.perf_counter()
        _fill(db, definition_id, count - filled, seed=count)
        filled = count
        if not db.is_sqlite:  # what autovacuum does to a table after bulk inserts
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        fill_s = time.perf_counter() - began
        samples = []
        for q in range(queries + 20):
            groups = rng.sample(GROUPS, 2)
            stmt = tasks.query(candidate_groups=groups, candidate_user=f"user-{rng.randint(0, 199)}").limit(50)
            began = time.perf_counter()
            with db.read() as session:
                page = [task_out(row) for row in session.scalars(stmt)]
            if q >= 20:  # the first ones warm the caches
                samples.append(time.perf_counter() - began)
            assert page, "an inbox came back empty"
        out[str(count)] = {**summary_ms(samples), "fill_seconds": round(fill_s, 1)}
    db.dispose()
    return out
