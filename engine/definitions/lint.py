"""Modelling style rules in the manner of bpmnlint (bpmn-io/bpmnlint), with its rule names.

These are not the specification's rules (those are in `constraints`): an implicit split or a gateway that
both joins and forks is legal BPMN. So a finding is a warning, returned with the deployment, unless the
engine cannot give the model a meaning: then it is an error and blocks the deploy. The severities differ
from bpmnlint's recommended config on purpose; `LINT_RULES` lists each with its severity.

Rules run on executable processes and their sub-processes, over the same one-pass index as the constraints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from lxml import etree

from taktflow.engine.definitions.constraints import (
    ACTIVITIES,
    EVENTS,
    GATEWAYS,
    SUB_PROCESSES,
    TASKS,
    B,
    Model,
    local,
    ref_id,
)
from taktflow.engine.errors import ModelProblem

LintRule = Callable[[Model], Iterable[tuple[etree._Element, str]]]
# (bpmnlint rule name, severity, function)
LINT_RULES: list[tuple[str, str, LintRule]] = []


def lint_rule(name: str, severity: str) -> Callable[[LintRule], LintRule]:
    def register(function: LintRule) -> LintRule:
        LINT_RULES.append((name, severity, function))
        return function
    return register


def check(root: etree._Element, filename: str) -> list[ModelProblem]:
    """Every lint rule on one document (a `validation.RULES` entry)."""
    model = Model(root, filename)
    return [
        ModelProblem(node.get("id"), name, message, severity=severity, file=filename)
        for name, severity, function in LINT_RULES
        for node, message in function(model)
    ]


def _scopes(m: Model) -> Iterator[etree._Element]:
    """Executable processes and the sub-processes in them that hold a flow of their own."""
    for name in ("process", "subProcess", "transaction"):
        for node in m.nodes([name]):
            if node.get("isExecutable") != "false":
                yield node


def _has_condition(flow: etree._Element) -> bool:
    return flow.find(f"{B}conditionExpression") is not None


def _is_default(node: etree._Element, flow: etree._Element) -> bool:
    return ref_id(node.get("default")) == flow.get("id")


def _compensation(m: Model, node: etree._Element) -> bool:
    if node.get("isForCompensation") == "true":
        return True
    return local(node) == "boundaryEvent" and m.definitions(node) == ["compensate"]


@lint_rule("no-implicit-split", "warning")
def no_implicit_split(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """A task or event with several unconditioned outgoing flows splits implicitly; model the parallel
    gateway explicitly (legal BPMN: every such flow gets a token)."""
    for node in m.nodes(TASKS | {"callActivity"} | SUB_PROCESSES | EVENTS):
        plain = [f for f in m.outs(node) if not _has_condition(f) and not _is_default(node, f)]
        if len(plain) > 1:
            yield node, f"flow splits implicitly into {len(plain)} paths; use a parallel gateway"


@lint_rule("fake-join", "warning")
def fake_join(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """An activity with several incoming flows does not join them: it runs once per arriving token."""
    for node in m.nodes(ACTIVITIES):
        if len(m.ins(node)) > 1:
            yield node, f"{len(m.ins(node))} incoming flows do not join; it runs once for each, use a gateway"


@lint_rule("no-disconnected", "warning")
def no_disconnected(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """A flow element without incoming and outgoing flows is not connected to the process."""
    for node in m.nodes(ACTIVITIES | GATEWAYS | EVENTS):
        if m.is_event_sub_process(node) or _compensation(m, node):
            continue
        parent = node.getparent()
        if parent is not None and local(parent) == "adHocSubProcess" and local(node) in ACTIVITIES:
            continue
        if local(node) == "boundaryEvent" or local(node) == "startEvent" and m.outs(node):
            continue
        if not m.ins(node) and not m.outs(node):
            yield node, "element is not connected"


@lint_rule("conditional-flows", "error")
def conditional_flows_gateway(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """Every outgoing flow of a forking exclusive or inclusive gateway is either the default flow or has a
    condition: the engine could not decide whether to take one without."""
    for node in m.nodes(["exclusiveGateway", "inclusiveGateway"]):
        outs = m.outs(node)
        if len(outs) < 2:
            continue
        for flow in outs:
            if not _has_condition(flow) and not _is_default(node, flow):
                yield flow, f"sequence flow from gateway {node.get('id')!r} is missing a condition"


@lint_rule("conditional-flows", "warning")
def conditional_flows_activity(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """When an activity or event forks conditionally (one flow has a condition, or it names a default),
    its other outgoing flows should be conditional or the default: an unconditioned one is always taken."""
    for node in m.nodes(ACTIVITIES | EVENTS):
        outs = m.outs(node)
        if not (node.get("default") or any(_has_condition(f) for f in outs)):
            continue
        for flow in outs:
            if not _has_condition(flow) and not _is_default(node, flow):
                yield flow, f"sequence flow from {node.get('id')!r} has no condition; it is always taken"


@lint_rule("start-event-required", "warning")
def start_event_required(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """A process or sub-process should begin at a start event (or a receive task or event-based gateway that
    instantiates the process)."""
    for scope in _scopes(m):
        if m.is_event_sub_process(scope):
            continue
        instantiating = [n for n in m.children(scope, ["receiveTask", "eventBasedGateway"])
                         if n.get("instantiate") == "true"]
        if not m.children(scope, ["startEvent"]) and not instantiating:
            yield scope, "has no start event"


@lint_rule("end-event-required", "warning")
def end_event_required(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """A process or sub-process should end at an end event."""
    for scope in _scopes(m):
        if not m.children(scope, ["endEvent"]):
            yield scope, "has no end event"


@lint_rule("label-required", "warning")
def label_required(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """Activities, events, forking gateways and participants carry a name, so people can read the diagram."""
    for node in m.nodes(ACTIVITIES | EVENTS | GATEWAYS):
        if local(node) in GATEWAYS and len(m.outs(node)) < 2:
            continue
        if not (node.get("name") or "").strip():
            yield node, "element is missing a label/name"
    for node in m.of_type["participant"]:
        if not (node.get("name") or "").strip():
            yield node, "participant is missing a label/name"


@lint_rule("no-gateway-join-fork", "warning")
def no_gateway_join_fork(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """A gateway should either join or fork, not both: split it in two for readability."""
    for node in m.nodes(GATEWAYS):
        if len(m.ins(node)) > 1 and len(m.outs(node)) > 1:
            yield node, "gateway forks and joins"


@lint_rule("single-blank-start-event", "error")
def single_blank_start_event(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """A (sub-)process has at most one start event without a trigger: a plain start would otherwise be
    ambiguous."""
    for scope in _scopes(m):
        blank = [s for s in m.children(scope, ["startEvent"]) if not m.definitions(s)]
        for start in blank[1:]:
            yield start, f"{scope.get('id')!r} has {len(blank)} blank start events"


@lint_rule("superfluous-gateway", "warning")
def superfluous_gateway(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """A gateway with exactly one incoming and one outgoing flow does nothing."""
    for node in m.nodes(GATEWAYS):
        if len(m.ins(node)) == 1 and len(m.outs(node)) == 1:
            yield node, "gateway is superfluous: it only has one incoming and one outgoing flow"


@lint_rule("no-duplicate-sequence-flows", "error")
def no_duplicate_sequence_flows(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """Two sequence flows with the same source, target and condition are one flow drawn twice (each would
    carry its own token)."""
    seen: Counter[tuple[str | None, str | None, str]] = Counter()
    for flow in m.nodes(["sequenceFlow"]):
        condition = flow.find(f"{B}conditionExpression")
        key = (ref_id(flow.get("sourceRef")), ref_id(flow.get("targetRef")),
               (condition.text or "").strip() if condition is not None else "")
        seen[key] += 1
        if seen[key] == 2:
            yield flow, f"duplicates another sequence flow from {key[0]!r} to {key[1]!r}"


@lint_rule("no-complex-gateway", "warning")
def no_complex_gateway(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """Complex gateways are hard to read; prefer exclusive, inclusive or parallel ones where they suffice."""
    for node in m.nodes(["complexGateway"]):
        yield node, "complex gateway: consider an exclusive, inclusive or parallel gateway"


@lint_rule("single-event-definition", "warning")
def single_event_definition(m: Model) -> Iterator[tuple[etree._Element, str]]:
    """An event with several event definitions (a 'multiple' event) is hard to read."""
    for node in m.nodes(EVENTS):
        if len(m.definitions(node)) > 1:
            yield node, f"event has {len(m.definitions(node))} event definitions"

