"""Finite-capacity scheduling through the API: a hand-checkable job shop, calendars, setup times, alternative
machines, weighted tardiness, started operations kept on reschedule, dispatch order, learned run times, bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from taktflow.engine.core import Engine
from taktflow.handlers.devices.service import Signal, ingest, register_device
from taktflow.handlers.mes.operation import service as operations
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.routing.models import RoutingOperation
from taktflow.handlers.mes.scheduling.job_shop import load_job_shop
from taktflow.handlers.mes.scheduling.models import RoutingTime
from tests.mes.conftest import Plant

MONDAY = date(2026, 1, 5)  # the test clock starts Monday 2026-01-05 08:00 UTC


def at(hour: int, minute: int = 0, day: date = MONDAY) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


@pytest.fixture
def api(engine: Engine):
    return Plant(engine).api("admin")


def load(engine: Engine, jobs, **kwargs) -> list[str]:
    orders = engine.command(lambda s: [wo.number for wo in load_job_shop(
        s, prefix=kwargs.pop("prefix", "T"), jobs=jobs, now=engine.clock.now(), **kwargs)])
    return orders


def schedule(api, **body) -> dict:
    response = api.post("/api/v1/schedules", json={"timeLimitSeconds": 5, **body})
    assert response.status_code == 201, response.text
    return response.json()


def by_order(result: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for op in sorted(result["operations"], key=lambda o: (o["workOrder"], o["seq"])):
        out.setdefault(op["workOrder"], []).append(op)
    return out


def minutes(value: str, start: str) -> int:
    return round((datetime.fromisoformat(value) - datetime.fromisoformat(start)).total_seconds() / 60)


def test_three_jobs_on_three_machines_reach_the_known_optimum(engine, api):
    # OR-Tools' job-shop example: machine 1 has 10 minutes of work and cannot start before minute 0 nor finish
    # job 2's last operation before 11; 11 is the optimum.
    load(engine, [[("M0", 3), ("M1", 2), ("M2", 2)], [("M0", 2), ("M2", 1), ("M1", 4)], [("M1", 4), ("M2", 3)]])
    result = schedule(api)
    assert result["makespanMinutes"] == 11
    assert api.get("/api/v1/schedules/latest").json()["id"] == result["id"]
    start = result["start"]
    for ops in by_order(result).values():  # routing order holds
        for before, after in zip(ops, ops[1:], strict=False):
            assert minutes(after["plannedStart"], start) >= minutes(before["plannedEnd"], start)
    busy: dict[str, list[tuple[int, int]]] = {}
    for op in result["operations"]:
        span = (minutes(op["plannedStart"], start), minutes(op["plannedEnd"], start))
        busy.setdefault(op["machine"], []).append(span)
    for intervals in busy.values():  # one operation at a time per machine
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in zip(intervals, intervals[1:], strict=False))
    assert max(minutes(op["plannedEnd"], start) for op in result["operations"]) == 11


def test_operations_keep_within_shifts_and_skip_holidays(engine, api):
    load(engine, [[("WC-C", 180)], [("WC-C", 180)], [("WC-C", 180)]])
    shifts = [{"weekday": d, "start": s, "end": e} for d in range(5) for s, e in (("08:00", "12:00"),
                                                                                   ("13:00", "17:00"))]
    created = api.post("/api/v1/calendars", json={"code": "DAY", "name": "Day shift", "shifts": shifts,
                                                  "holidays": [{"date": "2026-01-06", "name": "Epiphany"}]})
    assert created.status_code == 201, created.text
    assert api.put("/api/v1/work-centers/WC-C/calendar", json={"calendar": "DAY"}).status_code == 200
    result = schedule(api)
    shifts_of = {MONDAY: [(8, 12), (13, 17)], date(2026, 1, 7): [(8, 12), (13, 17)]}  # Tuesday is a holiday
    for op in result["operations"]:
        start, end = datetime.fromisoformat(op["plannedStart"]), datetime.fromisoformat(op["plannedEnd"])
        assert end - start == timedelta(hours=3)
        # Within one shift: neither across the lunch break nor overnight, never on the holiday.
        assert any(start >= datetime.fromisoformat(at(a, day=start.date())) and
                   end <= datetime.fromisoformat(at(b, day=start.date())) for a, b in shifts_of[start.date()])
    days = sorted(datetime.fromisoformat(op["plannedStart"]).date() for op in result["operations"])
    assert days == [MONDAY, MONDAY, date(2026, 1, 7)]
    assert result["makespanMinutes"] == 2 * 1440 + 180  # done Wednesday 11:00


def test_setup_time_adds_to_the_operation(engine, api):
    load(engine, [[("WC-S", 20)]], setup_minutes=25)
    [op] = schedule(api)["operations"]
    assert minutes(op["plannedEnd"], op["plannedStart"]) == 45
    load(engine, [[("WC-S", 10), ("WC-S", 10)]], prefix="NEW")  # released after the schedule was made
    assert api.get("/api/v1/schedules/latest").json()["rescheduleReasons"] == [
        "2 operations to run are not in the schedule"]


def test_alternative_machines_share_the_work_and_a_stopped_machine_offers_a_reschedule(engine, api):
    load(engine, [[("WC-ALT", 60)], [("WC-ALT", 60)]], machines={"WC-ALT": ["ALT-1", "ALT-2"]})
    engine.command(lambda s: [register_device(s, m, "WC-ALT", ideal_cycle_seconds=10) for m in ("ALT-1", "ALT-2")])
    result = schedule(api)
    assert result["makespanMinutes"] == 60
    assert sorted(op["machine"] for op in result["operations"]) == ["ALT-1", "ALT-2"]
    assert api.get("/api/v1/schedules/latest").json()["rescheduleReasons"] == []

    ingest(engine, [Signal("ALT-2", "state", "Stopped", engine.clock.now())])
    reasons = api.get("/api/v1/schedules/latest").json()["rescheduleReasons"]
    assert reasons == ["machine ALT-2 is Stopped: 1 planned operation wait for it"]
    again = schedule(api)  # the stopped machine gets nothing new
    assert again["makespanMinutes"] == 120
    assert {op["machine"] for op in again["operations"]} == {"ALT-1"}
    assert api.get("/api/v1/schedules/latest").json()["rescheduleReasons"] == []  # planned around it


def test_weighted_tardiness_runs_the_urgent_order_first(engine, api):
    # A (priority 10) is due in a week, B (priority 90) today; A first would finish B tomorrow at 09:00.
    relaxed, urgent = load(engine, [[("WC-T", 900)], [("WC-T", 600)]], priorities=[10, 90],
                           due_dates=[MONDAY + timedelta(days=7), MONDAY])
    result = schedule(api, objective="weighted_tardiness")
    plan = {op["workOrder"]: op for op in result["operations"]}
    assert plan[urgent]["plannedStart"] < plan[relaxed]["plannedStart"]
    assert result["weightedTardiness"] == 0


def test_a_started_operation_stays_at_its_actual_start_on_reschedule(engine, api, clock):
    first, second = load(engine, [[("WC-F", 60)], [("WC-F", 30)]])
    schedule(api)
    clock.advance(minutes=7)

    def start_first(session):
        wo = session.scalar(select(Operation).join(Operation.work_order).where(
            Operation.work_order.has(number=first))).work_order
        op = operations.dispatch_next(session, wo, engine.clock.now())
        operations.start(session, op, operator="anna", now=engine.clock.now())
        return op.id, op.started_at

    op_id, started = engine.command(start_first)
    clock.advance(minutes=20)
    result = schedule(api)
    plan = {op["operationId"]: op for op in result["operations"]}
    assert plan[op_id]["fixed"] is True
    assert datetime.fromisoformat(plan[op_id]["plannedStart"]) == started
    assert minutes(plan[op_id]["plannedEnd"], plan[op_id]["plannedStart"]) == 60
    other = next(op for op in result["operations"] if op["workOrder"] == second)
    assert other["plannedStart"] >= plan[op_id]["plannedEnd"]
    assert api.get("/api/v1/schedules/latest").json()["rescheduleReasons"] == []

    clock.advance(minutes=50)  # 77 minutes after the start: it should have ended at 67
    assert api.get("/api/v1/schedules/latest").json()["rescheduleReasons"] == [
        f"operation {first}/10 runs past its planned end 2026-01-05 09:07"]
    late = {op["operationId"]: op for op in schedule(api)["operations"]}
    # Still running: planned to end a minute from now, the next order after it.
    assert datetime.fromisoformat(late[op_id]["plannedEnd"]) == engine.clock.now() + timedelta(minutes=1)
    assert datetime.fromisoformat(late[op_id]["plannedStart"]) == started


def test_the_dispatch_list_follows_the_latest_schedule(engine, api):
    # By priority alone A (90) comes first; the schedule puts B first, as B is due today and A next week.
    a, b = load(engine, [[("WC-D", 600)], [("WC-D", 600)]], priorities=[90, 10],
                due_dates=[MONDAY + timedelta(days=7), MONDAY])

    def queue_both(session):
        for number in (a, b):
            wo = session.scalar(select(Operation).join(Operation.work_order).where(
                Operation.work_order.has(number=number))).work_order
            operations.dispatch_next(session, wo, engine.clock.now())

    engine.command(queue_both)

    def order() -> list[str]:
        return [op["workOrder"] for op in api.get("/api/v1/work-centers/WC-D/dispatch-list").json()]

    assert order() == [a, b]
    schedule(api, objective="weighted_tardiness")
    assert order() == [b, a]


def test_confirmed_run_times_update_the_planned_time_for_the_next_schedule(engine, api, clock):
    # 10 units planned at the ideal 60 s each: 10 minutes. They took 20 minutes: 120 s a unit.
    [number] = load(engine, [[("WC-L", 1)], ], prefix="L")
    engine.command(lambda s: s.scalars(select(RoutingOperation)).one().__setattr__("ideal_cycle_seconds",
                                                                                   Decimal(60)))

    def start(session):
        op = session.scalars(select(Operation)).one()
        op.input_qty = Decimal(10)
        operations.dispatch_next(session, op.work_order, engine.clock.now())
        operations.start(session, op, operator="anna", now=engine.clock.now())

    engine.command(start)
    clock.advance(minutes=20)
    engine.command(lambda s: operations.confirm(s, s.scalars(select(Operation)).one(), good=10, scrap=0,
                                                operator="anna", now=engine.clock.now(), key="t:confirm"))
    with engine.db.read() as session:
        learned = session.scalars(select(RoutingTime)).one()
        # Exponential moving average from the ideal 60 s toward the actual 120 s: 60 + 0.3 × 60 = 78 s.
        assert learned.seconds_per_unit == Decimal(78)
        assert learned.samples == 1
    times = api.get("/api/v1/routing-times").json()
    assert datetime.fromisoformat(times[0].pop("updatedAt")) == engine.clock.now()
    assert times == [{"itemCode": "L-J1", "seq": 10, "workCenter": "WC-L", "idealCycleSeconds": 60,
                      "plannedSecondsPerUnit": 78, "samples": 1}]
    # A second order of the same item now plans 10 × 78 s = 13 minutes.
    engine.command(lambda s: _release_again(s, "L-J1", engine))
    result = schedule(api)
    [op] = [op for op in result["operations"] if op["workOrder"] != number]
    assert minutes(op["plannedEnd"], op["plannedStart"]) == 13


def _release_again(session, item: str, engine: Engine) -> None:
    from taktflow.handlers.mes.work_order.service import release_work_order

    release_work_order(session, item_code=item, quantity=10, now=engine.clock.now())


def test_bad_input_is_refused_with_the_thing_named(engine, api):
    load(engine, [[("WC-B", 300)]])
    for body, words in [({"objective": "fastest"}, "unknown objective 'fastest'"),
                        ({"timeLimitSeconds": 0}, "timeLimitSeconds must be between 1 and 300"),
                        ({"timeLimitSeconds": 301}, "timeLimitSeconds must be between 1 and 300")]:
        response = api.post("/api/v1/schedules", json=body)
        assert response.status_code == 422 and words in response.json()["detail"], response.text
    routing = api.post("/api/v1/routings", json={"itemCode": "X", "name": "X", "operations": [
        {"seq": 10, "name": "Cut", "workCenter": "WC-NOPE", "idealCycleSeconds": 5}]})
    assert routing.status_code == 422 and "WC-NOPE" in routing.json()["detail"]
    assert api.put("/api/v1/work-centers/WC-NOPE/calendar", json={"calendar": None}).status_code == 404

    # A 5-hour operation cannot fit a 4-hour shift: refused naming the work center.
    api.post("/api/v1/calendars", json={"code": "SHORT", "shifts": [{"weekday": 0, "start": "08:00", "end": "12:00"}]})
    api.put("/api/v1/work-centers/WC-B/calendar", json={"calendar": "SHORT"})
    response = api.post("/api/v1/schedules", json={})
    assert response.status_code == 422 and "WC-B" in response.json()["detail"], response.text

    # Every Monday a holiday: the work center has no capacity within the horizon at all.
    mondays = [{"date": (MONDAY + timedelta(weeks=n)).isoformat()} for n in range(-1, 54)]
    api.post("/api/v1/calendars", json={"code": "NEVER", "shifts": [{"weekday": 0, "start": "08:00", "end": "16:00"}],
                                        "holidays": mondays})
    api.put("/api/v1/work-centers/WC-B/calendar", json={"calendar": "NEVER"})
    response = api.post("/api/v1/schedules", json={})
    assert response.status_code == 422, response.text
    assert "work center WC-B has no calendar capacity" in response.json()["detail"]
    assert api.get("/api/v1/schedules/latest").status_code == 404  # nothing was stored
