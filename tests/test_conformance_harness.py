"""The betsy conformance harness, run on a small suite built from real betsy models.

The models are read from ../shared/conformance/betsy (or TAKTFLOW_BETSY_DIR) at test time (licence: they
may not be copied into the repository), so the module carries the `betsy` marker: `make test` runs it where
the suite is found. The harness makes its own SQLite database, so these tests do not use the `backend`
fixtures and run once, not per database.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from taktflow.cli import main
from taktflow.engine.conformance import map_expression, map_model, map_script, run_betsy

REPO = Path(__file__).resolve().parents[1]
BETSY = Path(os.environ.get("TAKTFLOW_BETSY_DIR", REPO.parent / "shared" / "conformance" / "betsy"))

MODELS = {
    "WCP01_Sequence": "cfpatterns/WCP01_Sequence.bpmn",
    "ExclusiveGateway_Default": "gateways/ExclusiveGateway_Default.bpmn",
    "Timer_IntermediateEvent": "events/Timer_IntermediateEvent.bpmn",
}
CONSTRAINT = "bpmn_constraints/EXT002/EXT002_1_Fail_duplicate_ID.bpmn"
SUMMARY_KEYS = {"cases", "passed", "invalid_models", "invalid_refused"}
pytestmark = pytest.mark.betsy


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BETSY.is_dir():
        pytest.fail(f"betsy suite not found at {BETSY}: the tests read it from ../shared/conformance (CI has it)")
    root = tmp_path_factory.mktemp("betsy")
    for relative in [*MODELS.values(), CONSTRAINT]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BETSY / relative, root / relative)
    cases = [
        {"group": "Pattern", "name": "WCP01_Sequence", "model": MODELS["WCP01_Sequence"], "cases": [
            {"test": None, "integerVariable": 0, "expected": ["SCRIPT_task1"], "extra": []},
            {"test": None, "integerVariable": 0, "expected": ["SCRIPT_task2"], "extra": []},  # wrong on purpose
        ]},
        {"group": "Gateway", "name": "ExclusiveGateway_Default", "model": MODELS["ExclusiveGateway_Default"],
         "cases": [
             {"test": "a", "integerVariable": 0, "expected": ["SCRIPT_task1", "SCRIPT_task4"], "extra": []},
             {"test": "c", "integerVariable": 0, "expected": ["SCRIPT_task3", "SCRIPT_task4"], "extra": []},
         ]},
        {"group": "Event", "name": "Timer_IntermediateEvent", "model": MODELS["Timer_IntermediateEvent"],
         "cases": [{"test": None, "integerVariable": 0, "expected": ["SCRIPT_task1"],
                    "extra": ["optionDelay(5000)"]}]},
        {"group": "Broken", "name": "Missing", "model": "nowhere/Missing.bpmn",
         "cases": [{"test": None, "integerVariable": 0, "expected": ["SCRIPT_task1"], "extra": []}]},
    ]
    (root / "cases.json").write_text(json.dumps(cases))
    return root


@pytest.fixture(scope="module")
def result(suite: Path):
    return run_betsy(suite)


def _case(result, name, index):
    return next(c for c in result.cases if c.name == name and c.index == index)


def test_known_good_sequence_passes(result):
    case = _case(result, "WCP01_Sequence", 0)
    assert case.passed, case.reason
    assert case.got == ["SCRIPT_task1"]
    assert [i.state for i in case.instances] == ["completed"]


def test_wrong_expectation_fails_with_what_was_logged(result):
    case = _case(result, "WCP01_Sequence", 1)
    assert not case.passed
    assert case.got == ["SCRIPT_task1"]
    assert "markers differ" in case.reason


def test_conditions_are_mapped_and_timers_fire_within_the_delay(result):
    assert _case(result, "ExclusiveGateway_Default", 0).passed
    assert _case(result, "ExclusiveGateway_Default", 1).passed
    timer = _case(result, "Timer_IntermediateEvent", 0)
    assert timer.passed, timer.reason


def test_a_model_the_harness_cannot_run_fails_its_cases_and_the_run_goes_on(result):
    broken = _case(result, "Missing", 0)
    assert not broken.passed and "harness error" in broken.reason
    assert result.summary()["cases"] == 6


def test_constraint_model_is_refused_and_counted(result):
    assert result.summary() == {"cases": 6, "passed": 4, "invalid_models": 1, "invalid_refused": 1}
    [constraint] = result.constraints
    assert constraint.rule == "EXT002" and constraint.refused and constraint.outcome == "refused"
    assert result.by_group()["Pattern"] == (1, 2)


def test_only_filters_models(suite):
    filtered = run_betsy(suite, only="wcp01")
    assert {c.name for c in filtered.cases} == {"WCP01_Sequence"}
    assert filtered.constraints == []


def test_cli_prints_the_summary_as_last_line_and_writes_json(suite, tmp_path, capsys):
    report = tmp_path / "betsy.json"
    assert main(["conformance", "betsy", str(suite), "--json", str(report)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == SUMMARY_KEYS and summary["cases"] == 6
    assert any(line.startswith("FAIL Pattern/WCP01_Sequence #1") for line in lines)
    full = json.loads(report.read_text())
    assert full["summary"] == summary and len(full["cases"]) == 6


def test_cli_exits_1_below_the_required_rates(suite, capsys):
    assert main(["conformance", "betsy", str(suite), "--only", "WCP01", "--min-pass-rate", "0.9"]) == 1
    assert main(["conformance", "betsy", str(suite), "--only", "EXT002", "--min-refused-rate", "1"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["invalid_refused"] == 1


def test_placeholders_and_conditions_map_to_python():
    assert map_script(" SCRIPT_task3 ") == "betsy_log('SCRIPT_task3')"
    assert map_script("CREATE_LOG_FILE") == "pass"
    assert map_script("INCREMENT_INTEGER_VARIABLE_AND_LOG") == 'integerVariable += 1\nbetsy_log("INCREMENT")'
    assert map_script("x = 1") == "x = 1"
    assert map_expression('test.contains("a")') == '("a" in test)'
    assert map_expression('!test.contains("a")') == 'not ("a" in test)'
    assert map_expression("a != b && true") == "a != b  and  True"
    assert map_model(b"<not xml") == b"<not xml"
