"""Execution semantics the betsy models do not reach: multi-instance with a negative loopCardinality and a
negative loop maximum (clear errors, never a silent hang), data objects, compensation event sub-processes,
signal end events inside sub-processes (models in tests/models/semantics/)."""

from __future__ import annotations

import pytest

from taktflow.engine import instances, jobs
from taktflow.engine.errors import InvalidModel
from tests.support import deploy_models, instance_row, model


def _incidents(engine, instance_id):
    with engine.db.read() as session:
        return list(session.scalars(jobs.open_incidents(instance_id)))


# --- multi-instance cardinality and loop maximum -----------------------------------------------------------


@pytest.mark.parametrize("samples", [0, 3])
def test_multi_instance_runs_loop_cardinality_instances(engine, samples):
    deploy_models(engine, "semantics/mi_cardinality.bpmn")
    row = instances.start(engine, "mi_cardinality", variables={"samples": samples}).instance
    assert instance_row(engine, row.id).state == "completed"
    assert _incidents(engine, row.id) == []


@pytest.mark.parametrize(("samples", "shown"), [(-1, "-1"), ("3", "'3'"), (2.5, "2.5")])
def test_a_negative_or_non_integer_loop_cardinality_is_an_incident_naming_the_activity(engine, samples, shown):
    deploy_models(engine, "semantics/mi_cardinality.bpmn")
    row = instances.start(engine, "mi_cardinality", variables={"samples": samples}).instance
    assert instance_row(engine, row.id).state == "incident"
    [incident] = _incidents(engine, row.id)
    assert incident.element_id == "inspect"
    assert f"is {shown}; the number of instances must be a whole number, zero or more" in incident.message


def _with(path: str, old: bytes, new: bytes):
    original = model(path)
    return type(original)(original.name, original.content.replace(old, new, 1))


def test_a_negative_constant_loop_cardinality_is_refused_at_deploy(engine):
    changed = _with("semantics/mi_cardinality.bpmn", b">samples</loopCardinality>", b">-2</loopCardinality>")
    with pytest.raises(InvalidModel) as refused:
        deploy_models(engine, changed)
    assert [(p.element, p.rule) for p in refused.value.problems] == [("inspect", "loop-cardinality")]


def test_a_negative_loop_maximum_is_refused_at_deploy(engine):
    with pytest.raises(InvalidModel) as refused:
        deploy_models(engine, "semantics/loop_maximum.bpmn")
    [problem] = refused.value.problems
    assert (problem.element, problem.rule) == ("measure", "loop-maximum")
    assert "'-1' must be a whole number of iterations, zero or more" in problem.message


def test_a_loop_maximum_bounds_the_iterations(engine):
    bounded = _with("semantics/loop_maximum.bpmn", b'loopMaximum="-1"', b'loopMaximum="3"')
    bounded = type(bounded)(bounded.name, bounded.content.replace(b">False</loopCondition>",
                                                                  b">True</loopCondition>"))
    deploy_models(engine, bounded)
    row = instances.start(engine, "loop_maximum").instance
    assert instance_row(engine, row.id).state == "completed"
