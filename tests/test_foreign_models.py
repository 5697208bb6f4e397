"""Models from other tools deploy unchanged.

- Camunda 7's invoice example (tests/models/camunda/invoice.v2.bpmn, invoiceBusinessDecisions.dmn and
  reviewInvoice.bpmn, Apache 2.0, from camunda/camunda-bpm-platform examples/invoice): its data store is
  documentation, its DMN decides the approver group, its user tasks complete.
- A bpmn.io / Camunda 8 / Flowable style plain model with a message event and no operationRef deploys under
  the `standard` profile with an EXT128 warning and is refused under `strict`.
"""

from __future__ import annotations

import pytest

from taktflow.engine import events, instances, jobs
from taktflow.engine.definitions.service import ModelFile, deploy
from taktflow.engine.errors import InvalidModel
from tests.support import complete_user_task, instance_row, model, open_user_tasks

INVOICE = [model("camunda/invoiceBusinessDecisions.dmn"), model("camunda/reviewInvoice.bpmn"),
           model("camunda/invoice.v2.bpmn")]
PLAIN = model("foreign/bpmnio_order_message.bpmn")


def _deploy(engine, files: list[ModelFile], **kwargs):
    return engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer, **kwargs))


def test_camunda_invoice_example_deploys_unchanged_with_its_data_store(engine):
    result = _deploy(engine, INVOICE)
    assert {"invoice", "ReviewInvoice", "invoice-assign-approver", "invoiceClassification"} <= {
        d.key for d in result.definitions}
    rules = {(w.element, w.rule) for w in result.warnings}
    # What Taktflow does not run is reported, never silently dropped: the JavaScript task listeners and the
    # CMMN case the clarification calls.
    assert ("approveInvoice", "listener-not-executed") in rules
    assert ("invoiceClarification", "camunda-case-call") in rules
    assert all(w.severity == "warning" for w in result.warnings)


@pytest.mark.parametrize(("amount", "category", "groups"), [
    (30.0, "Misc", ["accounting", "sales"]),  # day-to-day expense: COLLECT hits two rules
    (900.0, "Misc", ["management"]),  # budget
    (10.0, "Software License Costs", ["management"]),
])
def test_camunda_invoice_runs_dmn_decides_the_approver_group(engine, registry, amount, category, groups):
    archived = []
    # The Java delegate the model names, implemented as a Taktflow handler under the same name.
    registry.register("org.camunda.bpm.example.invoice.service.ArchiveInvoiceService",
                      lambda ctx: archived.append(ctx.variables["invoiceNumber"]))
    _deploy(engine, INVOICE)
    started = instances.start(engine, "invoice", business_key="INV-1", variables={
        "creditor": "Great Pizza for Everyone Inc.", "amount": amount, "invoiceCategory": category,
        "invoiceNumber": "GPFE-23232323", "invoiceDocument": None}).instance
    [approve] = open_user_tasks(engine, started.id)
    assert approve.element_id == "approveInvoice"
    assert sorted(approve.candidate_groups) == sorted(groups)
    assert instance_row(engine, started.id).variables["approverGroups"] == groups

    complete_user_task(engine, started.id, "approveInvoice", {"approved": True})
    [transfer] = open_user_tasks(engine, started.id)
    assert transfer.element_id == "prepareBankTransfer"
    assert transfer.candidate_groups == ["accounting"]
    complete_user_task(engine, started.id, "prepareBankTransfer", {})
    # camunda:async="true": the archive runs as a job, after the transfer's command committed.
    assert instance_row(engine, started.id).active_elements == ["archiveInvoice"] and archived == []
    assert jobs.run_due_jobs(engine, "worker-1") == 1
    assert archived == ["GPFE-23232323"]
    assert instance_row(engine, started.id).state == "completed"


def test_camunda_invoice_clarification_waits_as_an_external_task_for_its_cmmn_case(engine):
    _deploy(engine, INVOICE)
    started = instances.start(engine, "invoice", variables={
        "amount": 30.0, "invoiceCategory": "Misc", "invoiceNumber": "X-1", "creditor": "ACME"}).instance
    complete_user_task(engine, started.id, "approveInvoice", {"approved": False})
    assert instance_row(engine, started.id).active_elements == ["invoiceClarification"]
    # Taktflow runs no CMMN: a worker subscribed to the case's topic does the clarification.
    topic = {"name": "cmmn-case:InvoiceClarificationCase", "lockDuration": 60000}
    [locked] = jobs.fetch_and_lock(engine, "case-worker", [topic])
    jobs.complete_external(engine, locked.task.id, "case-worker", {"clarified": True})
    [again] = open_user_tasks(engine, started.id)
    assert again.element_id == "approveInvoice"


def test_review_invoice_runs_and_assigns_the_reviewer(engine):
    _deploy(engine, INVOICE)
    started = instances.start(engine, "ReviewInvoice", variables={"amount": 10.0}).instance
    [assign] = open_user_tasks(engine, started.id)
    assert (assign.element_id, assign.assignee) == ("assignReviewer", "demo")
    complete_user_task(engine, started.id, "assignReviewer", {"reviewer": "mary"})
    [review] = open_user_tasks(engine, started.id)
    assert (review.element_id, review.assignee) == ("reviewInvoice", "mary")
    complete_user_task(engine, started.id, "reviewInvoice", {"clarified": True})
    assert instance_row(engine, started.id).state == "completed"


def test_plain_message_model_deploys_under_standard_with_a_warning_and_runs(engine):
    result = _deploy(engine, [PLAIN])
    [warning] = [w for w in result.warnings if w.rule == "EXT128"]
    assert warning.element == "wait_payment" and warning.severity == "warning"
    assert "operationRef" in warning.message and "strict" in warning.message

    started = instances.start(engine, "bpmnio_order", business_key="SO-1").instance
    events.correlate_message(engine, "payment_received", business_key="SO-1")
    assert instance_row(engine, started.id).state == "completed"


def test_plain_message_model_is_refused_under_strict(engine):
    with pytest.raises(InvalidModel) as refused:
        _deploy(engine, [PLAIN], profile="strict")
    assert [(p.element, p.rule) for p in refused.value.problems] == [("wait_payment", "EXT128")]


def test_unknown_profile_is_refused(engine):
    with pytest.raises(InvalidModel, match="unknown validation profile 'lenient'"):
        _deploy(engine, [PLAIN], profile="lenient")
