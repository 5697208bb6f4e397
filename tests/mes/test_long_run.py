"""A real job: a thousand parts, each reported by the machine as it is made, through the devices slice (the
path every adapter takes). The work-order instance is not touched per part — its state and version stay as
they were until the released quantity is there — so a job of any length costs the same per part."""

from __future__ import annotations

from sqlalchemy import select

from taktflow.engine.store.models import InstanceState, ProcessInstance
from taktflow.handlers.devices.models import Device
from taktflow.handlers.mes.work_order import process
from taktflow.handlers.mes.work_order.service import operations_of

PARTS, REJECTS = 1000, 10


def _instance(plant, instance_id: str) -> tuple[int, bytes]:
    with plant.engine.db.read() as session:
        return (session.get(ProcessInstance, instance_id).version,
                session.scalar(select(InstanceState.state).where(InstanceState.instance_id == instance_id)))


def _cutting(plant, number: str):
    with plant.engine.db.read() as session:
        return operations_of(session, plant.work_order(number))[0]


def test_a_thousand_parts_signalled_one_by_one_complete_the_operation_with_the_machines_counts(plant):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=PARTS)
    plant.complete("start_operation")
    plant.parts("CUT-01", 1)
    before = _instance(plant, wo.instance_id)

    half = plant.parts("CUT-01", PARTS // 2 - 1, rejects=REJECTS)
    assert {(m["name"], m["status"]) for o in half for m in o.messages} == {("machine.cycle_completed", "unmatched")}
    cut = _cutting(plant, wo.number)
    assert (cut.state, cut.machine_count, cut.machine_code) == ("running", PARTS // 2, "CUT-01")
    assert _instance(plant, wo.instance_id) == before  # no process round, no growing state per part
    assert plant.open_tasks() == []

    rest = plant.parts("CUT-01", PARTS - PARTS // 2 - 1)
    assert _instance(plant, wo.instance_id) == before
    [last] = plant.parts("CUT-01", 1)  # the thousandth part, rejects included: the released quantity is there
    assert [(m["name"], m["status"], m.get("instances")) for m in last.messages] == [
        ("machine.cycle_completed", "unmatched", None), ("machine.quantity_reached", "delivered", [wo.instance_id])]
    assert len(half) + len(rest) + 2 == PARTS
    cut = _cutting(plant, wo.number)
    assert (cut.machine_count, plant.open_tasks()) == (PARTS, ["confirm_quantities"])
    with plant.engine.db.read() as session:
        machine = session.get(Device, "CUT-01")
        assert (machine.processed_total, machine.defective_total, machine.job_operation_id) == (PARTS, REJECTS, None)

    plant.complete("confirm_quantities", {"goodQuantity": PARTS - REJECTS, "scrapQuantity": REJECTS})
    plant.complete("inspect", {"measuredValue": 100.0}, actor="qa-ben")
    for device in ("ASSY-01", "PACK-01"):  # the later steps report their parts in one reading each
        plant.complete("start_operation")
        plant.parts(device, PARTS - REJECTS, per_signal=PARTS - REJECTS)
        plant.complete("confirm_quantities", {"goodQuantity": PARTS - REJECTS})
    done = plant.work_order(wo.number)
    assert (done.state, done.good_qty, done.scrap_qty) == ("closed", PARTS - REJECTS, REJECTS)
    with plant.engine.db.read() as session:
        assert [(o.machine_count, o.good_qty, o.scrap_qty) for o in operations_of(session, done)] == [
            (PARTS, PARTS - REJECTS, REJECTS), (PARTS - REJECTS, PARTS - REJECTS, 0),
            (PARTS - REJECTS, PARTS - REJECTS, 0)]


STOPS = 300  # micro-stops in one run: each is a round of the work-order loop (downtime, wait for resume)


def test_hundreds_of_machine_stops_in_one_run_all_become_downtimes_and_the_state_stays_small(plant):
    from taktflow.handlers.mes.operation.service import downtimes

    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=3)
    plant.complete("start_operation")
    plant.parts("CUT-01", 1)
    sizes = {}
    for stop in range(1, STOPS + 1):
        plant.machine_state("CUT-01", "Held", reason=f"micro-stop {stop}")
        plant.machine_state("CUT-01", "Execute")
        if stop in (10, STOPS):
            sizes[stop] = len(_instance(plant, wo.instance_id)[1])
    # Finished loop rounds leave the task tree: the stored state does not grow with the stops (before, the
    # tree grew by every round until the ~150th stop failed and a deeper loop stalled without an error).
    assert sizes[STOPS] <= sizes[10] * 1.2, sizes
    plant.parts("CUT-01", 2)  # the run still ends on the released quantity
    assert plant.open_tasks() == ["confirm_quantities"]
    with plant.engine.db.read() as session:
        stops = downtimes(session)
    assert len(stops) == STOPS and all(d.ended_at is not None for d in stops)
    assert {d.reason for d in stops} == {f"micro-stop {n}" for n in range(1, STOPS + 1)}
