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
from taktflow.engine.errors import InvalidModel, NotFound, ScriptError
from taktflow.engine.scripting import RestrictedEnvironment
from taktflow.engine.store.models import Incident, ProcessInstance
from tests.support import MODELS, complete_user_task, deploy_models

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
    deploy_models(engine, _script_model("total = price * qty", key="fine_flow"))
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
        # and what they write: an instance with its own script starts and completes
        assert instances.start(engine, "fine_flow", variables={"price": 2, "qty": 3}).instance.state == "completed"
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


# The database lock is never held by a running script: a command that reaches a script stops, its transaction
# rolls back, the script runs with no transaction open, and the command runs again with the script's answer.

@pytest.fixture
def slow_sandbox(monkeypatch):
    """A sandbox that lets a script spin for seconds and tells the test when a script runs and on what."""
    slow = sandbox.ScriptSandbox(workers=2, cpu_seconds=5, wall_seconds=8, memory_mb=256)
    slow.runs = []  # the pickled requests, in the order they ran
    slow.running = threading.Event()
    slow.on_run = lambda: None
    run = slow.run

    def counted(request: bytes) -> bytes:
        slow.runs.append(request)
        slow.running.set()
        slow.on_run()
        return run(request)

    monkeypatch.setattr(slow, "run", counted)
    monkeypatch.setattr(sandbox, "SANDBOX", slow)
    yield slow
    slow.close()


def _race(engine, registry, price, *, spin: float) -> str:
    """An instance of slow_script_race waiting at `review` and `adjust`; `price()` is the price lookup."""
    registry.register("test.price", lambda _ctx: {"price": price()})
    deploy_models(engine, "slow_script_race.bpmn")
    return instances.start(engine, "slow_script_race", variables={"qty": 3, "spin": spin}).instance.id


def _in_thread(work) -> tuple[threading.Thread, list]:
    outcome: list = []

    def target() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # noqa: BLE001 - the test looks at what the command raised
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def _variables(engine, instance_id: str) -> tuple[str, dict]:
    with engine.db.read() as session:
        row = session.get(ProcessInstance, instance_id)
        return row.state, dict(row.variables)


def test_writers_go_on_while_a_script_runs(engine, registry, slow_sandbox):
    instance_id = _race(engine, registry, lambda: 2, spin=3)
    reviewing, outcome = _in_thread(lambda: complete_user_task(engine, instance_id, "review"))
    assert slow_sandbox.running.wait(10)
    # While `compute` spins, another command on the same instance and a new instance both commit: no write
    # lock (SQLite) and no row lock on the instance (PostgreSQL) is held by the script.
    complete_user_task(engine, instance_id, "adjust")
    other = instances.start(engine, "slow_script_race", variables={"qty": 1, "spin": 0}).instance
    assert reviewing.is_alive(), "the writes waited for the script"
    reviewing.join(30)
    assert [type(o) for o in outcome] == [ProcessInstance]
    state, variables = _variables(engine, instance_id)
    assert state == "completed" and variables["total"] == 6 and "until" not in variables
    assert len(slow_sandbox.runs) == 1, "the script ran once: its inputs were the same when the command ran again"
    assert other.state == "active" and slow_sandbox.in_transaction == 0


def test_a_script_runs_again_when_its_inputs_changed_meanwhile(engine, registry, slow_sandbox):
    price = [2]
    slow_sandbox.on_run = lambda: price.__setitem__(0, 5)  # the price list changes while the script runs
    instance_id = _race(engine, registry, lambda: price[0], spin=0)
    complete_user_task(engine, instance_id, "adjust")
    complete_user_task(engine, instance_id, "review")
    state, variables = _variables(engine, instance_id)
    assert state == "completed" and variables["price"] == 5 and variables["total"] == 15
    assert len(slow_sandbox.runs) == 2 and slow_sandbox.in_transaction == 0


def test_a_script_whose_inputs_differ_on_every_run_runs_inside_the_transaction(engine, registry, slow_sandbox):
    handed_out = iter(range(1, 100))  # like a PostgreSQL sequence: a new number on every run of the command
    instance_id = _race(engine, registry, lambda: next(handed_out), spin=0)
    complete_user_task(engine, instance_id, "adjust")
    complete_user_task(engine, instance_id, "review")
    state, variables = _variables(engine, instance_id)
    assert state == "completed" and variables["total"] == variables["price"] * 3
    assert len(slow_sandbox.runs) == sandbox.RERUNS + 2 and slow_sandbox.in_transaction == 1


def test_an_instance_cancelled_while_its_script_runs_stays_cancelled(engine, registry, slow_sandbox):
    instance_id = _race(engine, registry, lambda: 2, spin=2)
    reviewing, outcome = _in_thread(lambda: complete_user_task(engine, instance_id, "review"))
    assert slow_sandbox.running.wait(10)
    instances.cancel(engine, instance_id, reason="order withdrawn")
    reviewing.join(30)
    [refused] = outcome
    assert isinstance(refused, NotFound) and "no open user task" in str(refused), refused
    state, variables = _variables(engine, instance_id)
    assert state == "cancelled" and "total" not in variables
