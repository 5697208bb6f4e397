"""Chaos: three workers and two API servers over one PostgreSQL while workers are SIGKILLed at random.

500 orders each book four documents (one when started through an API server, two when a worker fires their
timer, one when a payment message arrives through an API server). Every few seconds a worker that holds
claims is killed and a new one started: its claims must be taken over after they expire, nothing may be
booked twice, and every instance must complete.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from taktflow.engine.store.models import HistoryEvent, Incident, Job, ProcessInstance, Subscription
from tests.support import bookings
from tests.support.cluster import api_env
from tests.support.server import Server

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

INSTANCES = 500
WORKERS = 3
START_RATE = 20  # instances started per second, so that kills hit a steady stream of due timers
KILL_EVERY = 2.5  # seconds between kills
MAX_KILLS = 20
WORKER_BOOKING_SECONDS = 0.03  # workers book slowly, so a kill often lands inside an open transaction
LOCK_SECONDS = 5  # a killed worker's claims are taken over after this long
DEADLINE = 150  # seconds for the whole run


class WorkerProcess:
    def __init__(self, env: dict[str, str], worker_id: str, log: Path) -> None:
        self.id, self.log = worker_id, log
        self._log = open(log, "ab")  # noqa: SIM115 - closed in kill()/stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taktflow.cli", "worker", "--id", worker_id, "--poll", "0.2",
             "--lock-seconds", str(LOCK_SECONDS)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_started(self) -> None:
        deadline = time.monotonic() + 60
        while f"worker {self.id} started" not in self.log.read_text():
            assert self.process.poll() is None and time.monotonic() < deadline, f"worker did not start; see {self.log}"
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> int:
        self.wait_started()  # SIGTERM before the handler is installed would just end the process
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._log.close()
        return code


@pytest.fixture
def cluster(engine, database_url, tmp_path):
    bookings.prepare(engine.db)
    env, headers = api_env(database_url, tmp_path, "chaos_flow.bpmn",
                           TAKTFLOW_HANDLER_MODULES="tests.support.crash_handlers")
    servers = [Server(env, tmp_path / f"server-{n}.log") for n in range(2)]
    workers: list[WorkerProcess] = []
    try:
        yield env, headers, servers, workers, tmp_path
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.kill()
        for server in servers:
            server.stop()


def _held_claims(db, worker_id: str) -> set[int]:
    with db.read() as session:
        return set(session.scalars(select(Job.id).where(Job.locked_by == worker_id)))


def _completed(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.state == "completed"))


def test_killed_workers_lose_nothing_and_book_nothing_twice(cluster, engine):
    env, headers, servers, workers, tmp = cluster
    db = engine.db
    generation = iter(range(1000))

    def spawn() -> WorkerProcess:
        n = next(generation)
        return WorkerProcess({**env, "TAKTFLOW_TEST_BOOK_SECONDS": str(WORKER_BOOKING_SECONDS)},
                             f"chaos-worker-{n}", tmp / f"worker-{n}.log")

    workers.extend(spawn() for _ in range(WORKERS))
    clients = [httpx.Client(base_url=s.url, headers=headers, timeout=60) for s in servers]
    start_codes: list[int] = []
    message_codes: list[int] = []
    done = threading.Event()

    def start(i: int) -> None:
        r = clients[i % 2].post("/api/v1/process-definitions/chaos_flow/start", json={"businessKey": f"SO-{i}"})
        start_codes.append(r.status_code)

    def pay(i: int, business_key: str) -> None:
        r = clients[i % 2].post("/api/v1/messages", json={"name": "chaos_payment", "businessKey": business_key})
        message_codes.append(r.status_code)

    def send_payments(pool: ThreadPoolExecutor) -> None:
        """Pay every order once it waits for its payment (sent through the API servers)."""
        paid: set[str] = set()
        while not done.is_set() and len(paid) < INSTANCES:
            with db.read() as session:
                waiting = set(session.scalars(select(Subscription.business_key)
                                              .where(Subscription.name == "chaos_payment")))
            for n, key in enumerate(sorted(waiting - paid)):
                paid.add(key)
                pool.submit(pay, n, key)
            done.wait(0.3)

    kills: list[set[int]] = []  # per kill: the claims the killed worker held
    crashed: list[Path] = []  # logs of workers that ended by themselves

    def kill_workers() -> None:
        """Every few seconds SIGKILL a worker that holds claims (any worker if none does) and start a new one."""
        while not done.wait(KILL_EVERY):
            crashed.extend(w.log for w in workers if w.process.poll() is not None)
            if crashed or len(kills) >= MAX_KILLS:
                continue
            holding = [w for w in workers if _held_claims(db, w.id)]
            victim = random.choice(holding or workers)
            victim.kill()
            kills.append(_held_claims(db, victim.id))
            workers[workers.index(victim)] = spawn()

    began = time.monotonic()
    with ThreadPoolExecutor(4) as starts, ThreadPoolExecutor(4) as payments:
        threads = [threading.Thread(target=send_payments, args=(payments,), daemon=True),
                   threading.Thread(target=kill_workers, daemon=True)]
        for thread in threads:
            thread.start()
        try:
            for i in range(INSTANCES):
                starts.submit(start, i)
                time.sleep(1 / START_RATE)
            while _completed(db) < INSTANCES:
                assert not crashed, f"a worker ended by itself; see {crashed[0]}"
                assert time.monotonic() - began < DEADLINE, (
                    f"only {_completed(db)} of {INSTANCES} instances completed in {DEADLINE} s")
                time.sleep(0.5)
        finally:
            done.set()
            for thread in threads:
                thread.join(timeout=60)
    elapsed = time.monotonic() - began
    for client in clients:
        client.close()

    # Graceful shutdown: SIGTERM ends every worker cleanly and leaves no claim behind.
    for worker in workers:
        assert worker.stop() == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.locked_by.is_not(None))) == 0
        by_state = select(ProcessInstance.state, func.count()).group_by(ProcessInstance.state)
        states = {state: n for state, n in session.execute(by_state)}
        failures = session.scalar(select(func.count()).select_from(HistoryEvent)
                                  .where(HistoryEvent.kind == "handler_failed"))
        leftovers = [session.scalar(select(func.count()).select_from(model)) for model in (Job, Subscription, Incident)]
    orphaned = set().union(*kills)
    print(f"chaos: {INSTANCES} instances in {elapsed:.1f} s, {len(kills)} workers killed, "
          f"{len(orphaned)} orphaned claims taken over")

    assert start_codes.count(201) == INSTANCES, sorted(set(start_codes))
    assert message_codes.count(200) == INSTANCES, sorted(set(message_codes))
    assert states == {"completed": INSTANCES}
    assert len(kills) >= 5 and orphaned, "the kills never hit a worker holding claims"
    # Four bookings per instance, each exactly once: the unique booking key would have failed a second one.
    assert bookings.count(db) == 4 * INSTANCES
    assert failures == 0
    assert leftovers == [0, 0, 0]  # no job, subscription or incident is left: nothing is stuck
