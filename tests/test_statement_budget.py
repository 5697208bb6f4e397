"""What one order costs the database: a guard against statements creeping into the command path."""

from __future__ import annotations

from bench.common import handler_line, handler_step, model
from bench.engine_bench import O2C_MODEL, record_statements, run_engine_order
from tests.support import deploy_models


def test_an_order_with_eight_service_tasks_is_fourteen_statements_in_three_transactions(engine, registry):
    registry.register("bench.step", handler_step)
    registry.register("bench.line", handler_line)
    deploy_models(engine, model(O2C_MODEL))
    run_engine_order(engine, -1)  # caches warm, as in a running server

    transactions = record_statements(engine)

    # start (write) · the client's task lookup (read) · complete (write)
    assert [write for write, _ in transactions] == [True, False, True]
    sent = [sql for _, statements in transactions for sql, _, _ in statements]
    assert len(sent) <= 14, "\n".join(sent)
    writes = [" ".join(sql.split()[:3]) for sql in sent if sql.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes.count("INSERT INTO history_event") == 2  # one batch per command
    assert "DELETE FROM user_task" in writes  # its candidates go by ON DELETE CASCADE
