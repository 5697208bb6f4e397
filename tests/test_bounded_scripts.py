"""Model code is bounded: huge powers and repetitions, endless loops, memory bombs and runaway timer cycles
become an incident on their task (or a refused deploy naming the element), and the server keeps answering."""

from __future__ import annotations

import re
import threading
import time
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from taktflow.engine import instances, sandbox
from taktflow.engine.definitions.service import ModelFile
from taktflow.engine.errors import InvalidModel, ScriptError
from taktflow.engine.scripting import RestrictedEnvironment
from taktflow.engine.store.models import Incident, ProcessInstance
from tests.support import MODELS, deploy_models

SCRIPT = b"total = price * qty\nlines = [{\"n\": i} for i in range(qty)]"


@pytest.fixture
def tight_sandbox(monkeypatch):
    """Budgets a test can wait for: 1 s of CPU, 4 s on the wall clock, 256 MB."""
    tight = sandbox.ScriptSandbox(workers=2, cpu_seconds=1, wall_seconds=4, memory_mb=256)
    monkeypatch.setattr(sandbox, "SANDBOX", tight)
    yield tight
    tight.close()


def _script_model(script: str, key: str = "script_flow") -> ModelFile:
    content = (MODELS / "script_flow.bpmn").read_bytes().replace(SCRIPT, escape(script).encode())
    assert content != (MODELS / "script_flow.bpmn").read_bytes()
    return ModelFile("script_flow.bpmn", content.replace(b'id="script_flow"', f'id="{key}"'.encode()))


def _incident(engine, instance_id: str) -> Incident:
    with engine.db.read() as session:
        return session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()


@pytest.mark.parametrize(("script", "message"), [
    ("x = 10 ** 10 ** 8", r"10 \*\* 100000000 would be too large"),
    ("x = 'a' * 10 ** 10", "repeating a str of 1 10000000000 times would be too large"),
    ("n = 10\nx = [0] * n ** 9", "repeating a list of 1 1000000000 times would be too large"),
    ("x = 1 << 10 ** 9", "would be too large"),
    # The CPU limit stops it, or on a busy machine the wall clock first.
    ("while True:\n    pass", r"(used more than 1 s of CPU time|ran longer than 4 s) and was stopped"),
    ("x = 'a'.ljust(10 ** 10)", "needed more than 256 MB and was stopped"),
    ("g = (i for i in range(3))", "variable 'g' holds a generator, which process data cannot store"),
])
def test_a_runaway_script_becomes_an_incident_on_its_task(engine, tight_sandbox, script, message):
    deploy_models(engine, _script_model(script))
    started = time.monotonic()
    row = instances.start(engine, "script_flow", variables={"price": 2, "qty": 3}).instance
    assert time.monotonic() - started < 10
    assert row.state == "incident"
    incident = _incident(engine, row.id)
    assert incident.element_id == "compute" and re.search(message, incident.message), incident.message
    # The sandbox is healthy afterwards: the next script runs normally.
    deploy_models(engine, _script_model("total = price * qty", key="fine_flow"))
    assert instances.start(engine, "fine_flow", variables={"price": 2, "qty": 3}).instance.state == "completed"


def test_the_server_keeps_answering_while_a_script_loops(engine, tight_sandbox):
    deploy_models(engine, _script_model("while True:\n    pass"))
    done: list[str] = []
    looping = threading.Thread(target=lambda: done.append(
        instances.start(engine, "script_flow", variables={"price": 1, "qty": 1}).instance.state))
    looping.start()
    time.sleep(0.5)
    answered = []
    while looping.is_alive() and len(answered) < 5:
        began = time.monotonic()
        with engine.db.read() as session:  # what the pages and the API read meanwhile
            session.scalars(select(ProcessInstance)).all()
        answered.append(time.monotonic() - began)
        time.sleep(0.1)
    looping.join(timeout=30)
    assert done == ["incident"]
    assert len(answered) == 5 and max(answered) < 1.0, answered


def test_expressions_are_bounded_in_the_server_process():
    env = RestrictedEnvironment()
    for expression, message in [("10 ** 10 ** 8 > 1", "would be too large"),
                                ("len('ab' * 10 ** 9)", "would be too large"),
                                ("sum(1 for a in range(10 ** 6) for b in range(10 ** 6))", "more than 1000000 loop"),
                                ("len(range(10 ** 12))", "would be too large")]:
        with pytest.raises(ScriptError, match=message):
            env.evaluate(expression, {})
    assert env.evaluate("2 ** 64 + len('ab' * 3) + sum(range(10))", {}) == 2 ** 64 + 6 + 45


@pytest.mark.parametrize(("cycle", "message"), [
    ("R999999999/PT0S", "repeats 999999999 times; at most 10000 are allowed"),
    ("R/PT1S", "repeats forever every 1 s"),
    ("R5/PT0.1S", "the interval must be at least 1 s"),
])
def test_a_runaway_timer_cycle_is_refused_at_deploy_naming_the_element(engine, cycle, message):
    content = (MODELS / "timer_flow.bpmn").read_bytes().replace(b"R2/PT10M", cycle.encode())
    with pytest.raises(InvalidModel) as refused:
        deploy_models(engine, ModelFile("timer_flow.bpmn", content))
    [problem] = refused.value.problems
    assert problem.element == "remind" and message in problem.message, refused.value


def test_a_runaway_timer_cycle_from_a_variable_becomes_an_incident(engine):
    content = (MODELS / "timer_flow.bpmn").read_bytes().replace(b"R2/PT10M", b"${reminderCycle}")
    deploy_models(engine, ModelFile("timer_flow.bpmn", content))
    row = instances.start(engine, "timer_flow", variables={"reminderCycle": "R999999999/PT0S"}).instance
    assert row.state == "incident"
    assert "repeats 999999999 times" in _incident(engine, row.id).message
