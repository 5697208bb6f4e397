"""DMN 1.3: decision requirements graphs, every hit policy, FEEL unary tests, and business rule tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from taktflow.engine import instances
from taktflow.engine.decisions.feel import (
    FeelEvaluationError,
    FeelSyntaxError,
    compile_expression,
    compile_unary_tests,
)
from taktflow.engine.decisions.model import DecisionError, DecisionModel, read_decisions
from taktflow.engine.definitions.service import ModelFile
from taktflow.engine.errors import InvalidModel
from taktflow.engine.store.models import Incident
from tests.support import MODELS, deploy_models


def pricing() -> DecisionModel:
    decisions, problems = read_decisions(etree.parse(str(MODELS / "pricing.dmn")).getroot())
    assert problems == []
    return DecisionModel(decisions)


@pytest.mark.parametrize(("test", "value", "expected"), [
    ("-", 42, True),
    ("", "anything", True),
    ("< 10", 9, True),
    ("< 10", 10, False),
    ("<= 10", 10, True),
    ("[250..1000]", 250, True),
    ("[250..1000]", 1000, True),
    ("[250..1000]", 1000.5, False),
    ("]250..1000[", 250, False),
    ("(250..1000)", 999, True),
    ('"a","b"', "b", True),
    ('"a","b"', "c", False),
    ('not("a","b")', "c", True),
    ('not("a","b")', "a", False),
    ("not(< 5)", 7, True),
    ("null", None, True),
    ("5, [10..20]", 15, True),
    ("? > 3 and ? < 6", 4, True),
    ("true", True, True),
    ("true", False, False),
    ("> limit", 150, True),
    ("< 10", None, False),
])
def test_unary_tests(test, value, expected):
    assert compile_unary_tests(test)(value, {"limit": 100}) is expected


@pytest.mark.parametrize(("expression", "expected"), [
    ("quantity * unitPrice * (1 - discount)", 180),
    ("order.total > 100 and not(order.blocked)", True),
    ('if quantity > 5 then "bulk" else "single"', "bulk"),
    ("quantity between 5 and 10", True),
    ("quantity in [1..3]", False),
    ('string length(name) + 1', 6),
    ('upper case(name)', "ALICE"),
    ("sum([1, 2, 3.5])", 6.5),
    ("7 / 2", 3.5),
    ("2 ** 10", 1024),
])
def test_expressions(expression, expected):
    ctx = {"quantity": 10, "unitPrice": 20, "discount": 0.1, "order": {"total": 150, "blocked": False},
           "name": "alice"}
    assert compile_expression(expression)(ctx) == expected


@pytest.mark.parametrize("bad", ["[1..", "> ", "foo(", "a b c", "__import__('os')", "x.__class__ +"])
def test_syntax_errors_are_refused(bad):
    with pytest.raises(FeelSyntaxError):
        compile_unary_tests(bad) if bad.startswith(("[", ">")) else compile_expression(bad)


def test_type_mismatch_is_an_error_not_a_silent_non_match():
    with pytest.raises(FeelEvaluationError, match="cannot compare"):
        compile_unary_tests("[250..1000]")("300", {})
    with pytest.raises(FeelEvaluationError, match="no variable"):
        compile_expression("missing + 1")({})


def test_drg_first_priority_and_literal():
    model = pricing()
    base = {"quantity": 10, "unitPrice": 20.0, "country": "DE", "annualRevenue": 300_000}
    assert model.evaluate("customer_tier", base) == [{"tier": "silver"}]
    assert model.evaluate("customer_tier", {**base, "country": "US"}) == [{"tier": "export"}]
    assert model.evaluate("customer_tier", {**base, "annualRevenue": 2_000_000}) == [{"tier": "gold"}]
    assert model.evaluate("customer_tier", {**base, "annualRevenue": 10}) == [{"tier": "standard"}]
    # PRIORITY: gold (0.1) and volume (0.15) both match; 0.15 ranks first in the output values.
    assert model.evaluate("discount", {**base, "annualRevenue": 2_000_000, "quantity": 600}) == [{"discount": 0.15}]
    assert model.evaluate("discount", base) == [{"discount": 0.05}]
    assert model.evaluate("net_price", base) == pytest.approx(190.0)


def test_collect_sum_rule_order_and_output_order():
    model = pricing()
    assert model.evaluate("surcharges", {"express": True, "weightKg": 40}) == [{"surcharge": 50}]
    assert model.evaluate("surcharges", {"express": False, "weightKg": 1}) == [{"surcharge": 5}]
    assert model.evaluate("warehouse_checks", {"hazardous": True, "weightKg": 40}) == [
        {"check": "hazmat label"}, {"check": "two-person lift"}, {"check": "scan serials"}]


TABLE = """<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
  <decision id="route" name="Route"><decisionTable id="t" hitPolicy="{policy}"{aggregation}>
    <input id="i"><inputExpression id="ie"><text>amount</text></inputExpression></input>
    <output id="o" name="approver"{values} />
    <rule id="r_small"><inputEntry id="a"><text>&lt; 1000</text></inputEntry>
      <outputEntry id="b"><text>"{first}"</text></outputEntry></rule>
    <rule id="r_any"><inputEntry id="c"><text>&gt;= 0</text></inputEntry>
      <outputEntry id="d"><text>"{second}"</text></outputEntry></rule>
  </decisionTable></decision></definitions>"""


def table(policy: str, first: str = "lead", second: str = "manager", aggregation: str = "",
          values: str = "") -> DecisionModel:
    xml = TABLE.format(policy=policy, first=first, second=second,
                       aggregation=f' aggregation="{aggregation}"' if aggregation else "",
                       values=f'><outputValues id="v"><text>{values}</text></outputValues></output' if values else "")
    xml = xml.replace("</output />", "</output>")
    decisions, problems = read_decisions(etree.fromstring(xml.encode()))
    assert problems == [], problems
    return DecisionModel(decisions)


def test_unique_with_two_matches_is_an_error():
    with pytest.raises(DecisionError, match="UNIQUE.*r_small, r_any"):
        table("UNIQUE").evaluate("route", {"amount": 10})
    assert table("UNIQUE").evaluate("route", {"amount": 5000}) == [{"approver": "manager"}]


def test_any_needs_equal_outputs():
    assert table("ANY", "manager", "manager").evaluate("route", {"amount": 10}) == [{"approver": "manager"}]
    with pytest.raises(DecisionError, match="ANY"):
        table("ANY").evaluate("route", {"amount": 10})


def test_first_rule_order_output_order_and_collect_count():
    assert table("FIRST").evaluate("route", {"amount": 10}) == [{"approver": "lead"}]
    assert table("RULE ORDER").evaluate("route", {"amount": 10}) == [{"approver": "lead"}, {"approver": "manager"}]
    ordered = table("OUTPUT ORDER", values='"manager","lead"').evaluate("route", {"amount": 10})
    assert ordered == [{"approver": "manager"}, {"approver": "lead"}]
    assert table("COLLECT", aggregation="COUNT").evaluate("route", {"amount": 10}) == [{"approver": 2}]
    assert table("COLLECT").evaluate("route", {"amount": 5000}) == [{"approver": "manager"}]


def test_invalid_decision_tables_are_refused_with_the_rule_named():
    bad = TABLE.format(policy="SOMETIMES", first="a", second="b", aggregation="", values="").replace(
        "&lt; 1000", "[1..")
    _, problems = read_decisions(etree.fromstring(bad.encode()))
    rules = {(p.element, p.rule) for p in problems}
    assert ("route", "dmn-hit-policy") in rules
    assert ("r_small", "dmn-feel-syntax") in rules


# --- through the engine ------------------------------------------------------------------------------------


def test_business_rule_tasks_map_results_like_camunda(engine):
    deployed = deploy_models(engine, "pricing.dmn", "pricing_flow.bpmn")
    assert {d.key for d in deployed} >= {"customer_tier", "discount", "net_price", "pricing_flow"}
    started = instances.start(engine, "pricing_flow", variables={
        "quantity": 10, "unitPrice": 20.0, "country": "AT", "annualRevenue": 500_000,
        "express": True, "weightKg": 40, "hazardous": False})
    instance = started.instance
    assert instance.state == "completed"
    assert instance.variables["netPrice"] == pytest.approx(190.0)
    assert instance.variables["surcharge"] == 50
    assert instance.variables["checks"] == ["two-person lift", "scan serials"]


def test_a_rule_that_cannot_be_evaluated_is_an_incident(engine):
    deploy_models(engine, "pricing.dmn", "pricing_flow.bpmn")
    started = instances.start(engine, "pricing_flow", variables={
        "quantity": 10, "unitPrice": 20.0, "country": "AT", "annualRevenue": "a lot",
        "express": True, "weightKg": 40, "hazardous": False})
    assert started.instance.state == "incident"
    with engine.db.read() as session:
        incident = session.query(Incident).filter_by(instance_id=started.instance.id).one()
    assert "customer_tier" in incident.message and "cannot compare" in incident.message


def test_a_business_rule_task_naming_an_unknown_decision_is_refused(engine):
    text = (MODELS / "pricing_flow.bpmn").read_text().replace('decisionRef="surcharges"', 'decisionRef="fees"')
    with pytest.raises(InvalidModel) as caught:
        deploy_models(engine, "pricing.dmn", ModelFile("pricing_flow.bpmn", text.encode()))
    assert any(p.element == "add_surcharges" and "fees" in p.message for p in caught.value.problems)


def test_bad_feel_in_a_dmn_file_refuses_the_deployment(engine, tmp_path: Path):
    text = (MODELS / "pricing.dmn").read_text().replace("&gt; 500", "&gt;&gt; 500")
    with pytest.raises(InvalidModel) as caught:
        deploy_models(engine, ModelFile("pricing.dmn", text.encode()))
    assert any(p.element == "disc_volume" and p.rule == "dmn-feel-syntax" for p in caught.value.problems)
