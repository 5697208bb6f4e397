"""Database engine and sessions.

SQLite is the embedded default (WAL, one writer at a time: commands open with BEGIN IMMEDIATE so two
writers queue instead of failing on a stale snapshot); PostgreSQL is the production database.

A pooled PostgreSQL connection is pinged before use only when it sat idle for a while (HikariCP's rule): a
connection used a moment ago is alive, and a ping on every checkout is a round trip more per command.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from taktflow.engine.errors import CommitInDoubt

WRITE = "taktflow_write"  # execution option marking a session that runs a command
PING_AFTER_IDLE_S = 1.0  # a pooled connection idle longer than this is pinged before use


def make_engine(url: str, ping_after_idle_s: float = PING_AFTER_IDLE_S, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine, ping_after_idle_s)
    return engine


def _ping_idle_connections(engine: Engine, after_s: float) -> None:
    """SQLAlchemy's recipe for custom pessimistic disconnect handling: a dead connection raises
    DisconnectionError at checkout, and the pool replaces it with a new one."""
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)  # None: new, or not handed back cleanly
        if idle_since is not None and time.monotonic() - idle_since < after_s:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises for a dead connection
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to choose (SQLAlchemy's pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


class Database:
    """One per process: the engine plus session factories for reads and for commands."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:  # engine_kwargs: make_engine's
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A command's transaction: committed once at the end, rolled back entirely on any error."""
        with self.sessions() as session:
            session.connection(execution_options={WRITE: True})
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            try:
                session.commit()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise CommitInDoubt("the database connection broke while the command committed: whether it "
                                        "took effect is unknown; look before repeating it") from exc
                raise

    def dispose(self) -> None:
        self.engine.dispose()
