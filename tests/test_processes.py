"""Real server processes: state survives a restart; a crash mid-command leaves nothing half-done."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import select

from taktflow.engine.store.models import ProcessInstance, UserTask
from tests.support import MODELS, bookings
from tests.support.server import Server, cli_env, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(engine, tmp_path, database_url):
    bookings.prepare(engine.db)
    processes = tmp_path / "processes"
    processes.mkdir()
    (processes / "prepare_then_book.bpmn").write_bytes((MODELS / "prepare_then_book.bpmn").read_bytes())
    env = cli_env(database_url, TAKTFLOW_PROCESSES_DIR=str(processes),
                  TAKTFLOW_HANDLER_MODULES="tests.support.crash_handlers",
                  TAKTFLOW_TEST_MARKER=str(tmp_path / "handler-started"))
    created = run_cli(["token", "create", "test-suite", "--role", "admin"], env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    return env, {"Authorization": f"Bearer {token}"}, tmp_path


def _start(server: Server, headers: dict[str, str]) -> str:
    r = httpx.post(f"{server.url}/api/v1/process-definitions/prepare_then_book/start",
                   json={"businessKey": "SO-1"}, headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _task_of(server: Server, headers: dict[str, str], instance_id: str) -> str:
    r = httpx.get(f"{server.url}/api/v1/tasks", params={"processInstanceId": instance_id}, headers=headers)
    [task] = r.json()
    return task["id"]


def test_instance_survives_a_server_restart(setup):
    env, headers, tmp = setup
    first = Server(env, tmp / "server-1.log")
    try:
        instance_id = _start(first, headers)
        task_id = _task_of(first, headers, instance_id)
    finally:
        first.stop()
    second = Server(env, tmp / "server-2.log")
    try:
        r = httpx.post(f"{second.url}/api/v1/tasks/{task_id}/complete", json={"variables": {"ok": True}},
                       headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        r = httpx.get(f"{second.url}/api/v1/process-instances/{instance_id}", headers=headers)
        assert r.json()["state"] == "completed"
        assert r.json()["variables"]["booked"].startswith(f"{instance_id}:")  # booked under instance + task
    finally:
        second.stop()


def test_crash_while_a_handler_runs_leaves_the_previous_wait_state_and_books_nothing(setup, engine):
    env, headers, tmp = setup
    marker = tmp / "handler-started"
    crashing = Server({**env, "TAKTFLOW_TEST_HANG": "1"}, tmp / "server-crash.log")
    try:
        instance_id = _start(crashing, headers)
        task_id = _task_of(crashing, headers, instance_id)
        threading.Thread(
            target=lambda: _swallow(lambda: httpx.post(
                f"{crashing.url}/api/v1/tasks/{task_id}/complete", json={"variables": {}}, headers=headers,
                timeout=120)),
            daemon=True,
        ).start()
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the handler never started"
            time.sleep(0.05)
    finally:
        crashing.kill()  # SIGKILL while the handler holds its booking in the open transaction

    with engine.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        open_tasks = session.scalars(select(UserTask.element_id).where(UserTask.instance_id == instance_id)).all()
    assert (instance.state, instance.active_elements, instance.version) == ("active", ["prepare"], 1)
    assert open_tasks == ["prepare"]
    assert bookings.count(engine.db) == 0

    restarted = Server(env, tmp / "server-after.log")
    try:
        r = httpx.post(f"{restarted.url}/api/v1/tasks/{task_id}/complete", json={"variables": {}},
                       headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "completed"
    finally:
        restarted.stop()
    assert bookings.count(engine.db) == 1


def _swallow(call) -> None:
    try:
        call()
    except httpx.HTTPError:
        pass


def test_worker_process_fires_due_timers(engine, database_url, tmp_path):
    """`taktflow worker --once` runs what is due by the real clock (here: a one-second timer)."""
    from taktflow.engine import instances
    from taktflow.engine.clock import SystemClock
    from taktflow.engine.definitions.service import ModelFile
    from tests.support import deploy_models

    engine.clock = SystemClock()
    content = (MODELS / "timer_flow.bpmn").read_bytes().replace(b"PT1H", b"PT1S")
    deploy_models(engine, ModelFile("timer_flow.bpmn", content))
    row = instances.start(engine, "timer_flow").instance
    assert row.active_elements == ["approve"]
    time.sleep(1.2)
    ran = run_cli(["worker", "--once"], cli_env(database_url))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "ran 1 jobs"
    with engine.db.read() as session:
        assert session.get(ProcessInstance, row.id).active_elements == ["escalated"]
