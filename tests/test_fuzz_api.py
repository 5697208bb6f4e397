"""Schemathesis against /openapi.json: whatever a client sends, the answer is never a server error.

Bounded (a few examples per operation and generation mode) so it stays a suite test, on SQLite and on
PostgreSQL; explicit regression tests for the inputs it once turned up live in tests/test_bad_input.py.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.handlers.devices.demo import seed_devices
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.mes.demo import seed_plant
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token
from tests.support import MODELS

EXAMPLES = 12  # per operation and mode: 83 operations x 2 modes, about 45 s on SQLite and 110 s on PostgreSQL


@pytest.fixture
def fuzz_target(engine, database_url, tmp_path):
    engine.command(lambda s: seed_master_data(s, engine.clock.now()))
    engine.command(seed_plant)
    engine.command(seed_devices)
    token = engine.command(lambda s: create_token(s, "fuzz-admin", "admin", engine.clock.now()))
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(Runtime(Settings(database_url=database_url, processes_dir=tmp_path), engine.db, engine))
    with TestClient(app) as client:
        files = [("files", (n, (MODELS / n).read_bytes(), "application/xml"))
                 for n in ("user_task_flow.bpmn", "message_flow.bpmn", "pricing.dmn")]
        assert client.post("/api/v1/deployments", files=files, headers=headers).status_code == 201
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield schema, headers


def test_no_input_is_a_server_error(fuzz_target):
    schema, headers = fuzz_target
    failures, statuses = [], Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # No shrinking: the first failing request, as curl, is repro enough and keeps a red run short.
            @settings(max_examples=EXAMPLES, database=None, deadline=None, derandomize=True,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                try:
                    response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
                    statuses[response.status_code // 100] += 1
                except Exception as exc:
                    raise AssertionError(f"{case.as_curl_command()}\n  -> {type(exc).__name__}: {exc}") from exc

            try:
                run()
            except Unsatisfiable:
                pass  # an operation without parameters has no invalid input to send
            except Exception as exc:  # noqa: BLE001 - every operation's failure is reported together
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)
    # Not vacuous: the admin token opened every door (no 401/403 hides a path) and real work got done.
    assert statuses[2] > 300 and statuses[4] > 300, statuses
