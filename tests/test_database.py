"""The database layer: pooled PostgreSQL connections and commands survive the server dropping connections."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, text

from taktflow.engine import instances
from taktflow.engine.core import Engine
from taktflow.engine.errors import CommitInDoubt
from taktflow.engine.store.db import Database
from tests.support import deploy_models


def _terminate(database_url: str, pid: int) -> None:
    """Drop one server connection, as a restart or an idle timeout would."""
    admin = Database(database_url)
    try:
        with admin.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
    finally:
        admin.dispose()


@pytest.mark.postgres_only
def test_connections_the_server_dropped_while_idle_are_replaced_before_use(database_url, backend):
    db = Database(database_url, ping_after_idle_s=0.05)
    try:
        with db.read() as session:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        _terminate(database_url, pid)
        time.sleep(0.1)
        with db.read() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        db.dispose()


@pytest.mark.postgres_only
def test_a_command_whose_connection_died_unnoticed_is_run_again_on_a_new_one(engine, database_url, backend):
    # Pinged only after a minute idle: the dead connection is handed out, the command fails before COMMIT.
    db = Database(database_url, ping_after_idle_s=60)
    server = Engine(db, registry=engine.registry, clock=engine.clock)
    try:
        deploy_models(server, "user_task_flow.bpmn")
        with db.read() as session:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        _terminate(database_url, pid)

        started = instances.start(server, "user_task_flow", business_key="AFTER-RESTART").instance
        with db.read() as session:
            assert instances.get(session, started.id).state == "active"
            assert session.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        db.dispose()


@pytest.mark.postgres_only
def test_a_connection_lost_during_commit_is_reported_in_doubt_and_not_run_again(engine, database_url, backend):
    db = Database(database_url)
    server = Engine(db, registry=engine.registry, clock=engine.clock)
    runs = []

    def work(session):
        runs.append(1)
        session.execute(text("SELECT 1"))
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        event.listen(session, "before_commit", lambda _s: _terminate(database_url, pid), once=True)

    try:
        with pytest.raises(CommitInDoubt, match="whether it took effect is unknown") as raised:
            server.command(work)
        assert raised.value.status_code == 503 and runs == [1]  # repeating it blindly could do it twice
    finally:
        db.dispose()
