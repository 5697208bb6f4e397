"""Execution semantics the betsy models do not reach: multi-instance with a negative loopCardinality and a
negative loop maximum (clear errors, never a silent hang), data objects, compensation event sub-processes,
signal end events inside sub-processes (models in tests/models/semantics/)."""

from __future__ import annotations

import pytest

from taktflow.engine import instances, jobs
from taktflow.engine.errors import InvalidModel
from tests.support import complete_user_task, deploy_models, instance_row, model


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


# --- data objects ---------------------------------------------------------------------------------------


def test_data_associations_carry_a_data_object_from_one_task_to_the_next(engine):
    deploy_models(engine, "semantics/data_objects.bpmn")
    row = instances.start(engine, "data_objects", variables={"qty": 4}).instance
    row = instance_row(engine, row.id)
    assert row.state == "completed"
    # The pricing task wrote the quote through its output association; the totalling task read it through
    # its input association.
    assert row.variables["amount"] == 50.0


# --- signal end events inside sub-processes ----------------------------------------------------------------


def test_a_signal_end_event_inside_a_subprocess_reaches_the_waiting_branch(engine):
    deploy_models(engine, "semantics/signal_end_in_subprocess.bpmn")
    row = instance_row(engine, instances.start(engine, "signal_end_in_subprocess").instance.id)
    assert sorted(row.active_elements) == ["inspect", "quality", "wait_release"]
    # Completing the inspection ends the sub-process with a signal end event: the signal leaves the
    # sub-process and releases the branch that waits for it in the parent.
    row = complete_user_task(engine, row.id, "inspect")
    row = instance_row(engine, row.id)
    assert row.state == "completed", (row.state, row.active_elements)
    assert row.variables["shipped"] is True
