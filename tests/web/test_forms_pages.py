"""Task forms on the page: a required yes/no is two radios nobody pre-chose, and a No asks for its reason."""

from __future__ import annotations

import re

from taktflow.engine import instances
from tests.support import deploy_models, instance_row, open_user_tasks


def _decision_task(engine) -> tuple[str, str]:
    deploy_models(engine, "yes_no_decision.bpmn")
    instance_id = instances.start(engine, "yes_no_decision", business_key="SO-9").instance.id
    [task] = open_user_tasks(engine, instance_id)
    return instance_id, task.id


def _checked(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" value="(\w+)"[^>]*\bchecked\b', html)


def test_a_required_yes_no_is_two_radios_none_chosen_unless_the_model_has_a_default(pages, engine):
    _, task_id = _decision_task(engine)
    form = pages.login("sally").get(f"/tasks/{task_id}").text
    assert re.findall(r'name="creditApproved" value="(\w+)"', form) == ["true", "false"]
    assert 'type="hidden" name="creditApproved"' not in form  # no hidden "false" behind the choice
    assert _checked(form, "creditApproved") == []
    assert _checked(form, "qualityOk") == ["true"]  # defaultValue="true"
    assert 'name="creditApprovedReason"' in form and ">Reason <" in form  # the engine's reason box
    assert 'name="qualityOkReason"' in form and ">What is wrong <" in form  # the form's own reason field
    assert form.count('name="qualityOkReason"') == 1  # shown once, with its decision
    assert 'type="checkbox" id="field-expedite"' in form  # an optional yes/no stays a checkbox


def test_no_choice_and_a_no_without_reason_are_form_errors_and_keep_what_was_typed(pages, engine):
    instance_id, task_id = _decision_task(engine)
    sally = pages.login("sally")
    r = sally.post(f"/tasks/{task_id}/complete", data={"csrf_token": sally.csrf, "qualityOk": "true",
                                                       "expedite": "true"})
    assert r.status_code == 422
    assert 'id="err-creditApproved">Release the order? is required: choose yes or no<' in r.text
    assert _checked(r.text, "creditApproved") == [] and _checked(r.text, "qualityOk") == ["true"]
    assert re.search(r'id="field-expedite"[^>]*checked', r.text)

    r = sally.post(f"/tasks/{task_id}/complete", data={"csrf_token": sally.csrf, "creditApproved": "false",
                                                       "creditApprovedReason": "  ", "qualityOk": "true"})
    assert r.status_code == 422
    assert 'id="err-creditApprovedReason">Reason is required for a No: give a reason for the rejection<' in r.text
    assert _checked(r.text, "creditApproved") == ["false"]  # the No stays chosen, its box open
    assert [t.id for t in open_user_tasks(engine, instance_id)] == [task_id]
    assert instance_row(engine, instance_id).variables == {}

    r = sally.post(f"/tasks/{task_id}/complete", data={
        "csrf_token": sally.csrf, "creditApproved": "false", "creditApprovedReason": "two invoices overdue",
        "qualityOk": "true", "qualityOkReason": "typed, then Yes chosen again"})
    assert r.status_code == 303 and r.headers["location"].startswith("/inbox?done=Decide")
    variables = instance_row(engine, instance_id).variables
    assert variables["creditApproved"] is False and variables["creditApprovedReason"] == "two invoices overdue"
    assert variables["qualityOk"] is True and "qualityOkReason" not in variables  # a reason goes with a No only
