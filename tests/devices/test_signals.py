"""Signals drive PackML state, counters and waiting operations; bad ones are detected, logged, not applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from taktflow.engine.store.models import Subscription
from taktflow.handlers.devices import service
from taktflow.handlers.devices.models import Device, DeviceAnomaly, DeviceSignal, MachineEvent
from taktflow.handlers.devices.packml import State, transition_allowed
from taktflow.handlers.devices.service import Signal
from tests.devices.conftest import instance, start_operation

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def send(engine, *signals):
    return service.ingest(engine, list(signals))


def device(engine, device_id="CUT-01"):
    with engine.db.read() as session:
        return session.get(Device, device_id)


def anomalies(engine, kind=None):
    with engine.db.read() as session:
        stmt = select(DeviceAnomaly).order_by(DeviceAnomaly.id)
        if kind:
            stmt = stmt.where(DeviceAnomaly.kind == kind)
        return list(session.scalars(stmt))


def run_to_execute(engine, device_id="CUT-01", seq=1):
    for i, state in enumerate(("Stopped", "Resetting", "Idle", "Starting", "Execute")):
        send(engine, Signal(device_id, "state", state, at(i), seq + i))
    return seq + 5


def test_cycles_reach_the_waiting_operation_and_quantity_completes_it(plant):
    op = start_operation(plant, quantity=3)
    assert instance(plant, op).active_elements == ["first_cycle"]
    seq = run_to_execute(plant)
    send(plant, Signal("CUT-01", "processed", 1000, at(10), seq), Signal("CUT-01", "defective", 7, at(10), seq))
    assert instance(plant, op).active_elements == ["first_cycle"]  # the baseline reading counts nothing

    [out] = send(plant, Signal("CUT-01", "processed", 1001, at(12), seq + 1))
    assert out.messages[0]["name"] == "machine.cycle_completed" and out.messages[0]["instances"] == [op]
    state = instance(plant, op)
    assert state.active_elements == ["run"]
    assert (state.variables["count"], state.variables["good"], state.variables["totalGood"]) == (1, 1, 1)

    # A reject is reported with the cycle that made it: the defective counter arrives first.
    send(plant, Signal("CUT-01", "defective", 8, at(14), seq + 2), Signal("CUT-01", "processed", 1002, at(14), seq + 2))
    send(plant, Signal("CUT-01", "processed", 1003, at(16), seq + 3))
    assert instance(plant, op).active_elements == ["run"]  # 2 good of 3
    [out] = send(plant, Signal("CUT-01", "processed", 1004, at(18), seq + 4))
    assert [m["name"] for m in out.messages] == ["machine.cycle_completed", "machine.quantity_reached"]
    done = instance(plant, op)
    assert done.state == "completed"
    assert (done.variables["good"], done.variables["scrap"], done.variables["count"]) == (3, 1, 4)
    assert device(plant).job_operation_id is None  # devices.end_job released the machine


def test_with_the_processed_basis_rejects_count_towards_the_job_quantity(plant):
    op = start_operation(plant, quantity=3, quantityBasis="processed")
    seq = run_to_execute(plant)
    send(plant, Signal("CUT-01", "processed", 0, at(10), seq), Signal("CUT-01", "defective", 0, at(10), seq))
    send(plant, Signal("CUT-01", "defective", 1, at(12), seq + 1), Signal("CUT-01", "processed", 1, at(12), seq + 1))
    send(plant, Signal("CUT-01", "processed", 2, at(14), seq + 2))
    [out] = send(plant, Signal("CUT-01", "processed", 3, at(16), seq + 3))  # 2 good + 1 reject: 3 processed
    assert [m["name"] for m in out.messages] == ["machine.cycle_completed", "machine.quantity_reached"]
    done = instance(plant, op)
    assert done.state == "completed"
    assert (done.variables["good"], done.variables["scrap"], done.variables["count"]) == (2, 1, 3)


def test_a_cycle_listener_sees_the_jobs_counts_and_a_failing_one_loses_no_signal(plant, monkeypatch):
    seen = []

    def failing(session, cycle):
        raise RuntimeError("listener bug")

    monkeypatch.setattr(service, "_cycle_listeners", [])
    service.on_cycle(failing)
    service.on_cycle(lambda session, cycle: seen.append(cycle))
    op = start_operation(plant, operation="OP-42", quantity=2)
    seq = run_to_execute(plant)
    send(plant, Signal("CUT-01", "processed", 7, at(10), seq))
    [out] = send(plant, Signal("CUT-01", "processed", 9, at(12), seq + 1))  # two parts in one reading
    assert out.status == "applied" and out.messages[0]["instances"] == [op]
    assert [(c.operation_id, c.work_center, c.count, c.total_count, c.total_good) for c in seen] == [
        ("OP-42", "WC-CUT", 2, 2, 2)]
    assert instance(plant, op).state == "completed"  # the failing listener changed nothing of the signal


def test_watchdog_reports_a_silent_machine_once_per_silence_period_and_not_while_it_stands(plant):
    from taktflow.handlers.devices.watchdog import check_silence

    start_operation(plant, quantity=100, silenceSeconds=30)
    seq = run_to_execute(plant)  # state changes: the machine is busy, its silence period starts now
    plant.clock.advance(seconds=29)
    assert check_silence(plant) == []
    plant.clock.advance(seconds=1)
    assert check_silence(plant) == [{"device": "CUT-01", "name": "machine.silent", "status": "unmatched"}]
    assert device(plant).job_silent_at == plant.clock.now()
    plant.clock.advance(minutes=10)
    assert check_silence(plant) == []  # reported once for this period
    send(plant, Signal("CUT-01", "processed", 0, at(10), seq))  # a baseline reading: no part, still silent
    plant.clock.advance(seconds=30)
    assert check_silence(plant) == []
    send(plant, Signal("CUT-01", "processed", 1, at(11), seq + 1))  # a part: a new period
    plant.clock.advance(seconds=30)
    assert [r["device"] for r in check_silence(plant)] == ["CUT-01"]
    send(plant, Signal("CUT-01", "state", "Held", at(12), seq + 2))  # standing: its downtime says it all
    plant.clock.advance(hours=1)
    assert check_silence(plant) == []
    with plant.db.write() as session:  # the job ended: nothing to watch
        service.end_job(session, "WC-CUT")
    send(plant, Signal("CUT-01", "state", "Execute", at(13), seq + 3))
    plant.clock.advance(hours=1)
    assert check_silence(plant) == [] and device(plant).job_silent_at is None


def test_held_interrupts_the_running_operation(plant):
    op = start_operation(plant)
    seq = run_to_execute(plant)
    send(plant, Signal("CUT-01", "processed", 0, at(10), seq), Signal("CUT-01", "processed", 1, at(11), seq + 1))
    send(plant, Signal("CUT-01", "stop_reason", {"ID": 12, "Value": "material jam"}, at(12), seq + 2))
    [out] = send(plant, Signal("CUT-01", "state", "Held", at(12), seq + 3))
    assert [m["name"] for m in out.messages] == ["machine.state_changed", "machine.interrupted"]
    state = instance(plant, op)
    assert state.state == "completed" and state.variables["state"] == "Held"
    assert state.variables["reason"] == "12: material jam"


def test_only_the_work_centers_instance_is_reached_and_nobody_waiting_is_recorded(plant):
    cut = start_operation(plant, "WC-CUT", "OP-CUT")
    assy = start_operation(plant, "WC-ASSY", "OP-ASSY")
    run_to_execute(plant, "ASSY-01")
    send(plant, Signal("ASSY-01", "processed", 5, at(10), 10))
    [out] = send(plant, Signal("ASSY-01", "processed", 6, at(11), 11))
    assert out.messages[0]["instances"] == [assy]
    assert instance(plant, cut).active_elements == ["first_cycle"]
    [out] = send(plant, Signal("PACK-01", "state", "Execute", at(1), 1))
    assert out.messages == [{"name": "machine.state_changed", "status": "unmatched"},
                            {"name": "machine.resumed", "status": "unmatched"}]


def _job(engine, work_center="WC-CUT"):
    """An operation runs on the machine: its counts are applied (without one they are unassigned)."""
    engine.command(lambda s: service.start_job(s, work_center, "OP-1", 10_000, now=engine.clock.now()))


def test_duplicate_and_out_of_order_signals_are_detected_by_sequence(plant):
    seq = run_to_execute(plant)
    _job(plant)
    send(plant, Signal("CUT-01", "processed", 10, at(10), seq))
    send(plant, Signal("CUT-01", "processed", 12, at(12), seq + 2))
    [dup] = send(plant, Signal("CUT-01", "processed", 12, at(12), seq + 2))
    assert dup.status == "duplicate"
    [late] = send(plant, Signal("CUT-01", "processed", 11, at(11), seq + 1))
    assert late.status == "late"
    assert device(plant).processed_total == 2  # neither the copy nor the stale reading counted
    with plant.db.read() as session:
        statuses = [s.status for s in session.scalars(select(DeviceSignal).where(DeviceSignal.kind == "processed")
                                                      .order_by(DeviceSignal.id))]
    assert statuses == ["applied", "applied", "late"]  # the late one is kept; the copy only logged
    assert [a.kind for a in anomalies(plant) if a.kind in ("duplicate", "out_of_order")] == ["duplicate",
                                                                                            "out_of_order"]
    # One message (one sequence number) may carry several kinds.
    outs = send(plant, Signal("CUT-01", "defective", 1, at(13), seq + 3), Signal("CUT-01", "processed", 13, at(13),
                                                                                   seq + 3))
    assert [o.status for o in outs] == ["applied", "applied"]


def test_sparkplug_sequence_wraps_at_256_and_a_birth_starts_over(plant):
    _job(plant)
    for i, raw in enumerate((254, 255, 0, 1)):
        [out] = send(plant, Signal("CUT-01", "processed", 100 + i, at(1 + i), raw, "sparkplug", 256))
        assert out.status == "applied"
    assert device(plant).last_sequence == 257
    [old] = send(plant, Signal("CUT-01", "processed", 99, at(9), 250, "sparkplug", 256))
    assert old.status == "late"
    # The machine restarted: a new birth at a later time numbers from 0 again, above everything seen.
    send(plant, Signal("CUT-01", "online", True, at(20), 0, "sparkplug", 256))
    [out] = send(plant, Signal("CUT-01", "processed", 104, at(21), 1, "sparkplug", 256))
    assert out.status == "applied" and out.sequence == 259
    [again] = send(plant, Signal("CUT-01", "online", True, at(20), 0, "sparkplug", 256))
    assert again.status == "duplicate"


def test_impossible_transition_is_logged_and_not_applied(plant):
    run_to_execute(plant)
    [out] = send(plant, Signal("CUT-01", "state", "Idle", at(10), 100))
    assert out.status == "anomaly" and out.detail == "Execute → Idle is not a PackML transition"
    assert State(device(plant).state) is State.EXECUTE
    [kind] = [a.kind for a in anomalies(plant, "impossible_transition")]
    assert kind == "impossible_transition"
    # Passing an acting state between two samples is fine: Execute → Held (through Holding).
    [out] = send(plant, Signal("CUT-01", "state", 11, at(11), 101))
    assert out.status == "applied" and State(device(plant).state) is State.HELD


def test_execute_again_after_a_stop_or_an_outage_is_a_resume(plant):
    seq = run_to_execute(plant)
    send(plant, Signal("CUT-01", "state", "Held", at(10), seq))
    [out] = send(plant, Signal("CUT-01", "state", "Execute", at(11), seq + 1))
    assert [m["name"] for m in out.messages] == ["machine.state_changed", "machine.resumed"]
    [out] = send(plant, Signal("CUT-01", "online", False, at(12)))
    assert [m["name"] for m in out.messages] == ["machine.interrupted"]
    # Back online still in Execute: no state change, but whoever waits for the machine to run hears of it.
    [out] = send(plant, Signal("CUT-01", "online", True, at(13)))
    assert [m["name"] for m in out.messages] == ["machine.resumed"]


def test_after_going_offline_any_state_is_a_resync(plant):
    run_to_execute(plant)
    [out] = send(plant, Signal("CUT-01", "online", False, at(10)))
    assert out.messages[0]["name"] == "machine.interrupted"
    [out] = send(plant, Signal("CUT-01", "state", "Idle", at(20), 100))
    assert out.status == "applied"


@pytest.mark.parametrize(("current", "new", "allowed"), [
    (State.STOPPED, State.RESETTING, True), (State.IDLE, State.EXECUTE, True), (State.EXECUTE, State.COMPLETE, True),
    (State.ABORTED, State.STOPPED, True), (State.STOPPED, State.EXECUTE, False), (State.HELD, State.COMPLETE, False),
    (State.ABORTED, State.EXECUTE, False), (State.COMPLETE, State.EXECUTE, False),
])
def test_packml_transition_table(current, new, allowed):
    assert transition_allowed(current, new) is allowed


def test_counter_rollover_and_reset(plant):
    with plant.db.write() as session:
        session.get(Device, "CUT-01").counter_limit = 65536  # a 16-bit counter
    run_to_execute(plant)
    send(plant, Signal("CUT-01", "processed", 65530, at(10), 10))
    send(plant, Signal("CUT-01", "processed", 4, at(11), 11))  # wrapped: 6 to the top, 4 after
    assert device(plant).processed_total == 10
    send(plant, Signal("CUT-01", "processed", 30000, at(12), 12))
    send(plant, Signal("CUT-01", "processed", 3, at(13), 13))  # reset by the operator, 3 made since
    assert device(plant).processed_total == 10 + 29996 + 3
    assert [a.kind for a in anomalies(plant) if a.kind.startswith("counter")] == ["counter_rollover",
                                                                                  "counter_reset"]


def test_unknown_device_is_refused_and_logged(plant):
    [out] = send(plant, Signal("LATHE-99", "processed", 1, at(0), 1, "mqtt"))
    assert out.status == "refused" and "not registered" in out.detail
    [logged] = anomalies(plant, "unknown_device")
    assert logged.device_id == "LATHE-99" and logged.source == "mqtt"
    with plant.db.read() as session:
        assert session.scalar(select(DeviceSignal).where(DeviceSignal.device_id == "LATHE-99")) is None


def test_machine_event_log_records_state_intervals(plant):
    run_to_execute(plant)
    with plant.db.read() as session:
        rows = list(session.scalars(select(MachineEvent).where(MachineEvent.device_id == "CUT-01")
                                    .order_by(MachineEvent.id)))
    assert [(State(r.state).label, r.started_at, r.ended_at) for r in rows] == [
        ("Stopped", at(0), at(1)), ("Resetting", at(1), at(2)), ("Idle", at(2), at(3)),
        ("Starting", at(3), at(4)), ("Execute", at(4), None)]


def test_waiting_subscription_uses_the_work_center_key(plant):
    start_operation(plant, "WC-PACK", "OP-9")
    with plant.db.read() as session:
        keys = [s.correlation_key for s in session.scalars(select(Subscription))]
    assert keys == ['{"workCenter":"WC-PACK"}']
