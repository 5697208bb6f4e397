"""Test fixtures: every engine and API test runs on SQLite and again on PostgreSQL.

`make test` starts a throwaway PostgreSQL and passes its URL in TAKTFLOW_TEST_POSTGRES_URL. Without it the
PostgreSQL half of the suite fails (it does not skip): the suite's promise is that both databases work.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from taktflow.engine.clock import FakeClock
from taktflow.engine.core import Engine
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.store.db import Database
from taktflow.schema import metadata, migrate

POSTGRES_URL = os.environ.get("TAKTFLOW_TEST_POSTGRES_URL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only_postgres = metafunc.definition.get_closest_marker("postgres_only") is not None
        metafunc.parametrize("backend", ["postgresql"] if only_postgres else ["sqlite", "postgresql"], scope="session")


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'taktflow.db'}"
        return
    if not POSTGRES_URL:
        pytest.fail("TAKTFLOW_TEST_POSTGRES_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    name = f"taktflow_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    migrate(db)
    yield db
    db.dispose()


def clean(db: Database) -> None:
    with db.engine.begin() as conn:
        if db.is_sqlite:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def registry() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(database: Database, registry: HandlerRegistry, clock: FakeClock) -> Engine:
    clean(database)
    return Engine(database, registry=registry, clock=clock)

