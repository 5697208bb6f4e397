"""Camunda 7 models run unchanged: JUEL conditions and task attributes, form data, listeners, foreign scripts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from taktflow.engine import instances, jobs, tasks
from taktflow.engine.definitions.juel import JuelError, to_python
from taktflow.engine.definitions.service import ModelFile, deploy
from taktflow.engine.errors import InvalidModel, InvalidVariables
from taktflow.engine.scripting import RestrictedEnvironment
from taktflow.engine.store.models import UserTask
from tests.support import MODELS


def juel(text: str, **variables):
    return RestrictedEnvironment().evaluate(to_python(text), dict(variables))


@pytest.mark.parametrize(("text", "variables", "expected"), [
    ("${amount > 1000 && !approved}", {"amount": 1500, "approved": False}, True),
    ("${amount gt 1000 and not approved}", {"amount": 900, "approved": False}, False),
    ("${empty comment}", {"comment": ""}, True),
    ("${not empty items}", {"items": [1]}, True),
    ("${order.total ge 500 || order.express}", {"order": {"total": 100, "express": True}}, True),
    ("${order.missing == null}", {"order": {}}, True),
    ("${lines[1].qty * 2}", {"lines": [{"qty": 1}, {"qty": 4}]}, 8),
    ("${urgent ? 90 : 40}", {"urgent": False}, 40),
    ("${a eq 'x' || b ne \"y\"}", {"a": "x", "b": "y"}, True),
    ("${count mod 3 == 1}", {"count": 7}, True),
    ("#{execution.getVariable('region')}", {"region": "EU"}, "EU"),
    ("${execution.getVariable(\"order_total\") > 10}", {"order_total": 11}, True),
    ("Order ${orderId} for ${customer}", {"orderId": 42, "customer": "ACME"}, "Order 42 for ACME"),
])
def test_juel_expressions(text, variables, expected):
    assert juel(text, **variables) == expected


@pytest.mark.parametrize("text", ["${bean.approve(execution)}", "${x.__class__}", "${ a && }", "${__import__}"])
def test_juel_that_cannot_run_safely_is_refused(text):
    with pytest.raises(JuelError):
        to_python(text)


@pytest.mark.parametrize("text", [
    # A crafted literal once became Python source: `x) or (__import__('os')...` ran as code.
    """${execution.getVariable("x) or (__import__('os').system('id')")}""",
    """${execution.getVariable("a + b")}""",
    """${execution.getVariable("__builtins__")}""",
    """${execution.getVariable("import")}""",
    """${execution.getVariable(12345)}""",
    """${execution.getVariable(amount)}""",
])
def test_get_variable_takes_only_a_quoted_variable_name(text):
    with pytest.raises(JuelError, match="getVariable needs a quoted variable name"):
        to_python(text)


def _deploy(engine, *files: ModelFile):
    return engine.command(lambda s: deploy(s, list(files), clock=engine.clock, serializer=engine.serializer))


def _model(name: str, replace: tuple[str, str] | None = None) -> ModelFile:
    text = (MODELS / "camunda" / name).read_text()
    if replace:
        text = text.replace(*replace)
    return ModelFile(name, text.encode())


def test_a_camunda_modeler_model_runs_unchanged(engine):
    result = _deploy(engine, _model("credit_review.bpmn"))
    # The listener is kept in the model but not executed; the deploy says so.
    assert [(w.element, w.rule) for w in result.warnings if w.rule == "listener-not-executed"] == [
        ("score_customer", "listener-not-executed")]
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    started = instances.start(engine, "credit_review", business_key="SO-77", variables={
        "customerId": "C-1", "region": "emea", "amount": 25000, "reviewDue": due.isoformat()})
    [locked] = jobs.fetch_and_lock(engine, "scorer", [{"name": "credit.score", "lockDuration": 60_000}])
    instance = jobs.complete_external(engine, locked.task.id, "scorer", {"score": 640})
    assert instance.active_elements == ["review_credit"]
    with engine.db.read() as session:
        task = session.scalar(select(UserTask).where(UserTask.instance_id == started.instance.id))
        groups = sorted(c.value for c in task.candidates if c.kind == "group")
        assert groups == ["credit_control", "emea-credit"]
        assert task.priority == 90
        assert task.due_at.replace(tzinfo=UTC) == due
        assert task.form["formKey"] == "taktflow:credit-review"
        task_id = task.id
    with pytest.raises(InvalidVariables) as refused:
        tasks.complete(engine, task_id, {"approved": True, "limit": 250000}, user="carla")
    assert [e.field for e in refused.value.errors] == ["limit"]
    done = tasks.complete(engine, task_id, {"approved": False, "approvedReason": "score too low", "limit": 0},
                          user="carla")
    assert done.state == "completed"
    assert done.active_elements == []
    assert done.variables["approved"] is False


def test_a_good_score_takes_the_juel_condition(engine):
    _deploy(engine, _model("credit_review.bpmn"))
    started = instances.start(engine, "credit_review", variables={
        "customerId": "C-2", "region": "emea", "amount": 100, "reviewDue": "2026-12-01T09:00:00Z"})
    [locked] = jobs.fetch_and_lock(engine, "scorer", [{"name": "credit.score", "lockDuration": 60_000}])
    assert jobs.complete_external(engine, locked.task.id, "scorer", {"score": 720}).state == "completed"
    assert started.instance.id


def test_javascript_script_tasks_are_refused_at_deploy(engine):
    script_task = ('<bpmn:scriptTask id="calc" name="Calc" scriptFormat="javascript">'
                   '<bpmn:incoming>Flow_to_score</bpmn:incoming><bpmn:outgoing>Flow_to_gateway</bpmn:outgoing>'
                   '<bpmn:script>execution.setVariable("x", 1);</bpmn:script></bpmn:scriptTask>')
    text = (MODELS / "camunda" / "credit_review.bpmn").read_text()
    start = text.index('<bpmn:serviceTask id="score_customer"')
    end = text.index("</bpmn:serviceTask>") + len("</bpmn:serviceTask>")
    text = text[:start] + script_task + text[end:]
    text = text.replace('targetRef="score_customer"', 'targetRef="calc"').replace(
        'sourceRef="score_customer"', 'sourceRef="calc"').replace('bpmnElement="score_customer"', 'bpmnElement="calc"')
    with pytest.raises(InvalidModel) as refused:
        _deploy(engine, ModelFile("credit_review.bpmn", text.encode()))
    assert ("calc", "unsupported-script-format") in {(p.element, p.rule) for p in refused.value.problems}


def test_a_broken_juel_condition_names_the_flow(engine):
    with pytest.raises(InvalidModel) as refused:
        _deploy(engine, _model("credit_review.bpmn", ("${approved}", "${approved or}")))
    assert ("Flow_approved", "juel-expression") in {(p.element, p.rule) for p in refused.value.problems}
