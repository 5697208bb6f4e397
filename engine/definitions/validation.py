"""Rules a model must satisfy before it is deployed. Each finding names the element and the rule.

Rules run on the XML (before SpiffWorkflow's parser, whose own errors are reported as `bpmn-parse`).
Add a rule by writing a function `(root, filename) -> list[ModelProblem]` and listing it in `RULES`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD

from taktflow.engine.decisions.model import check_graph, read_decisions
from taktflow.engine.definitions import constraints, lint, reserved_ids
from taktflow.engine.errors import ModelProblem
from taktflow.engine.scripting import check_source

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
RESERVED_IDS = set(reserved_ids.INTERNAL.values())  # what elements with SpiffWorkflow's task names become

Rule = Callable[[etree._Element, str], list[ModelProblem]]


def _element_of(node: etree._Element) -> str:
    """The nearest id: the element itself or the flow element it belongs to."""
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return f"line {node.sourceline}" if node is not None else "-"


@functools.cache
def _xsd() -> BpmnValidator:
    return BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})


def rule_xsd(root: etree._Element, filename: str) -> list[ModelProblem]:
    validator = _xsd().validator
    if validator.validate(root):
        return []
    problems = []
    for error in list(validator.error_log)[:20]:
        node = _node_at_line(root, error.line)
        element = _element_of(node) if node is not None else f"line {error.line}"
        problems.append(ModelProblem(element, "bpmn-xsd", f"line {error.line}: {error.message}", file=filename))
    return problems


def _node_at_line(root: etree._Element, line: int) -> etree._Element | None:
    best = None
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.sourceline is not None and node.sourceline <= line:
            best = node
        elif node.sourceline is not None and node.sourceline > line:
            break
    return best


def rule_executable_process(root: etree._Element, filename: str) -> list[ModelProblem]:
    processes = root.findall(f"{{{BPMN_NS}}}process")
    if not processes:
        return [ModelProblem(None, "process-required", "the file defines no bpmn:process", file=filename)]
    if all(p.get("isExecutable") == "false" for p in processes):
        return [ModelProblem(processes[0].get("id"), "executable-process-required",
                             "no process is marked isExecutable=\"true\"", file=filename)]
    return []


def rule_reserved_ids(root: etree._Element, filename: str) -> list[ModelProblem]:
    return [
        ModelProblem(node.get("id"), "reserved-id",
                     f"the id {node.get('id')!r} is used by the engine internally; rename the element",
                     file=filename)
        for node in root.iter(f"{{{BPMN_NS}}}*") if node.get("id") in RESERVED_IDS
    ]


_EXPRESSION_TAGS = ("conditionExpression", "timeDuration", "timeDate", "timeCycle", "loopCardinality",
                    "completionCondition", "loopCondition", "activationCondition",
                    "condition")  # conditional events, complex MI behaviour
_SCRIPT_TAGS = (f"{{{BPMN_NS}}}script", f"{{{SPIFF_NS}}}preScript", f"{{{SPIFF_NS}}}postScript")


PYTHON_FORMATS = {"", "python", "python3", "text/x-python", "py"}
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


def _script_format(node: etree._Element) -> str:
    owner = node.getparent()
    return ((owner.get("scriptFormat") if owner is not None else None) or "").strip().lower()


def rule_restricted_scripts(root: etree._Element, filename: str) -> list[ModelProblem]:
    """Every script and expression must compile under the restricted evaluator, before anything runs."""
    problems = []
    for tag in _SCRIPT_TAGS:
        for node in root.iter(tag):
            if _script_format(node) not in PYTHON_FORMATS:
                continue  # rule_foreign_scripts names it
            for problem in check_source(node.text or "", is_script=True):
                problems.append(ModelProblem(_element_of(node), "restricted-script", problem, file=filename))
    for tag in _EXPRESSION_TAGS:
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (node.text or "").strip()
            if not text:
                continue
            for problem in check_source(text, is_script=False):
                problems.append(ModelProblem(
                    _element_of(node), "restricted-script", f"{tag}: {problem}", file=filename
                ))
    return problems


def rule_foreign_scripts(root: etree._Element, filename: str) -> list[ModelProblem]:
    """Camunda models may carry JavaScript or Groovy: script tasks in them are refused (the engine runs only
    restricted Python), execution and task listeners are reported and never executed."""
    problems = []
    for node in root.iter(f"{{{BPMN_NS}}}script"):
        script_format = _script_format(node)
        if script_format not in PYTHON_FORMATS:
            problems.append(ModelProblem(
                _element_of(node), "unsupported-script-format",
                f"scriptFormat {script_format!r} is not supported: scripts run as restricted Python; rewrite the "
                "script in Python or move the work into a service task handler", file=filename))
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        asynchronous = [a for a in ("asyncBefore", "asyncAfter", "async") if node.get(f"{CAMUNDA}{a}") == "true"]
        if asynchronous and etree.QName(node).localname != "serviceTask":
            problems.append(ModelProblem(
                node.get("id"), "async-ignored",
                f"camunda:{asynchronous[0]} is honoured on service tasks only; this "
                f"{etree.QName(node).localname} runs in the command that reaches it", severity="warning",
                file=filename))
    for node in root.iter(f"{{{BPMN_NS}}}callActivity"):
        if node.get(f"{CAMUNDA}caseRef") and not node.get("calledElement"):
            problems.append(ModelProblem(
                node.get("id"), "camunda-case-call",
                f"calls the CMMN case {node.get(f'{CAMUNDA}caseRef')!r}; Taktflow runs no CMMN, so this activity "
                f"waits as an external task (topic 'cmmn-case:{node.get(f'{CAMUNDA}caseRef')}') until a worker "
                "completes it", severity="warning",
                file=filename))
    for kind in ("executionListener", "taskListener"):
        for node in root.iter(f"{CAMUNDA}{kind}"):
            how = next((a for a in ("class", "expression", "delegateExpression") if node.get(a)), None)
            if how is None and node.find(f"{CAMUNDA}script") is not None:
                how = f"{node.find(f'{CAMUNDA}script').get('scriptFormat') or 'script'} script"
            problems.append(ModelProblem(
                _element_of(node), "listener-not-executed",
                f"camunda:{kind} ({how or 'unknown'}, event {node.get('event') or '-'}) is kept in the model but "
                "not executed; use a service task or a handler instead", severity="warning", file=filename))
    return problems


RULES: list[Rule] = [rule_xsd, rule_executable_process, rule_reserved_ids, rule_restricted_scripts,
                     rule_foreign_scripts,
                     constraints.check, lint.check]
def rule_dmn(root: etree._Element, filename: str) -> list[ModelProblem]:
    """Decisions, hit policies and every FEEL cell are checked at deploy, not when a rule first fires."""
    decisions, problems = read_decisions(root, filename)
    return problems + check_graph(decisions, filename)


DMN_RULES: list[Rule] = [rule_dmn]


def check(root: etree._Element, filename: str, kind: str,
          profile: str = constraints.STANDARD) -> list[ModelProblem]:
    """Every rule on one document, weighed by the validation profile (`standard` or `strict`)."""
    rules = RULES if kind == "bpmn" else DMN_RULES
    problems: list[ModelProblem] = []
    for rule in rules:
        problems.extend(rule(root, os.path.basename(filename)))
    return constraints.apply_profile(problems, profile)
