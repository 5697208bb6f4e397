"""Models from other tools deploy unchanged: Camunda 7's invoice example (tests/models/camunda/invoice.v2.bpmn,
its DMN and reviewInvoice.bpmn, Apache 2.0, from camunda/camunda-bpm-platform examples/invoice)."""

from __future__ import annotations

from taktflow.engine.definitions.service import ModelFile, deploy
from tests.support import model

CAMUNDA = "camunda/"


def _deploy(engine, *files: ModelFile, profile: str | None = None):
    kwargs = {} if profile is None else {"profile": profile}
    return engine.command(lambda s: deploy(s, list(files), clock=engine.clock, serializer=engine.serializer, **kwargs))


def test_camunda_invoice_example_deploys_unchanged(engine):
    result = _deploy(engine, model(CAMUNDA + "invoiceBusinessDecisions.dmn"), model(CAMUNDA + "reviewInvoice.bpmn"),
                     model(CAMUNDA + "invoice.v2.bpmn"))
    keys = {d.key for d in result.definitions}
    assert {"invoice", "ReviewInvoice", "invoice-assign-approver", "invoiceClassification"} <= keys
    for w in result.warnings:
        print(w)
