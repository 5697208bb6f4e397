"""ERP fixtures: the real handler registry, seeded master data, and the books reconciled after each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import taktflow.handlers.erp  # noqa: F401 - registers the ERP handlers
from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import ModelFile, deploy
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.handlers import registry as global_registry
from taktflow.handlers.erp.seed import seed_master_data
from tests.erp.reconcile import reconcile

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
ERP_MODELS = ("order_to_cash.bpmn", "procure_to_pay.bpmn", "credit_check.dmn", "requisition_approval.dmn")
TEST_MODELS = Path(__file__).resolve().parent / "models"


@pytest.fixture
def registry() -> HandlerRegistry:
    return global_registry


@dataclass
class Erp:
    engine: Engine

    def read(self):  # noqa: ANN201 - a context manager
        return self.engine.db.read()

    def command(self, work):  # noqa: ANN001, ANN201
        return self.engine.command(work)


@pytest.fixture
def erp(engine: Engine) -> Iterator[Erp]:
    """Seeded master data; after the test, the books must reconcile."""
    engine.command(lambda s: seed_master_data(s, engine.clock.now()))
    yield Erp(engine)
    with engine.db.read() as session:
        reconcile(session)


def deploy_erp(engine: Engine, *extra: str) -> None:
    files = [ModelFile(n, (PROCESSES / n).read_bytes()) for n in ERP_MODELS]
    files += [ModelFile(n, (TEST_MODELS / n).read_bytes()) for n in extra]
    engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer))
