"""BPMN the betsy conformance suite found missing, on models as a designer draws them (tests/models/gaps):
multi-instance behaviour events, a receive task that starts its process, element ids SpiffWorkflow uses for
itself, and a BPMN error raised by a script."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from taktflow.engine import events, history, instances, jobs, tasks
from taktflow.engine.definitions.service import ModelFile
from taktflow.engine.errors import InvalidModel
from taktflow.engine.store.models import Incident
from tests.support import complete_user_task, deploy_models, instance_row, model, open_user_tasks

GAPS = "gaps/"




def _completed(engine, instance_id):
    """How often each element completed, from the instance's history."""
    with engine.db.read() as session:
        return Counter(e.element_id for e in history.of_instance(session, instance_id)
                       if e.kind == "element_completed")



# --- multi-instance behaviour ------------------------------------------------------------------------------


def test_none_behaviour_reports_every_inspected_pallet_without_stopping_the_inspection(engine):
    deploy_models(engine, GAPS + "pallet_inspection.bpmn")
    instance = instances.start(engine, "pallet_inspection", variables={"palletCount": 3}).instance

    for done in (1, 2):
        complete_user_task(engine, instance.id, "inspect_pallet")
        assert _completed(engine, instance.id)["record_progress"] == done
        assert instance_row(engine, instance.id).active_elements == ["inspect_pallet"]  # not interrupted
    complete_user_task(engine, instance.id, "inspect_pallet")

    assert _completed(engine, instance.id)["record_progress"] == 3
    assert [t.element_id for t in open_user_tasks(engine, instance.id)] == ["book_receipt"]
    complete_user_task(engine, instance.id, "book_receipt")
    row = instance_row(engine, instance.id)
    assert row.state == "completed"
    counts = _completed(engine, instance.id)
    assert counts["pallet_done"] == 3  # the boundary event the designer drew, under its own id
    assert counts["book_receipt"] == 1 and counts["EndEvent_1"] == 1  # one token left the inspection


def test_one_behaviour_releases_the_series_once_after_the_first_measured_part(engine):
    deploy_models(engine, GAPS + "first_article.bpmn")
    instance = instances.start(engine, "first_article", variables={"sampleSize": 3}).instance
    assert [t.element_id for t in open_user_tasks(engine, instance.id)] == ["measure_part"] * 3

    complete_user_task(engine, instance.id, "measure_part")
    assert _completed(engine, instance.id)["release_series"] == 1
    complete_user_task(engine, instance.id, "measure_part")
    complete_user_task(engine, instance.id, "measure_part")

    assert _completed(engine, instance.id)["release_series"] == 1
    complete_user_task(engine, instance.id, "archive_report")
    assert instance_row(engine, instance.id).state == "completed"


def test_complex_behaviour_closes_the_quote_request_once_enough_quotes_are_in(engine):
    deploy_models(engine, GAPS + "supplier_quotes.bpmn")
    instance = instances.start(engine, "supplier_quotes", variables={"supplierCount": 3, "quotesNeeded": 2}).instance

    complete_user_task(engine, instance.id, "enter_quote", {"price": 120})
    assert _completed(engine, instance.id)["close_request"] == 0
    assert [t.element_id for t in open_user_tasks(engine, instance.id)] == ["enter_quote"] * 2
    complete_user_task(engine, instance.id, "enter_quote", {"price": 110})

    # The condition holds: the escalation is thrown, the third supplier's quote is no longer asked for.
    assert _completed(engine, instance.id)["close_request"] == 1
    assert [t.element_id for t in open_user_tasks(engine, instance.id)] == ["compare_quotes"]
    complete_user_task(engine, instance.id, "compare_quotes")
    assert instance_row(engine, instance.id).state == "completed"
    with engine.db.read() as session:
        cancelled = [e.element_id for e in history.of_instance(session, instance.id) if e.kind == "element_cancelled"]
    assert cancelled.count("enter_quote") == 1  # the third supplier's quote task


def test_a_behaviour_event_that_names_no_event_definition_is_refused(engine):
    content = model(GAPS + "pallet_inspection.bpmn").content.replace(
        b'noneBehaviorEventRef="SignalEventDefinition_pallet_inspected"', b'noneBehaviorEventRef="nowhere"')
    with pytest.raises(InvalidModel) as refused:
        deploy_models(engine, ModelFile("broken.bpmn", content))
    assert any("nowhere" in p.message for p in refused.value.problems)


def test_a_complex_behaviour_condition_that_does_not_compile_is_refused(engine):
    content = model(GAPS + "supplier_quotes.bpmn").content.replace(b"&gt;= quotesNeeded", b"&gt;=")
    with pytest.raises(InvalidModel) as refused:
        deploy_models(engine, ModelFile("broken.bpmn", content))
    assert [p.rule for p in refused.value.problems] == ["restricted-script"]


# --- a receive task that instantiates its process ----------------------------------------------------------


def test_the_shipping_notice_message_starts_the_goods_receipt(engine):
    deploy_models(engine, GAPS + "advance_shipping_notice.bpmn")

    reached = events.correlate_message(engine, "asn_received", business_key="PO-4711",
                                       variables={"deliveryNote": "DN-77"})

    assert len(reached) == 1 and reached[0].element_id == "receive_asn"
    row = instance_row(engine, reached[0].instance_id)
    assert (row.process_key, row.business_key, row.active_elements) == ("goods_receipt", "PO-4711",
                                                                         ["check_delivery"])
    assert row.variables["deliveryNote"] == "DN-77"
    assert _completed(engine, row.id)["receive_asn"] == 1
    complete_user_task(engine, row.id, "check_delivery")
    assert instance_row(engine, row.id).state == "completed"


# --- element ids SpiffWorkflow uses for itself ---------------------------------------------------------------


def test_elements_called_start_root_and_end_deploy_run_and_show_their_own_ids(engine):
    deploy_models(engine, GAPS + "root_cause.bpmn")
    instance = instances.start(engine, "complaint_analysis").instance

    assert instance_row(engine, instance.id).active_elements == ["Root"]
    [task] = open_user_tasks(engine, instance.id)
    assert (task.element_id, task.name) == ("Root", "Analyse root cause")
    tasks.complete(engine, task.id, {"rootCause": "worn tool"})

    assert instance_row(engine, instance.id).state == "completed"
    assert {"Start", "Root", "End"} <= set(_completed(engine, instance.id))


# --- a BPMN error raised by a script -------------------------------------------------------------------------


def test_a_script_raising_bpmn_error_is_caught_by_the_error_boundary_event(engine):
    deploy_models(engine, GAPS + "measurement_check.bpmn")
    variables = {"gaugeFault": False, "nominalMm": 12.0, "toleranceMm": 0.05}

    good = instances.start(engine, "measurement_check", variables={**variables, "measuredMm": 12.02}).instance
    assert instance_row(engine, good.id).state == "completed"
    assert _completed(engine, good.id)["part_accepted"] == 1

    bad = instances.start(engine, "measurement_check", variables={**variables, "measuredMm": 12.3}).instance
    row = instance_row(engine, bad.id)
    assert (row.state, row.active_elements) == ("active", ["rework_part"])
    with engine.db.read() as session:
        kinds = [(e.kind, e.element_id, (e.data or {}).get("errorCode")) for e in history.of_instance(session, bad.id)]
    assert ("bpmn_error_caught", "check_measurement", "OUT_OF_TOLERANCE") in kinds
    assert ("element_completed", "check_measurement", None) not in kinds


def test_a_script_bpmn_error_nothing_catches_is_an_incident_that_can_be_retried(engine):
    deploy_models(engine, GAPS + "measurement_check.bpmn")
    instance = instances.start(engine, "measurement_check", variables={
        "gaugeFault": True, "measuredMm": 12.0, "nominalMm": 12.0, "toleranceMm": 0.05}).instance

    assert instance_row(engine, instance.id).state == "incident"
    with engine.db.read() as session:
        [incident] = session.scalars(jobs.open_incidents(instance.id))
    assert (incident.kind, incident.element_id) == ("uncaught_bpmn_error", "check_measurement")
    assert "GAUGE_FAULT" in incident.message

    jobs.retry_incident(engine, incident.id)  # the script runs again (and the gauge still reports a fault)
    with engine.db.read() as session:
        incidents = list(session.scalars(select(Incident).where(Incident.instance_id == instance.id)))
    assert [(i.kind, i.resolved_at is None) for i in incidents] == [("uncaught_bpmn_error", False),
                                                                     ("uncaught_bpmn_error", True)]
