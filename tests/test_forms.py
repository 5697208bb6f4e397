"""Task forms: a required yes/no must be answered (never a silent false), and a No needs its reason."""

from __future__ import annotations

import pytest

from taktflow.engine import instances, tasks
from taktflow.engine.errors import InvalidVariables
from tests.support import deploy_models, instance_row, open_user_tasks


@pytest.fixture
def decision(engine):
    """An open "decide" task (creditApproved with the engine's reason field, qualityOk with its own)."""
    deploy_models(engine, "yes_no_decision.bpmn")
    started = instances.start(engine, "yes_no_decision", business_key="SO-1", variables={"customer": "ACME"})
    [task] = open_user_tasks(engine, started.instance.id)
    return task


def _refused(engine, task, variables) -> set[tuple[str, str]]:
    with pytest.raises(InvalidVariables) as caught:
        tasks.complete(engine, task.id, variables)
    return {(e.field, e.message) for e in caught.value.errors}


def _untouched(engine, task) -> None:
    assert [t.id for t in open_user_tasks(engine, task.instance_id)] == [task.id]
    assert instance_row(engine, task.instance_id).variables == {"customer": "ACME"}


def test_a_missing_required_yes_no_is_refused_by_name_never_taken_as_no(engine, decision):
    # Not given, given empty, or null: each is "no answer", not false. The model's default does not answer
    # for the person either.
    for missing in ({}, {"creditApproved": ""}, {"creditApproved": None}):
        assert _refused(engine, decision, missing) == {
            ("creditApproved", "is required: choose yes or no"), ("qualityOk", "is required: choose yes or no")}
    _untouched(engine, decision)


def test_a_no_without_a_reason_is_refused(engine, decision):
    assert _refused(engine, decision, {"creditApproved": False, "qualityOk": "false"}) == {
        ("creditApprovedReason", "is required for a No: give a reason for the rejection"),
        ("qualityOkReason", "is required for a No: give a reason for the rejection")}
    assert _refused(engine, decision, {"creditApproved": "no", "creditApprovedReason": "   ", "qualityOk": True}) == {
        ("creditApprovedReason", "is required for a No: give a reason for the rejection")}
    # The form's own reason field keeps its constraints; a reason must be text.
    assert _refused(engine, decision, {"creditApproved": False, "creditApprovedReason": 7, "qualityOk": False,
                                       "qualityOkReason": "scratches on every single part"}) == {
        ("creditApprovedReason", "must be text"), ("qualityOkReason", "must be at most 20 characters")}
    _untouched(engine, decision)


def test_a_no_with_its_reason_completes_and_keeps_the_reason(engine, decision):
    done = tasks.complete(engine, decision.id, {"creditApproved": False, "creditApprovedReason": "two invoices overdue",
                                                "qualityOk": "false", "qualityOkReason": "scratched"})
    assert done.state == "completed"
    names = ("creditApproved", "creditApprovedReason", "qualityOk", "qualityOkReason")
    assert {k: done.variables[k] for k in names} == {
        "creditApproved": False, "creditApprovedReason": "two invoices overdue", "qualityOk": False,
        "qualityOkReason": "scratched"}


def test_a_yes_needs_no_reason_and_an_optional_yes_no_may_stay_unticked(engine, decision):
    done = tasks.complete(engine, decision.id, {"creditApproved": True, "qualityOk": "true", "expedite": ""})
    assert done.state == "completed"
    assert done.variables["creditApproved"] is True and done.variables["qualityOk"] is True
    assert "creditApprovedReason" not in done.variables
    assert "expedite" not in done.variables  # left empty: not given, neither "" nor a guessed false


def test_the_reason_counts_as_declared_only_beside_its_yes_no(engine, decision):
    # `<field>Reason` is declared with its decision; other names stay refused (issue 14.3).
    assert _refused(engine, decision, {"creditApproved": True, "qualityOk": True, "expediteReason": "x",
                                       "approvedReason": "x"}) == {
        ("expediteReason", "is not a variable this task's form declares"),
        ("approvedReason", "is not a variable this task's form declares")}
    _untouched(engine, decision)
