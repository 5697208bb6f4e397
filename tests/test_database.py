"""The database layer: pooled PostgreSQL connections survive the server dropping them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from taktflow.engine.store.db import Database


@pytest.mark.postgres_only
def test_connections_the_server_dropped_while_idle_are_replaced_before_use(database_url, backend):
    db = Database(database_url, ping_after_idle_s=0.05)
    try:
        with db.read() as session:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        with Database(database_url).engine.connect() as admin:  # as a restart or an idle timeout would
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        time.sleep(0.1)
        with db.read() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        db.dispose()
