"""Many clients claim, complete and correlate on the same instances at once, through two API servers.

Each instance waits at an approval while it counts `counter_tick` messages in a loop. Racing clients must
see exactly one winner per claim and per completion and a clean 409 otherwise; every message sent must be
counted once (a client retries on 409); and the approval and the count both survive: no lost update.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from taktflow.engine.store.models import HistoryEvent
from tests.support.cluster import api_env
from tests.support.server import Server

pytestmark = pytest.mark.slow

INSTANCES = 4
TICKS = 15  # messages per instance
RACERS = 6  # clients racing for each instance's claim, and again for its completion


@pytest.fixture
def servers(engine, database_url, tmp_path):
    env, headers = api_env(database_url, tmp_path, "concurrency_flow.bpmn")
    running = []
    try:
        for n in range(2):
            running.append(Server(env, tmp_path / f"server-{n}.log"))
        yield [httpx.Client(base_url=s.url, headers=headers, timeout=60) for s in running]
    finally:
        for server in running:
            server.stop()


def test_racing_claims_completions_and_messages_lose_no_update(servers, engine):
    starts = [servers[i % 2].post("/api/v1/process-definitions/concurrency_flow/start", json={
        "businessKey": f"C-{i}", "variables": {"ticks": 0, "expected_ticks": TICKS}}) for i in range(INSTANCES)]
    assert [r.status_code for r in starts] == [201] * INSTANCES
    instance_ids = [r.json()["id"] for r in starts]
    task_ids = [servers[0].get("/api/v1/tasks", params={"processInstanceId": i}).json()[0]["id"]
                for i in instance_ids]
    lock = threading.Lock()
    tick_codes: Counter[int] = Counter()

    def tick(n: int, business_key: str) -> None:
        """Send one message; a 409 (lost the race for the instance) is retried, anything else is final."""
        for _ in range(50):
            r = servers[n % 2].post("/api/v1/messages", json={"name": "counter_tick", "businessKey": business_key})
            with lock:
                tick_codes[r.status_code] += 1
            if r.status_code != 409:
                return

    def race(path: str, bodies: list[dict]) -> list[tuple[int, dict]]:
        """Fire one request per body at once (released together by a barrier); (status, response) in order."""
        barrier = threading.Barrier(len(bodies))

        def one(n: int) -> tuple[int, dict]:
            barrier.wait()
            r = servers[n % 2].post(path, json=bodies[n])
            return r.status_code, r.json()

        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(one, range(len(bodies))))

    users = [f"user-{n}" for n in range(RACERS)]
    with ThreadPoolExecutor(8) as messengers, ThreadPoolExecutor(INSTANCES) as racers:
        ticks = [messengers.submit(tick, n, f"C-{n % INSTANCES}") for n in range(TICKS * INSTANCES)]
        claims = list(racers.map(lambda t: race(f"/api/v1/tasks/{t}/claim", [{"userId": u} for u in users]),
                                 task_ids))
        completions = list(racers.map(
            lambda t: race(f"/api/v1/tasks/{t}/complete", [{"variables": {"approvedBy": u}} for u in users]),
            task_ids))
        for future in ticks:
            future.result()

    for results in claims + completions:
        assert sorted(code for code, _ in results) == [200] + [409] * (RACERS - 1), results
        assert all("detail" in body for code, body in results if code == 409)
    for results in claims:
        assert [body["assignee"] for code, body in results if code == 200] == [
            user for user, (code, _) in zip(users, results, strict=True) if code == 200]
    # Every message was counted exactly once: each ended in 200; conflicts were retried.
    assert set(tick_codes) <= {200, 409} and tick_codes[200] == TICKS * INSTANCES, tick_codes

    for instance_id, results in zip(instance_ids, completions, strict=True):
        [winner] = [user for user, (code, _) in zip(users, results, strict=True) if code == 200]
        final = servers[1].get(f"/api/v1/process-instances/{instance_id}").json()
        assert final["state"] == "completed"
        # Both the approval and every tick survived, whichever command committed first. (The tick branch
        # records its count as `counted`: at the join the last branch's own copy of `ticks` would win.)
        assert final["variables"]["counted"] == TICKS
        assert final["variables"]["approvedBy"] == winner
    with engine.db.read() as session:
        received = dict(session.execute(
            select(HistoryEvent.instance_id, func.count()).where(HistoryEvent.kind == "message_received")
            .group_by(HistoryEvent.instance_id)).all())
    assert received == dict.fromkeys(instance_ids, TICKS)
