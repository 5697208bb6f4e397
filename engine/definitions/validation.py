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

from taktflow.engine.errors import ModelProblem
from taktflow.engine.scripting import check_source

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
RESERVED_IDS = {"Start", "End", "Root"}  # SpiffWorkflow's internal task names

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
                     f"the id {node.get('id')!r} is reserved by the engine; rename the element", file=filename)
        for node in root.iter(f"{{{BPMN_NS}}}*") if node.get("id") in RESERVED_IDS
    ]


_EXPRESSION_TAGS = ("conditionExpression", "timeDuration", "timeDate", "timeCycle", "loopCardinality",
                    "completionCondition", "loopCondition")
_SCRIPT_TAGS = (f"{{{BPMN_NS}}}script", f"{{{SPIFF_NS}}}preScript", f"{{{SPIFF_NS}}}postScript")


def rule_restricted_scripts(root: etree._Element, filename: str) -> list[ModelProblem]:
    """Every script and expression must compile under the restricted evaluator, before anything runs."""
    problems = []
    for tag in _SCRIPT_TAGS:
        for node in root.iter(tag):
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


RULES: list[Rule] = [rule_xsd, rule_executable_process, rule_reserved_ids, rule_restricted_scripts]
DMN_RULES: list[Rule] = []


def check(root: etree._Element, filename: str, kind: str) -> list[ModelProblem]:
    rules = RULES if kind == "bpmn" else DMN_RULES
    problems: list[ModelProblem] = []
    for rule in rules:
        problems.extend(rule(root, os.path.basename(filename)))
    return problems
