"""What every benchmark shares: models, the benchmark handlers, fresh databases, timing."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import ModelFile, deploy
from taktflow.engine.handlers import HandlerContext, HandlerRegistry
from taktflow.engine.store.db import Database
from taktflow.schema import migrate

MODELS = Path(__file__).resolve().parent / "models"
HANDLER_MODULE = "bench.handlers"  # benchmark servers import it (TAKTFLOW_HANDLER_MODULES) for its handlers


def model(name: str) -> ModelFile:
    return ModelFile(name, (MODELS / name).read_bytes())


# --- the work a service task does, the same for the engine and for raw SpiffWorkflow ----------------------


def step(element_id: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """One booking step of the order: what a real handler returns (a document number), no I/O."""
    return {f"{element_id}_doc": f"{element_id.upper()}-{variables.get('order_no', 0)}"}


def book_line(line: Mapping[str, Any]) -> dict[str, Any]:
    return {"booked": f"LINE-{line['line']}"}


def handler_step(ctx: HandlerContext) -> dict[str, Any]:
    return step(ctx.element_id, ctx.variables)


def handler_line(ctx: HandlerContext) -> dict[str, Any]:
    return book_line(ctx.variables["line"])


def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    reg.register("bench.step", handler_step)
    reg.register("bench.line", handler_line)
    return reg



# --- databases ---------------------------------------------------------------------------------------------


@contextmanager
def fresh_database(kind: str, postgres_url: str | None, tmp: Path) -> Iterator[str]:
    """A new, empty database URL (SQLite file or PostgreSQL database), dropped afterwards."""
    if kind == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert postgres_url, "PostgreSQL benchmarks need --postgres-url"
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def engine_for(url: str, *models: str | ModelFile) -> Engine:
    """A migrated engine with the benchmark handlers and `models` (names in bench/models, or files) deployed."""
    database = Database(url)
    migrate(database)
    engine = Engine(database, registry=registry())
    files = [m if isinstance(m, ModelFile) else model(m) for m in models]
    engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer))
    return engine


# --- timing ------------------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0..100) by the nearest-rank method on sorted samples."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2),
            "p99": round(percentile(ms, 99), 2), "mean": round(statistics.fmean(ms), 2), "n": len(ms)}
