"""Engine throughput against raw SpiffWorkflow on the same model, and multi-instance size scaling."""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
import zlib
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, func, select

from bench.common import book_line, engine_for, step
from taktflow.engine import instances, tasks
from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import latest_process_id
from taktflow.engine.store.db import WRITE
from taktflow.engine.store.models import InstanceState, UserTask

O2C = "bench_order_to_cash"
O2C_MODEL = "order_to_cash.bpmn"
LINES = "bench_order_lines"
LINES_MODEL = "order_lines.bpmn"


def order(i: int) -> dict[str, Any]:
    return {"order_no": i, "customer": f"C-{i % 50}", "amount": 100 + i % 900, "credit_limit": 5000,
            "prepaid": i % 2 == 0}


class RawScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's own script engine, plus the one call our service-task spec makes."""

    def run_service_task(self, task: Task) -> bool:
        if task.task_spec.handler_name == "bench.line":
            task.data.update(book_line(task.data["line"]))
        else:
            task.data.update(step(task.task_spec.bpmn_id, task.data))
        return True


class RawSpiff:
    """The same parsed model run by SpiffWorkflow in memory: no database, no serialization, no history."""

    def __init__(self, engine: Engine, key: str) -> None:
        with engine.db.read() as session:
            self.spec, self.subprocess_specs = engine.specs_of(session, latest_process_id(session, key))
        self.script_engine = RawScriptEngine()

    def run(self, variables: dict[str, Any], completion: dict[str, Any]) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        for task in wf.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        wf.do_engine_steps()
        [user_task] = wf.get_tasks(state=TaskState.READY, manual=True)
        user_task.data.update(completion)
        user_task.run()
        wf.do_engine_steps()
        assert wf.is_completed()
        return wf


def run_engine_order(engine: Engine, i: int, key: str = O2C, variables: dict[str, Any] | None = None) -> str:
    """Start one order and complete its user task, as two commands (what a client would do)."""
    row = instances.start(engine, key, business_key=f"SO-{i}", variables=variables or order(i)).instance
    with engine.db.read() as session:
        task_id = session.scalar(select(UserTask.id).where(UserTask.instance_id == row.id))
    done = tasks.complete(engine, task_id, {"approved": True}, actor="bench")
    assert done.state == "completed", done.state
    return row.id


def _warm_up(engine: Engine, raw: RawSpiff) -> None:
    """Both sides run 20 orders first: caches, the connection pool and imports are warm when timing starts."""
    for i in range(20):
        run_engine_order(engine, -i - 1)
        raw.run(order(i), {"approved": True})


def throughput(url: str, instances_count: int = 300, block: int = 50) -> dict[str, float]:
    """Instances/s of the engine and of raw SpiffWorkflow, measured in alternating blocks (fair under noise)."""
    engine = engine_for(url, O2C_MODEL)
    raw = RawSpiff(engine, O2C)
    _warm_up(engine, raw)
    engine_s = raw_s = 0.0
    done = 0
    while done < instances_count:
        began = time.perf_counter()
        for i in range(done, done + block):
            raw.run(order(i), {"approved": True})
        raw_s += time.perf_counter() - began
        began = time.perf_counter()
        for i in range(done, done + block):
            run_engine_order(engine, i)
        engine_s += time.perf_counter() - began
        done += block
    engine.db.dispose()
    return {"engine_per_s": round(done / engine_s, 1), "raw_per_s": round(done / raw_s, 1),
            "ratio": round(raw_s / engine_s, 3)}


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
Transaction = tuple[bool, list[tuple[str, Any, bool]]]  # (write?, [(SQL, driver parameters, executemany?)])


def record_statements(engine: Engine) -> list[Transaction]:
    """The transactions and statements of one order (start, the client's task lookup, complete), as sent."""
    recorded: list[Transaction] = []

    def on_begin(conn: Any) -> None:
        recorded.append((bool(conn.get_execution_options().get(WRITE)), []))

    def on_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not statement.startswith("BEGIN"):
            recorded[-1][1].append((statement, parameters, many))

    event.listen(engine.db.engine, "begin", on_begin)
    event.listen(engine.db.engine, "before_cursor_execute", on_execute)
    try:
        run_engine_order(engine, 0)
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", on_execute)
        event.remove(engine.db.engine, "begin", on_begin)
    return recorded


def _fresh_ids(value: Any, ids: dict[str, str]) -> Any:
    """The same parameters with every instance/task id replaced consistently (so INSERTs do not collide)."""
    if isinstance(value, str) and _UUID.match(value):
        return ids.setdefault(value, str(uuid.uuid4()))
    if isinstance(value, dict):
        return {k: _fresh_ids(v, ids) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_fresh_ids(v, ids) for v in value)
    return value


def database_floor(url: str, instances_count: int = 300) -> dict[str, float]:
    """What the database work of one order costs with nothing else around it: the engine's own statements
    and transactions, recorded once and replayed with fresh ids through the same pool. Raw SpiffWorkflow plus
    this is the fastest a durable engine sending these statements can be, so raw / (raw + floor) is the
    highest engine ratio there is on this machine for them."""
    engine = engine_for(url, O2C_MODEL)
    raw = RawSpiff(engine, O2C)
    _warm_up(engine, raw)
    transactions = record_statements(engine)

    def replay() -> None:
        ids: dict[str, str] = {}
        for write, statements in transactions:
            with engine.db.engine.connect() as conn:
                conn.execution_options(**{WRITE: write})
                with conn.begin():
                    for sql, parameters, _many in statements:
                        conn.exec_driver_sql(sql, _fresh_ids(parameters, ids))

    for _ in range(20):
        replay()
    began = time.perf_counter()
    for _ in range(instances_count):
        replay()
    floor_s = (time.perf_counter() - began) / instances_count
    began = time.perf_counter()
    for i in range(instances_count):
        raw.run(order(i), {"approved": True})
    raw_s = (time.perf_counter() - began) / instances_count
    engine.db.dispose()
    return {"statements": sum(len(s) for _, s in transactions), "transactions": len(transactions),
            "floor_ms": round(floor_s * 1000, 3), "raw_ms": round(raw_s * 1000, 3),
            "ceiling_ratio": round(raw_s / (raw_s + floor_s), 3)}


def order_lines(n: int) -> list[dict[str, Any]]:
    return [{"line": i, "item": f"ITEM-{i:05d}", "qty": 1 + i % 7, "unit_price": 9.5 + i % 13,
             "description": f"Order line {i}: " + "standard part, packed per 10, deliver to dock 4. " * 4}
            for i in range(n)]


def multi_instance(url: str, sizes: tuple[int, ...] = (10, 100, 300), repeats: int = 3) -> dict[str, Any]:
    """Time and stored bytes per item of a multi-instance service task over 10, 100 and 300 order lines."""
    engine = engine_for(url, LINES_MODEL)
    raw = RawSpiff(engine, LINES)
    run_engine_order(engine, -1, LINES, {"lines": order_lines(10)})  # warm-up
    out: dict[str, Any] = {}
    for n in sizes:
        lines = order_lines(n)
        times, raw_times = [], []
        for r in range(repeats):
            began = time.perf_counter()
            instance_id = run_engine_order(engine, n * 100 + r, LINES, {"lines": lines})
            times.append(time.perf_counter() - began)
            began = time.perf_counter()
            wf = raw.run({"lines": lines}, {"approved": True})
            raw_times.append(time.perf_counter() - began)
        with engine.db.read() as session:
            stored = session.scalar(select(func.length(InstanceState.state))
                                    .where(InstanceState.instance_id == instance_id))
        raw_json = len(json.dumps(engine.serializer.registry.convert(wf), cls=engine.serializer._encoder))
        out[str(n)] = {
            "seconds": round(statistics.median(times), 4),
            "ms_per_item": round(statistics.median(times) / n * 1000, 3),
            "stored_bytes": stored, "stored_bytes_per_item": round(stored / n, 1),
            "raw_spiff_ms_per_item": round(statistics.median(raw_times) / n * 1000, 3),
            "raw_spiff_state_bytes": raw_json, "raw_spiff_state_bytes_compressed": len(zlib.compress(
                json.dumps(engine.serializer.registry.convert(wf), cls=engine.serializer._encoder).encode(), 1)),
        }
    engine.db.dispose()
    return out
