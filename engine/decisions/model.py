"""DMN 1.1–1.3 definitions read into plain data, and their evaluation.

A `DecisionModel` holds every decision of one or more DMN files (a decision requirements graph): decision
tables with any hit policy and aggregation, and literal expressions. It is JSON-serializable (stored inside
the process specs that use it) and compiles its FEEL once per process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from taktflow.engine.decisions.feel import (
    Evaluator,
    FeelEvaluationError,
    FeelSyntaxError,
    UnaryTest,
    compile_expression,
    compile_unary_tests,
)
from taktflow.engine.errors import ModelProblem

HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")


class DecisionError(ValueError):
    """A decision could not be evaluated (an incident, never a silent non-match)."""

    def __init__(self, decision: str, message: str, rule: str | None = None) -> None:
        where = f"decision {decision!r}" + (f", rule {rule!r}" if rule else "")
        super().__init__(f"{where}: {message}")
        self.decision = decision
        self.rule = rule


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _child(node: etree._Element, name: str) -> etree._Element | None:
    for c in node:
        if isinstance(c.tag, str) and _local(c) == name:
            return c
    return None


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str) and _local(c) == name]


def _text(node: etree._Element | None, name: str = "text") -> str:
    if node is None:
        return ""
    inner = _child(node, name)
    return ((inner.text if inner is not None else node.text) or "").strip()


def _output_values(text: str, element: str, filename: str | None, problems: list[ModelProblem]) -> list[Any]:
    """`outputValues` ("high","low" or 0.15,0.1): the order PRIORITY and OUTPUT ORDER rank by."""
    if not text:
        return []
    try:
        return plain(compile_expression(f"[{text}]")({}))
    except (FeelSyntaxError, FeelEvaluationError) as exc:
        problems.append(ModelProblem(element, "dmn-output-values", str(exc), file=filename))
        return []


def _href_id(href: str | None) -> str | None:
    return href.split("#", 1)[-1] if href else None


def read_decisions(root: etree._Element, filename: str | None = None) -> tuple[dict[str, Any], list[ModelProblem]]:
    """Decisions of one DMN file as plain data, with every FEEL cell syntax-checked."""
    decisions: dict[str, Any] = {}
    problems: list[ModelProblem] = []
    for node in root.iter("{*}decision"):
        decision_id = node.get("id")
        if not decision_id:
            problems.append(ModelProblem(None, "dmn-decision-id", "a decision needs an id", file=filename))
            continue
        required = [
            _href_id(r.get("href"))
            for req in _children(node, "informationRequirement")
            for r in _children(req, "requiredDecision")
        ]
        item: dict[str, Any] = {"id": decision_id, "name": node.get("name") or decision_id,
                                "requires": [r for r in required if r]}
        table, literal = _child(node, "decisionTable"), _child(node, "literalExpression")
        variable = _child(node, "variable")
        item["variable"] = (variable.get("name") if variable is not None else None) or item["name"]
        if table is not None:
            item["table"] = _read_table(table, decision_id, filename, problems)
        elif literal is not None:
            item["literal"] = _text(literal)
            _check(compile_expression, item["literal"], decision_id, "dmn-feel-syntax", filename, problems)
        else:
            problems.append(ModelProblem(decision_id, "dmn-decision-logic",
                                         "a decision needs a decision table or a literal expression", file=filename))
            continue
        decisions[decision_id] = item
    return decisions, problems


def _read_table(node: etree._Element, decision_id: str, filename: str | None,
                problems: list[ModelProblem]) -> dict[str, Any]:
    hit_policy = (node.get("hitPolicy") or "UNIQUE").upper()
    aggregation = (node.get("aggregation") or "").upper() or None
    if hit_policy not in HIT_POLICIES:
        problems.append(ModelProblem(decision_id, "dmn-hit-policy", f"unknown hit policy {hit_policy!r}",
                                     file=filename))
    if aggregation and (hit_policy != "COLLECT" or aggregation not in AGGREGATIONS):
        problems.append(ModelProblem(decision_id, "dmn-aggregation",
                                     f"aggregation {aggregation} is allowed only with hit policy COLLECT "
                                     f"({', '.join(AGGREGATIONS)})", file=filename))
    inputs = []
    for i in _children(node, "input"):
        expression = _text(_child(i, "inputExpression"))
        inputs.append({"id": i.get("id"), "label": i.get("label") or expression, "expression": expression})
        _check(compile_expression, expression, i.get("id") or decision_id, "dmn-feel-syntax", filename, problems)
    outputs = []
    for o in _children(node, "output"):
        values = _text(_child(o, "outputValues"))
        outputs.append({"id": o.get("id"), "name": o.get("name") or o.get("label") or o.get("id"),
                        "priorities": _output_values(values, o.get("id") or decision_id, filename, problems)})
    if not outputs:
        problems.append(ModelProblem(decision_id, "dmn-output-required", "a decision table needs an output",
                                     file=filename))
    if hit_policy in ("PRIORITY", "OUTPUT ORDER") and not any(o["priorities"] for o in outputs):
        problems.append(ModelProblem(decision_id, "dmn-output-values",
                                     f"hit policy {hit_policy} needs output values to order by", file=filename))
    if aggregation and len(outputs) != 1:
        problems.append(ModelProblem(decision_id, "dmn-aggregation", "an aggregation needs exactly one output",
                                     file=filename))
    rules = []
    for number, r in enumerate(_children(node, "rule"), start=1):
        rule_id = r.get("id") or f"{decision_id}#rule{number}"
        entries_in = [_text(e) for e in _children(r, "inputEntry")]
        entries_out = [_text(e) for e in _children(r, "outputEntry")]
        if len(entries_in) != len(inputs) or len(entries_out) != len(outputs):
            problems.append(ModelProblem(rule_id, "dmn-rule-shape",
                                         f"rule {number} has {len(entries_in)} input and {len(entries_out)} output "
                                         f"entries; the table has {len(inputs)} inputs and {len(outputs)} outputs",
                                         file=filename))
        for text in entries_in:
            _check(compile_unary_tests, text, rule_id, "dmn-feel-syntax", filename, problems)
        for text in entries_out:
            if text:
                _check(compile_expression, text, rule_id, "dmn-feel-syntax", filename, problems)
        rules.append({"id": rule_id, "inputs": entries_in, "outputs": entries_out})
    return {"hitPolicy": hit_policy, "aggregation": aggregation, "inputs": inputs, "outputs": outputs, "rules": rules}


def _check(compiler: Any, text: str, element: str, rule: str, filename: str | None,
           problems: list[ModelProblem]) -> None:
    try:
        compiler(text)
    except FeelSyntaxError as exc:
        problems.append(ModelProblem(element, rule, str(exc), file=filename))


def check_graph(decisions: dict[str, Any], filename: str | None = None) -> list[ModelProblem]:
    """Every required decision exists and the graph has no cycle."""
    problems = []
    for d in decisions.values():
        for r in d["requires"]:
            if r not in decisions:
                problems.append(ModelProblem(d["id"], "dmn-required-decision",
                                             f"requires decision {r!r}, which is not defined", file=filename))
    state: dict[str, int] = {}

    def visit(key: str) -> bool:
        if state.get(key) == 1:
            return False
        if state.get(key) == 2 or key not in decisions:
            return True
        state[key] = 1
        ok = all(visit(r) for r in decisions[key]["requires"])
        state[key] = 2
        return ok

    for key in decisions:
        if not visit(key):
            problems.append(ModelProblem(key, "dmn-requirement-cycle", "the decision requirements form a cycle",
                                         file=filename))
            break
    return problems


# --- evaluation --------------------------------------------------------------------------------------------


@dataclass
class _CompiledTable:
    inputs: list[Evaluator]
    rules: list[tuple[str, list[UnaryTest], list[Evaluator | None]]]


@dataclass
class DecisionModel:
    decisions: dict[str, Any]
    _compiled: dict[str, Any] = field(default_factory=dict, repr=False)

    def evaluate(self, decision_id: str, variables: dict[str, Any]) -> list[dict[str, Any]] | Any:
        """Result of a decision: for a table, the list of matched output rows (after the hit policy and
        aggregation); for a literal expression, its value. Required decisions are evaluated first and
        their results are visible to it under their variable names."""
        if decision_id not in self.decisions:
            raise DecisionError(decision_id, "no such decision is deployed")
        context = dict(variables)
        for required in self._order(decision_id)[:-1]:
            result = self._evaluate_one(required, context)
            decision = self.decisions[required]
            context[decision["variable"]] = _graph_value(result, decision)
            if "table" in decision and len(result) == 1:
                # Camunda 7 exposes a required decision's single result by its output names too.
                context.update(result[0])
        return self._evaluate_one(decision_id, context)

    def _order(self, decision_id: str) -> list[str]:
        seen: list[str] = []

        def visit(key: str) -> None:
            for r in self.decisions[key]["requires"]:
                if r not in seen:
                    visit(r)
            if key not in seen:
                seen.append(key)

        visit(decision_id)
        return seen

    def _evaluate_one(self, decision_id: str, context: dict[str, Any]) -> Any:
        decision = self.decisions[decision_id]
        try:
            if "literal" in decision:
                result = plain(compile_expression(decision["literal"])(context))
            else:
                result = self._evaluate_table(decision_id, decision["table"], context)
        except FeelEvaluationError as exc:
            raise DecisionError(decision_id, str(exc)) from exc
        problem = _oversized(result, [0])
        if problem:
            raise DecisionError(decision_id, f"result is too large: {problem}")
        return result

    def _table(self, decision_id: str, table: dict[str, Any]) -> _CompiledTable:
        compiled = self._compiled.get(decision_id)
        if compiled is None:
            compiled = _CompiledTable(
                inputs=[compile_expression(i["expression"]) for i in table["inputs"]],
                rules=[(r["id"], [compile_unary_tests(t) for t in r["inputs"]],
                        [compile_expression(o) if o else None for o in r["outputs"]]) for r in table["rules"]],
            )
            self._compiled[decision_id] = compiled
        return compiled

    def _evaluate_table(self, decision_id: str, table: dict[str, Any], context: dict[str, Any]) -> Any:
        compiled = self._table(decision_id, table)
        values = []
        for spec, evaluator in zip(table["inputs"], compiled.inputs, strict=True):
            try:
                values.append(evaluator(context))
            except FeelEvaluationError as exc:
                raise DecisionError(decision_id, f"input {spec['label']!r}: {exc}") from exc
        matched: list[tuple[str, dict[str, Any]]] = []
        for rule_id, tests, outputs in compiled.rules:
            try:
                hit = all(test(value, context) for test, value in zip(tests, values, strict=True))
                if hit:
                    row = {o["name"]: plain(e(context)) if e else None
                           for o, e in zip(table["outputs"], outputs, strict=True)}
                    matched.append((rule_id, row))
            except FeelEvaluationError as exc:
                raise DecisionError(decision_id, str(exc), rule_id) from exc
        return _apply_hit_policy(decision_id, table, matched)


def _apply_hit_policy(decision_id: str, table: dict[str, Any], matched: list[tuple[str, dict[str, Any]]]) -> Any:
    policy = table["hitPolicy"]
    rows = [row for _, row in matched]
    if policy == "UNIQUE":
        if len(matched) > 1:
            raise DecisionError(decision_id, "hit policy UNIQUE but rules "
                                f"{', '.join(r for r, _ in matched)} all match")
        return rows
    if policy == "FIRST":
        return rows[:1]
    if policy == "ANY":
        if any(row != rows[0] for row in rows[1:]):
            raise DecisionError(decision_id, "hit policy ANY but matching rules "
                                f"{', '.join(r for r, _ in matched)} give different outputs")
        return rows[:1]
    if policy in ("PRIORITY", "OUTPUT ORDER"):
        ordered = sorted(rows, key=functools.partial(_priority_key, table["outputs"]))
        return ordered[:1] if policy == "PRIORITY" else ordered
    if policy == "RULE ORDER":
        return rows
    # COLLECT
    aggregation = table.get("aggregation")
    if not aggregation:
        return rows
    name = table["outputs"][0]["name"]
    values = [row[name] for row in rows if row[name] is not None]
    if aggregation == "COUNT":
        return [{name: len(values)}]
    if not values:
        return [{name: None}]
    if aggregation == "SUM":
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise DecisionError(decision_id, f"COLLECT SUM needs numbers, got {values!r}")
        return [{name: sum(values)}]
    try:
        return [{name: min(values) if aggregation == "MIN" else max(values)}]
    except TypeError as exc:
        raise DecisionError(decision_id, f"COLLECT {aggregation} over values of mixed types {values!r}") from exc


def _priority_key(outputs: list[dict[str, Any]], row: dict[str, Any]) -> tuple[int, ...]:
    key = []
    for output in outputs:
        priorities = output["priorities"]
        if priorities:
            value = row.get(output["name"])
            key.append(priorities.index(value) if value in priorities else len(priorities))
    return tuple(key)


def _graph_value(result: Any, decision: dict[str, Any]) -> Any:
    """How a required decision's result appears to the decisions that use it (a single value when it can be)."""
    if "literal" in decision:
        return result
    policy = decision["table"]["hitPolicy"]
    single = policy in ("UNIQUE", "FIRST", "ANY", "PRIORITY") or decision["table"].get("aggregation")
    if single:
        if not result:
            return None
        row = result[0]
        return next(iter(row.values())) if len(row) == 1 else row
    if all(len(row) == 1 for row in result):
        return [next(iter(row.values())) for row in result]
    return result


# A decision's result becomes process variables: it is stored with the instance on every save and sent to every
# client that reads it. A model that concatenates strings through a chain of decisions doubles its output at
# each step; capped per decision, it stops at the first step past the cap with a message naming the decision.
MAX_RESULT_CHARS = 64 * 1024
MAX_INT64 = 2**63 - 1


def _oversized(value: Any, size: list[int]) -> str | None:
    """What makes a result too large to keep as variables, or None. `size` accumulates characters and items."""
    size[0] += 1
    if isinstance(value, str):
        size[0] += len(value)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -MAX_INT64 - 1 <= value <= MAX_INT64:
            return "a number does not fit in 64 bits"
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"{value} is not a finite number"
    elif isinstance(value, list):
        for item in value:
            if problem := _oversized(item, size):
                return problem
    elif isinstance(value, dict):
        for key, item in value.items():
            size[0] += len(str(key))
            if problem := _oversized(item, size):
                return problem
    if size[0] > MAX_RESULT_CHARS:
        return f"more than {MAX_RESULT_CHARS} characters of output"
    return None


def plain(value: Any) -> Any:
    """FEEL numbers are decimals; process variables are JSON numbers (ints stay ints)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
