"""Deploying a model is not a way to run code on the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from taktflow.engine import instances
from taktflow.engine.definitions.service import ModelFile
from taktflow.engine.errors import InvalidModel
from tests.support import MODELS, deploy_models

PWNED = Path("/tmp/taktflow-pwned")


@pytest.mark.parametrize("name", ["evil_import.bpmn", "evil_open.bpmn", "evil_dunder.bpmn", "evil_random.bpmn",
                                  "evil_condition.bpmn"])
def test_malicious_model_is_refused_at_deploy_naming_element_and_rule(engine, name):
    PWNED.unlink(missing_ok=True)
    with pytest.raises(InvalidModel) as caught:
        deploy_models(engine, name)
    problems = caught.value.problems
    assert any(p.rule == "restricted-script" for p in problems), problems
    assert all(p.element in ("attack", "f2") for p in problems if p.rule == "restricted-script")
    assert not PWNED.exists()


def test_a_script_that_reaches_a_forbidden_name_at_run_time_fails_and_runs_nothing(engine):
    """Names the deploy check cannot see (built at run time) still find nothing to call."""
    PWNED.unlink(missing_ok=True)
    content = (MODELS / "script_flow.bpmn").read_bytes().replace(
        b"total = price * qty", b"total = price * qty\nf = {'o': 1}['o']\nx = dict(a=open)"
    )
    deploy_models(engine, ModelFile("script_flow.bpmn", content))
    started = instances.start(engine, "script_flow", variables={"price": 2, "qty": 3}).instance
    assert started.state == "incident"
    with engine.db.read() as session:
        from taktflow.engine.store.models import Incident

        incident = session.query(Incident).one()
    assert incident.kind == "script_error" and incident.element_id == "compute"
    assert "open" in incident.message
    assert not PWNED.exists()


def test_restricted_evaluator_refuses_attribute_walks_to_subclasses():
    from taktflow.engine.errors import ScriptError
    from taktflow.engine.scripting import RestrictedEnvironment

    env = RestrictedEnvironment()
    for attack in ["().__class__.__base__.__subclasses__()", "__import__('os')", "getattr(1, '__class__')",
                   "datetime.now().__class__"]:
        with pytest.raises((ScriptError, NameError)):
            env.evaluate(attack, {})
    assert env.evaluate("sum(x) * 2", {"x": [1, 2]}) == 6
