"""Camunda 7 models run unchanged: call activity mappings, async continuations, cron timer cycles, Camunda-style
multi-instance and delegate-expression service tasks (models in tests/models/camunda/, as Camunda Modeler
writes them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from taktflow.engine import instances, jobs, tasks
from taktflow.engine.definitions import cron
from taktflow.engine.definitions.service import ModelFile, latest_process_id
from taktflow.engine.errors import InvalidModel
from taktflow.engine.store.models import Job
from tests.support import complete_user_task, deploy_models, instance_row, model, open_user_tasks

CAMUNDA = "camunda/"





def _task_data(engine, instance_id, element_id):
    """What one waiting task of an instance sees (the instance's variables merge every active task's)."""

    def read(session):
        run = engine.load_run(session, instance_id, None)
        [data] = {t.id: dict(t.data) for t in run._all_tasks()
                  if t.task_spec.bpmn_id == element_id and t.state == TaskState.READY}.values()
        return data

    return engine.command(read)


def _jobs(engine, instance_id, kind=None):
    with engine.db.read() as session:
        stmt = select(Job).where(Job.instance_id == instance_id).order_by(Job.id)
        if kind:
            stmt = stmt.where(Job.kind == kind)
        return list(session.scalars(stmt))


# --- call activity camunda:in / camunda:out --------------------------------------------------------------


def test_call_activity_passes_only_mapped_variables_in_and_out(engine):
    deploy_models(engine, model(CAMUNDA + "camunda_ship_order.bpmn"), model(CAMUNDA + "camunda_call_mappings.bpmn"))
    row = instances.start(engine, "camunda_fulfilment", business_key="SO-7",
                          variables={"orderNo": "SO-7", "qty": 3, "customer": "ACME", "creditLimit": 5000}).instance

    # Inside the called process: only what camunda:in maps (source and sourceExpression), nothing else.
    assert instance_row(engine, row.id).active_elements == ["pack", "ship"]
    assert _task_data(engine, row.id, "pack") == {"order": "SO-7", "units": 6}
    complete_user_task(engine, row.id, "pack")

    # Back in the caller: its own variables, plus only what camunda:out maps. The replacement shipment maps
    # variables="all" in (plus two expressions) and names no camunda:out, so all of the child's come back.
    assert instance_row(engine, row.id).active_elements == ["pack", "reship"]
    child = _task_data(engine, row.id, "pack")
    assert child["order"] == "SO-7-R" and child["units"] == 3
    assert child["customer"] == "ACME" and child["tracking"] == "TRK-SO-7" and child["pallets"] == 4
    complete_user_task(engine, row.id, "pack")

    state = instance_row(engine, row.id)
    assert state.active_elements == ["confirm"]
    assert state.variables == {
        "orderNo": "SO-7", "qty": 3, "customer": "ACME", "creditLimit": 5000,  # the caller's own
        "tracking": "TRK-SO-7", "pallets": 4,  # mapped out of the first call; trackingNo, packerNote stayed there
        "order": "SO-7-R", "units": 3, "trackingNo": "TRK-SO-7-R", "cartonCount": 1, "packerNote": "fragile",
    }


def test_call_activity_binding_is_kept_and_a_bad_mapping_is_refused(engine):
    deploy_models(engine, model(CAMUNDA + "camunda_ship_order.bpmn"), model(CAMUNDA + "camunda_call_mappings.bpmn"))
    with engine.db.read() as session:
        spec, _ = engine.specs_of(session, latest_process_id(session, "camunda_fulfilment"))
    ship = spec.task_specs["ship"]
    assert ship.binding == {"calledElementBinding": "latest"}
    assert [m.get("source") or m.get("sourceExpression") for m in ship.camunda_in] == ["orderNo", "(qty * 2)"]

    broken = (model(CAMUNDA + "camunda_call_mappings.bpmn").content
              .replace(b'sourceExpression="${qty * 2}"', b'sourceExpression="${qty * }"'))
    with pytest.raises(InvalidModel) as refused:
        deploy_models(engine, ModelFile("broken.bpmn", broken))
    assert "sourceExpression" in str(refused.value.problems[0].message)


# --- asyncBefore / asyncAfter ----------------------------------------------------------------------------


@pytest.fixture
def shipping(engine, registry):
    calls = {"issue": [], "notify": []}

    @registry.handler("stockBooking.postGoodsIssue")  # camunda:expression="${stockBooking.postGoodsIssue(execution)}"
    def post_goods_issue(ctx):
        calls["issue"].append(ctx.attempt)
        if ctx.variables.get("failIssues", 0) >= len(calls["issue"]):
            raise RuntimeError("stock ledger locked")
        return {"issueNo": f"GI-{ctx.business_key}"}

    @registry.handler("notifyCustomer")  # camunda:delegateExpression="${notifyCustomer}"
    def notify_customer(ctx):
        calls["notify"].append(ctx.variables["issueNo"])
        return {"notifiedAt": ctx.now.isoformat()}

    deploy_models(engine, model(CAMUNDA + "camunda_async_shipping.bpmn"))
    return calls


def test_async_before_commits_first_and_a_job_runs_the_handler(engine, shipping, clock):
    row = instances.start(engine, "camunda_async_shipping", business_key="DL-1").instance
    assert shipping["issue"] == []  # the start command committed without running the handler
    state = instance_row(engine, row.id)
    assert (state.state, state.active_elements) == ("active", ["post_goods_issue"])
    [job] = _jobs(engine, row.id)
    assert (job.kind, job.element_id, job.due_at, job.attempts) == ("service_task", "post_goods_issue", clock.now(), 0)

    assert jobs.run_due_jobs(engine, "worker-1") == 1
    assert shipping == {"issue": [1], "notify": ["GI-DL-1"]}
    # asyncAfter: the notification's result is committed, the task is still open, a job continues the process.
    state = instance_row(engine, row.id)
    assert state.active_elements == ["notify_customer"]
    assert state.variables["goodsIssue"] == {"issueNo": "GI-DL-1"} and "notifiedAt" in state.variables
    [job] = _jobs(engine, row.id)
    assert (job.element_id, job.locked_by) == ("notify_customer", None) and job.due_at <= clock.now()

    assert jobs.run_due_jobs(engine, "worker-1") == 1
    assert shipping["notify"] == ["GI-DL-1"]  # completing the task did not run the handler again
    assert instance_row(engine, row.id).active_elements == ["check_delivery"]
    assert _jobs(engine, row.id) == []


def test_legacy_camunda_async_is_async_before(engine, shipping):
    legacy = model(CAMUNDA + "camunda_async_shipping.bpmn").content.replace(b"camunda:asyncBefore=", b"camunda:async=")
    deploy_models(engine, ModelFile("camunda_async_shipping.bpmn", legacy))
    row = instances.start(engine, "camunda_async_shipping", business_key="DL-4").instance
    assert shipping["issue"] == [] and instance_row(engine, row.id).active_elements == ["post_goods_issue"]
    assert jobs.run_due_jobs(engine, "w") == 1 and shipping["issue"] == [1]


def test_async_job_of_a_crashed_worker_is_taken_over(engine, shipping, clock):
    row = instances.start(engine, "camunda_async_shipping", business_key="DL-2").instance
    assert jobs.claim_due_jobs(engine, "worker-that-dies") != []  # claimed, then the worker is killed
    assert jobs.run_due_jobs(engine, "worker-2") == 0  # the claim holds for a while
    assert instance_row(engine, row.id).active_elements == ["post_goods_issue"]  # waiting at the task, not lost
    clock.advance(jobs.JOB_LOCK + timedelta(seconds=1))
    assert jobs.run_due_jobs(engine, "worker-2") == 1
    assert shipping["issue"] == [1] and instance_row(engine, row.id).active_elements == ["notify_customer"]


def test_async_handler_failure_is_retried_with_backoff(engine, shipping, clock):
    row = instances.start(engine, "camunda_async_shipping", business_key="DL-3", variables={"failIssues": 1}).instance
    assert jobs.run_due_jobs(engine, "w") == 1
    [job] = _jobs(engine, row.id)
    assert (job.attempts, job.due_at) == (1, clock.now() + timedelta(seconds=10))
    assert "stock ledger locked" in job.last_error
    assert instance_row(engine, row.id).active_elements == ["post_goods_issue"]
    clock.advance(seconds=10)
    jobs.run_due_jobs(engine, "w")
    assert shipping["issue"] == [1, 2] and instance_row(engine, row.id).active_elements == ["notify_customer"]


# --- cron timer cycles -----------------------------------------------------------------------------------


def _timer_due(engine, instance_id, element_id):
    return [j.due_at for j in _jobs(engine, instance_id, "timer") if j.element_id == element_id]


def test_cron_cycles_fire_at_the_next_cron_time_by_the_engine_clock(engine, clock):
    deploy_models(engine, model(CAMUNDA + "camunda_cron_shift.bpmn"))
    assert clock.now() == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday, after 06:30
    row = instances.start(engine, "camunda_cron_shift").instance
    # Unix cron "30 6 * * 1-5" on an intermediate event: the next weekday 06:30, once.
    assert _timer_due(engine, row.id, "first_shift") == [datetime(2026, 1, 6, 6, 30, tzinfo=UTC)]
    clock.set(datetime(2026, 1, 6, 6, 29, tzinfo=UTC))
    assert jobs.run_due_jobs(engine, "w") == 0
    clock.set(datetime(2026, 1, 6, 6, 30, tzinfo=UTC))
    assert jobs.run_due_jobs(engine, "w") == 1
    assert instance_row(engine, row.id).active_elements == ["run_campaign"]
    assert _timer_due(engine, row.id, "first_shift") == []  # passed: an intermediate event fires once

    # Quartz "0 0 9 * * ?" on a non-interrupting boundary event: every day at 09:00 while the campaign runs.
    assert _timer_due(engine, row.id, "every_morning") == [datetime(2026, 1, 6, 9, 0, tzinfo=UTC)]
    clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    assert jobs.run_due_jobs(engine, "w") == 1
    assert [t.element_id for t in open_user_tasks(engine, row.id)] == ["run_campaign", "daily_report"]
    assert _timer_due(engine, row.id, "every_morning") == [datetime(2026, 1, 7, 9, 0, tzinfo=UTC)]
    clock.set(datetime(2026, 1, 9, 17, 0, tzinfo=UTC))  # the worker was down for two mornings: one report
    assert jobs.run_due_jobs(engine, "w") == 1
    assert len([t for t in open_user_tasks(engine, row.id) if t.element_id == "daily_report"]) == 2
    assert _timer_due(engine, row.id, "every_morning") == [datetime(2026, 1, 10, 9, 0, tzinfo=UTC)]

    complete_user_task(engine, row.id, "run_campaign")
    assert _jobs(engine, row.id, "timer") == []  # the campaign ended: no more reports


def test_cron_expressions_read_quartz_and_unix_forms():
    monday = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    expected = {
        "0 0 9 ? * MON-FRI": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        "0 0/15 * * * ?": datetime(2026, 1, 5, 8, 15, tzinfo=UTC),
        "0 0 12 ? * 6#3": datetime(2026, 1, 16, 12, 0, tzinfo=UTC),  # third Friday (Quartz: 1 = Sunday)
        "0 0 12 ? * 6L": datetime(2026, 1, 30, 12, 0, tzinfo=UTC),  # last Friday
        "0 0 18 L * ?": datetime(2026, 1, 31, 18, 0, tzinfo=UTC),  # last day of the month
        "0 0 7 LW * ?": datetime(2026, 1, 30, 7, 0, tzinfo=UTC),  # last weekday of the month
        "0 0 6 1W * ? 2026": datetime(2026, 2, 2, 6, 0, tzinfo=UTC),  # Feb 1st is a Sunday
        "*/5 * * * *": datetime(2026, 1, 5, 8, 5, tzinfo=UTC),
        "30 6 * * 0": datetime(2026, 1, 11, 6, 30, tzinfo=UTC),  # Unix: 0 = Sunday
        "0 22 * * FRI": datetime(2026, 1, 9, 22, 0, tzinfo=UTC),
    }
    assert {text: cron.parse(text).next_after(monday) for text in expected} == expected
    assert cron.parse("0 0 9 * * ?").next_after(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == datetime(
        2026, 1, 6, 9, 0, tzinfo=UTC)  # strictly after
    for bad in ("0 0 25 * * ?", "0 61 * * *", "0 0 9 ? * 6#6", "0 0 9 * FOO ?"):
        with pytest.raises(cron.CronError):
            cron.parse(bad)
    assert not cron.is_cron("shift_start if weekday else later")


def test_a_cron_timer_that_cannot_be_read_is_refused_at_deploy(engine):
    broken = model(CAMUNDA + "camunda_cron_shift.bpmn").content.replace(b"0 0 9 * * ?", b"0 0 27 * * ?")
    with pytest.raises(InvalidModel) as refused:
        deploy_models(engine, ModelFile("broken_cron.bpmn", broken))
    assert any("27" in p.message for p in refused.value.problems)


# --- multi-instance in Camunda form ------------------------------------------------------------------------


@pytest.fixture
def lot_inspection(engine, registry):
    reserved = []

    @registry.handler("warehouse.reserve")  # camunda:expression="${warehouse.reserve(line)}"
    def reserve(ctx):
        reserved.append(ctx.variables["line"])
        return {"lastReserved": ctx.variables["line"]["sku"]}

    deploy_models(engine, model(CAMUNDA + "camunda_lot_inspection.bpmn"))
    return reserved


ORDER = {"lines": [{"sku": "BOLT-M8", "qty": 200}, {"sku": "NUT-M8", "qty": 200}, {"sku": "WASHER", "qty": 400}]}


def test_camunda_collection_and_element_variable_run_each_element(engine, lot_inspection):
    inspectors = ["anna", "ben", "carla", "dev"]
    row = instances.start(engine, "camunda_lot_inspection",
                          variables={"order": ORDER, "inspectors": inspectors, "rejected": False}).instance
    assert lot_inspection == ORDER["lines"]  # sequential, one line per instance, in order
    state = instance_row(engine, row.id)
    assert state.active_elements == ["inspect_lot"]
    assert state.variables["lastReserved"] == "WASHER"
    assert "line" not in state.variables  # the element variable is local to its instance
    assert "reserve_line__collection" not in state.variables  # where the evaluated collection was kept
    # Parallel: one inspection per inspector, each assigned by camunda:assignee="${inspector}".
    assert sorted(t.assignee for t in open_user_tasks(engine, row.id)) == ["anna", "ben", "carla", "dev"]

    by_assignee = {t.assignee: t.id for t in open_user_tasks(engine, row.id)}
    tasks.complete(engine, by_assignee["ben"], {})
    assert len(open_user_tasks(engine, row.id)) == 3  # 1 of 4 completed: the condition does not hold yet
    tasks.complete(engine, by_assignee["dev"], {})
    # nrOfCompletedInstances / nrOfInstances = 2 / 4: the remaining inspections are cancelled.
    state = instance_row(engine, row.id)
    assert state.active_elements == ["release_lot"]
    assert [t.element_id for t in open_user_tasks(engine, row.id)] == ["release_lot"]
    assert "inspector" not in state.variables


def test_completion_condition_may_end_a_multi_instance_on_the_first_instance(engine, lot_inspection):
    row = instances.start(engine, "camunda_lot_inspection",
                          variables={"order": {"lines": []}, "inspectors": ["anna", "ben", "carla"],
                                     "rejected": False}).instance
    assert lot_inspection == []  # an empty collection runs no instance
    tasks.complete(engine, open_user_tasks(engine, row.id)[0].id, {"rejected": True})
    state = instance_row(engine, row.id)
    assert state.active_elements == ["release_lot"]
    assert set(state.variables) == {"order", "inspectors", "rejected"}


def test_a_process_variable_named_like_the_element_variable_is_kept(engine, lot_inspection):
    row = instances.start(engine, "camunda_lot_inspection", variables={
        "order": {"lines": [{"sku": "BOLT-M8"}]}, "line": "assembly line 2", "inspectors": ["anna"],
        "rejected": False}).instance
    assert lot_inspection == [{"sku": "BOLT-M8"}]  # each instance sees its element under that name
    assert instance_row(engine, row.id).variables["line"] == "assembly line 2"
