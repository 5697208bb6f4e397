"""Deploy-time validation: the BPMN specification's rules (EXT/REF) and the bpmnlint-style linter.

The invalid models come from betsy's bpmn_constraints suite and the valid ones from betsy's execution
suite, both read from ../shared/conformance/betsy at test time (licence: they may not be copied here).
The lint models in tests/models/lint are our own, drawn with diagram interchange as in Camunda Modeler.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from taktflow.engine.clock import FakeClock
from taktflow.engine.conformance import map_model
from taktflow.engine.core import Engine
from taktflow.engine.definitions import constraints, lint, validation
from taktflow.engine.definitions.parser import normalize
from taktflow.engine.definitions.service import DeploymentResult, ModelFile, deploy
from taktflow.engine.definitions.xml import parse_model_xml
from taktflow.engine.errors import InvalidModel, ModelProblem
from taktflow.engine.handlers import HandlerRegistry
from tests.conftest import clean
from tests.support import MODELS
from tests.test_api import api  # noqa: F401 - the API client fixture

REPO = Path(__file__).resolve().parent.parent
BETSY = Path(os.environ.get("TAKTFLOW_BETSY_DIR", REPO.parent / "shared" / "conformance" / "betsy"))
LINT_MODELS = MODELS / "lint"
OUR_RULES = {rule for rule, _ in constraints.CONSTRAINTS} | {name for name, _, _ in lint.LINT_RULES}

# Invalid models Taktflow deploys on purpose, each for a dialect it must keep accepting (see constraints.py).
ACCEPTED_DIALECT: dict[str, str] = {}


def _constraint_models() -> list:
    root = BETSY / "bpmn_constraints"
    if not root.is_dir():
        return [pytest.param(None, None, id="betsy-suite-missing", marks=pytest.mark.betsy)]
    params = []
    for path in sorted(root.glob("*/*.bpmn")):
        key = f"{path.parent.name}/{path.name}"
        marks = [pytest.mark.betsy]
        if key in ACCEPTED_DIALECT:
            marks.append(pytest.mark.xfail(reason=ACCEPTED_DIALECT[key], strict=True))
        params.append(pytest.param(path.parent.name, path, id=key, marks=marks))
    return params


def _valid_models() -> list:
    params = []
    if (BETSY / "cases.json").is_file():
        for entry in json.loads((BETSY / "cases.json").read_text(encoding="utf-8")):
            expected = {m for case in entry["cases"] for m in case["expected"]}
            if expected and expected <= {"ERROR_GENERIC", "ERROR_DEPLOYMENT"}:
                continue  # the model is meant to fail at deploy
            params.append(pytest.param(BETSY / entry["model"], id=f"betsy/{entry['model']}", marks=pytest.mark.betsy))
    else:
        params.append(pytest.param(None, id="betsy-suite-missing", marks=pytest.mark.betsy))
    for pattern in ("tests/models/*.bpmn", "processes/*.bpmn"):
        params += [pytest.param(p, id=str(p.relative_to(REPO))) for p in sorted(REPO.glob(pattern))]
    return params


def _require_suite(path: Path | None) -> None:
    if path is None:
        pytest.fail(f"betsy suite not found at {BETSY}: the tests read it from ../shared/conformance (CI has it)")


@pytest.fixture(scope="module")
def deployer(database) -> Engine:
    """One engine per backend for the whole module: refused deploys write nothing to clean up."""
    clean(database)
    return Engine(database, registry=HandlerRegistry(), clock=FakeClock())


def _deploy(engine: Engine, name: str, content: bytes, profile: str = "standard") -> DeploymentResult:
    files = [ModelFile(name, content)]
    return engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer,
                                           profile=profile))


def _problems(name: str, content: bytes, profile: str = "strict") -> list[ModelProblem]:
    root, errors = parse_model_xml(content, name)
    assert root is not None, errors
    normalize(root)
    return validation.check(root, name, "bpmn", profile)


# --- (a) every invalid model is refused, naming the rule and the element ---------------------------------


@pytest.mark.parametrize(("rule", "path"), _constraint_models())
def test_invalid_model_is_refused_naming_the_rule_and_element(deployer, rule, path):
    """Under the strict profile (the conformance runner's) every breach of the specification refuses."""
    _require_suite(path)
    with pytest.raises(InvalidModel) as caught:
        _deploy(deployer, path.name, map_model(path.read_bytes()), profile="strict")
    named = [p for p in caught.value.problems if rule in p.rule]
    assert named, f"refused, but no problem names {rule}: {caught.value}"
    assert any(p.element for p in named), named
    assert all(p.file == path.name for p in named)


# --- (b) valid models break no rule ------------------------------------------------------------------------


@pytest.mark.parametrize("path", _valid_models())
def test_valid_model_breaks_no_specification_or_lint_rule(deployer, path):
    _require_suite(path)
    content = map_model(path.read_bytes()) if BETSY in path.parents else path.read_bytes()
    try:
        problems = _deploy(deployer, path.name, content).warnings
    except InvalidModel as exc:  # refused for an engine reason (a missing decision, a reserved id, ...)
        problems = exc.problems
    ours = [p for p in problems if p.severity == "error" and p.rule in OUR_RULES]
    assert not ours, ours


def test_constraint_rules_document_their_text_and_ids_are_unique():
    rules = [rule for rule, _ in constraints.CONSTRAINTS]
    assert len(rules) == len(set(rules))
    assert all((function.__doc__ or "").strip() for _, function in constraints.CONSTRAINTS)


def test_a_camunda_form_field_id_is_no_bpmn_id_and_may_repeat_an_element_id():
    model = (LINT_MODELS / "lint_label_required.bpmn").read_bytes().replace(
        b'<bpmn:manualTask id="unnamed_task">',
        b'<bpmn:userTask id="unnamed_task"><bpmn:extensionElements><camunda:formData '
        b'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"><camunda:formField id="unnamed_task" type="string"/>'
        b"</camunda:formData></bpmn:extensionElements>",
    ).replace(b"</bpmn:manualTask>", b"</bpmn:userTask>")
    assert [p.rule for p in _problems("form.bpmn", model) if p.rule == "EXT002"] == []


@pytest.mark.betsy
def test_timer_values_must_be_iso_8601_unless_they_are_expressions():
    model = (BETSY / "bpmn_constraints" / "EXT132" / "EXT132_1_fail_invalid_timeDate.bpmn")
    _require_suite(model if model.is_file() else None)
    content = model.read_bytes()
    wrong = content.replace(b">INVALID<", b">'2026-13-45 never'<")
    assert ("_3_ED_1", "EXT132") in [(p.element, p.rule) for p in _problems("t.bpmn", wrong)]
    # A timer reading a variable says so (${...} or a Python expression); a bare word is a malformed literal.
    for good in (b">'2026-02-01T08:00:00Z'<", b">${dueDate}<", b">str(dueDate)<"):
        found = [p.rule for p in _problems("t.bpmn", content.replace(b">INVALID<", good)) if p.severity == "error"]
        assert "EXT132" not in found, good


# --- (c) the linter: findings name element and rule, warnings do not block ---------------------------------

WARNINGS = [
    ("lint_implicit_split.bpmn", "pack", "no-implicit-split"),
    ("lint_fake_join.bpmn", "pack", "fake-join"),
    ("lint_label_required.bpmn", "unnamed_task", "label-required"),
    ("lint_gateway_join_fork.bpmn", "join_fork", "no-gateway-join-fork"),
    ("lint_conditional_flows_activity.bpmn", "f_ship", "conditional-flows"),
]
ERRORS = [
    ("lint_conditional_flows_gateway.bpmn", "f_other", "conditional-flows"),
    ("lint_single_blank_start_event.bpmn", "start_again", "single-blank-start-event"),
    ("lint_duplicate_sequence_flows.bpmn", "f2_again", "no-duplicate-sequence-flows"),
]
# Models the specification (or today's engine) refuses anyway: their lint findings are checked by validation.
FINDINGS = [
    ("lint_superfluous_gateway.bpmn", "pass_through", "superfluous-gateway", "warning"),
    ("lint_superfluous_gateway.bpmn", "pass_through", "EXT135", "error"),
    ("lint_disconnected.bpmn", "forgotten", "no-disconnected", "warning"),
    ("lint_disconnected.bpmn", "forgotten", "EXT150", "error"),
    ("lint_complex_gateway.bpmn", "split", "no-complex-gateway", "warning"),
    ("lint_start_end_required.bpmn", "lint_start_end_required", "start-event-required", "warning"),
    ("lint_start_end_required.bpmn", "lint_start_end_required", "end-event-required", "warning"),
]


@pytest.mark.parametrize(("name", "element", "rule"), WARNINGS)
def test_lint_warning_is_returned_with_the_deployment(deployer, name, element, rule):
    result = _deploy(deployer, name, (LINT_MODELS / name).read_bytes())
    assert [d.key for d in result.definitions] == [name.removesuffix(".bpmn")]
    assert (element, rule, "warning") in [(w.element, w.rule, w.severity) for w in result.warnings]


@pytest.mark.parametrize(("name", "element", "rule"), ERRORS)
def test_lint_error_blocks_the_deploy(deployer, name, element, rule):
    with pytest.raises(InvalidModel) as caught:
        _deploy(deployer, name, (LINT_MODELS / name).read_bytes())
    assert (element, rule) in [(p.element, p.rule) for p in caught.value.problems]


@pytest.mark.parametrize(("name", "element", "rule", "severity"), FINDINGS)
def test_lint_finding_names_element_and_rule(name, element, rule, severity):
    found = [(p.element, p.rule, p.severity) for p in _problems(name, (LINT_MODELS / name).read_bytes())]
    assert (element, rule, severity) in found


def test_lint_models_carry_diagram_interchange():
    for path in LINT_MODELS.glob("*.bpmn"):
        root, _ = parse_model_xml(path.read_bytes(), path.name)
        shapes = {n.get("bpmnElement") for n in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}*")}
        nodes = {n.get("id") for n in root.iter(f"{constraints.B}*")
                 if constraints.local(n) in constraints.FLOW_NODES | {"sequenceFlow"}}
        assert nodes <= shapes, (path.name, nodes - shapes)


def test_api_returns_lint_warnings_with_the_deployment(api):  # noqa: F811 - the imported fixture
    files = [("files", ("lint_label_required.bpmn", (LINT_MODELS / "lint_label_required.bpmn").read_bytes(),
                        "application/xml"))]
    response = api.post("/api/v1/deployments", files=files, headers=api.tokens["admin"])
    assert response.status_code == 201, response.text
    warnings = [(w["element"], w["rule"], w["severity"]) for w in response.json()["warnings"]]
    assert ("unnamed_task", "label-required", "warning") in warnings


def test_api_refuses_a_spec_violation_with_422_naming_rule_and_element(api):  # noqa: F811
    files = [("files", ("lint_superfluous_gateway.bpmn",
                        (LINT_MODELS / "lint_superfluous_gateway.bpmn").read_bytes(), "application/xml"))]
    response = api.post("/api/v1/deployments", files=files, headers=api.tokens["admin"])
    assert response.status_code == 422
    assert "pass_through" in response.text and "EXT135" in response.text


@pytest.mark.betsy
def test_a_camunda_model_without_operation_ref_deploys_with_a_warning():
    """EXT128: plain BPMN must name the WSDL operation; the Camunda dialect correlates messages by name."""
    model = BETSY / "bpmn_constraints" / "EXT128" / "EXT128_1_failure_boundary.bpmn"
    _require_suite(model if model.is_file() else None)
    camunda_ns = b'<definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    camunda = model.read_bytes().replace(b"<definitions ", camunda_ns, 1)
    found = [(p.rule, p.severity) for p in _problems("t.bpmn", camunda) if p.rule == "EXT128"]
    assert found == [("EXT128", "warning")]
    assert ("EXT128", "error") in [(p.rule, p.severity) for p in _problems("t.bpmn", model.read_bytes())]
    # bpmn.io, Camunda 8 and Flowable write plain BPMN without operations: the standard profile warns.
    standard = [(p.rule, p.severity) for p in _problems("t.bpmn", model.read_bytes(), "standard")
                if p.rule == "EXT128"]
    assert standard == [("EXT128", "warning")]


@pytest.mark.parametrize(("rule", "path"), [c for c in _constraint_models()
                                            if c.values[0] in constraints.STANDARD_WARNINGS and not c.marks[1:]])
def test_standard_profile_reports_rules_that_do_not_change_execution_as_warnings(rule, path):
    _require_suite(path)
    strict = [p for p in _problems(path.name, map_model(path.read_bytes())) if p.rule == rule]
    standard = [p for p in _problems(path.name, map_model(path.read_bytes()), "standard") if p.rule == rule]
    assert strict and all(p.severity == "error" for p in strict)
    assert [(p.element, p.severity) for p in standard] == [(p.element, "warning") for p in strict]
    assert all("strict profile refuses it" in p.message for p in standard)


def test_standard_warnings_name_registered_rules_only():
    assert constraints.STANDARD_WARNINGS <= {rule for rule, _ in constraints.CONSTRAINTS}
