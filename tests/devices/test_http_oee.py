"""HTTP signals, device queries, and OEE of a scripted run against the value computed by hand."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.handlers.devices import service as devices
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token
from tests.devices.conftest import instance, start_operation


@pytest.fixture
def api(plant, database_url, tmp_path):
    runtime = Runtime(Settings(database_url=database_url, processes_dir=tmp_path), plant.db, plant)
    token = plant.command(lambda s: create_token(s, "line-gateway", "worker", plant.clock.now()))
    with TestClient(create_app(runtime)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def post(api, device, *signals):
    return api.post(f"/api/v1/devices/{device}/signals", json=list(signals))


def sig(kind, value, minute, seq, second=0):
    return {"kind": kind, "value": value, "timestamp": f"2026-01-05T08:{minute:02d}:{second:02d}Z", "sequence": seq}


def test_http_signals_move_a_waiting_operation(api, plant):
    op = start_operation(plant, "WC-PACK", "OP-7", quantity=2)
    r = post(api, "PACK-01", sig("state", "Idle", 0, 1), sig("state", "Execute", 0, 2), sig("processed", 0, 1, 3))
    assert r.status_code == 200 and [s["status"] for s in r.json()["signals"]] == ["applied"] * 3
    r = post(api, "PACK-01", sig("processed", 1, 1, 4, 5))
    assert r.json()["signals"][0]["messages"][0] == {"name": "machine.cycle_completed", "status": "delivered",
                                                     "instances": [op]}
    post(api, "PACK-01", sig("processed", 2, 1, 5, 10))
    assert instance(plant, op).state == "completed"
    body = api.get("/api/v1/devices/PACK-01").json()
    assert (body["state"], body["stateCode"], body["counters"]["processed"], body["job"]) == ("Execute", 6, 2, None)
    assert [d["id"] for d in api.get("/api/v1/devices").json()] == ["ASSY-01", "CUT-01", "PACK-01"]


def test_http_refuses_unknown_devices_and_bad_signals(api):
    r = post(api, "LATHE-99", sig("processed", 1, 0, 1))
    assert r.status_code == 404 and r.json()["detail"] == "device 'LATHE-99' is not registered; signal refused"
    [logged] = api.get("/api/v1/devices/LATHE-99/anomalies").json()
    assert (logged["kind"], logged["source"], logged["signal"]["kind"]) == ("unknown_device", "http", "processed")
    r = post(api, "CUT-01", sig("state", "Idle", 0, 1), sig("temperature", 80, 0, 2))
    assert r.status_code == 422 and "signal kind 'temperature' is unknown" in r.json()["detail"]
    r = post(api, "CUT-01", sig("state", "Running", 0, 1))
    assert r.status_code == 422 and "'Running' is not a PackML state" in r.json()["detail"]
    assert api.get("/api/v1/devices/CUT-01").json()["state"] == "Undefined"  # nothing of the request booked
    assert api.get("/api/v1/devices/LATHE-99").status_code == 404
    assert api.post("/api/v1/devices/CUT-01/signals", json={"kind": "state", "value": 6},
                    headers={"Authorization": "Bearer nope"}).status_code == 401


def _job(plant, work_center: str, operation: str) -> None:
    plant.command(lambda s: devices.start_job(s, work_center, operation, 10_000, now=plant.clock.now()))


SCRIPT = [
    sig("state", "Idle", 0, 1),  # 08:00-08:05 idle: not planned (UNSCHEDULED)
    sig("state", "Starting", 5, 2),  # 08:05-08:07 SETUP
    sig("state", "Execute", 7, 3), sig("processed", 100, 7, 3), sig("defective", 10, 7, 3),  # baselines
    sig("processed", 400, 36, 4), sig("defective", 25, 36, 4),  # 300 parts, 15 rejects
    sig("state", "Held", 37, 5),  # 08:37-08:47 UNPLANNED_DOWNTIME
    sig("state", "Execute", 47, 6),
    sig("processed", 640, 56, 7), sig("defective", 37, 56, 7),  # 240 parts, 12 rejects
    sig("state", "Stopped", 57, 8),  # 08:57-09:00 UNPLANNED_DOWNTIME
]


def test_oee_of_a_scripted_run_equals_the_hand_computed_value(api, plant):
    plant.clock.set(plant.clock.now().replace(hour=9, minute=30))
    _job(plant, "WC-ASSY", "OP-9")  # the parts belong to an operation: they count
    assert post(api, "ASSY-01", *SCRIPT).status_code == 200  # ASSY-01: ideal cycle 4 s
    r = api.get("/api/v1/devices/ASSY-01/oee", params={"from": "2026-01-05T08:00:00Z", "to": "2026-01-05T09:00:00Z"})
    body = r.json()
    # By hand: planned 3600 - 300 idle = 3300 s; run 1800 + 600 = 2400 s; total 540, scrap 27, good 513.
    availability, performance, quality = 2400 / 3300, 4 * 540 / 2400, 513 / 540
    assert body["plannedSeconds"] == 3300 and body["runSeconds"] == 2400
    assert (body["totalCount"], body["goodCount"], body["scrapCount"]) == (540, 513, 27)
    assert body["availability"] == pytest.approx(availability, abs=1e-6)
    assert body["performance"] == pytest.approx(0.9)
    assert body["quality"] == pytest.approx(0.95)
    assert body["oee"] == pytest.approx(availability * performance * quality, abs=1e-6)
    assert body["oee"] == pytest.approx(0.621818, abs=1e-6)
    assert body["lossSeconds"] == {"UNSCHEDULED": 300, "SETUP": 120, "UNPLANNED_DOWNTIME": 780,
                                   "REDUCED_SPEED": 240, "REJECT_REWORK": 108, "NO_LOSS": 2052}
    assert [s["shift"] for s in body["shifts"]] == ["early"]
    # The work center has only this machine: same figures.
    wc = api.get("/api/v1/devices/work-centers/WC-ASSY/oee",
                 params={"from": "2026-01-05T08:00:00Z", "to": "2026-01-05T09:00:00Z"}).json()
    assert wc["oee"] == body["oee"] and wc["devices"] == ["ASSY-01"]
    events = api.get("/api/v1/devices/ASSY-01/events",
                     params={"from": "2026-01-05T08:00:00Z", "to": "2026-01-05T09:00:00Z"}).json()
    assert [e["state"] for e in events] == ["Idle", "Starting", "Execute", "Held", "Execute", "Stopped"]
    # Across the shift change at 14:00 each shift gets its own figures; the window before data is NOT_SCHEDULED.
    r = api.get("/api/v1/devices/ASSY-01/oee", params={"from": "2026-01-05T07:00:00Z", "to": "2026-01-05T09:00:00Z"})
    assert r.json()["lossSeconds"]["NOT_SCHEDULED"] == 3600 and r.json()["oee"] == body["oee"]
    r = api.get("/api/v1/devices/ASSY-01/oee", params={"from": "2026-01-05T09:00:00Z", "to": "2026-01-05T08:00:00Z"})
    assert r.status_code == 422


def test_parts_counted_without_a_job_are_unassigned_flagged_and_kept_out_of_oee(api, plant):
    plant.clock.set(plant.clock.now().replace(hour=9, minute=30))
    r = post(api, "ASSY-01", *SCRIPT)  # the same run, but no operation was started on the machine
    assert r.status_code == 200
    assert {s["status"] for s in r.json()["signals"] if s["kind"] == "processed" and s["sequence"] > 3} == {
        "unassigned"}
    window = {"from": "2026-01-05T08:00:00Z", "to": "2026-01-05T09:00:00Z"}
    body = api.get("/api/v1/devices/ASSY-01/oee", params=window).json()
    assert (body["totalCount"], body["goodCount"], body["unassignedCount"]) == (0, 0, 540)
    assert body["performance"] == 0 and body["quality"] is None and body["oee"] is None
    device = api.get("/api/v1/devices/ASSY-01").json()
    assert (device["countingWithoutJob"], device["unassignedCount"]) == (True, 540)
    [flag] = [a for a in api.get("/api/v1/devices/ASSY-01/anomalies").json() if a["kind"] == "counting_without_job"]
    assert "kept out of OEE" in flag["detail"]
    # A job starts: the machine is no longer flagged and its parts count again.
    _job(plant, "WC-ASSY", "OP-10")
    assert api.get("/api/v1/devices/ASSY-01").json()["countingWithoutJob"] is False
    assert post(api, "ASSY-01", sig("state", "Resetting", 58, 9), sig("state", "Idle", 58, 10),
                sig("state", "Starting", 58, 11), sig("state", "Execute", 58, 12),
                sig("processed", 700, 59, 13)).status_code == 200
    body = api.get("/api/v1/devices/ASSY-01/oee", params=window).json()
    assert (body["totalCount"], body["unassignedCount"]) == (60, 540)
