"""What the engine does with every BPMN element, event definition and Camunda attribute: the source of
docs/bpmn-support.md (`taktflow docs support` writes it; a test fails when the page and this registry, or
this registry and the parser's own element registry, disagree).
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

from taktflow.engine.definitions import constraints
from taktflow.engine.definitions.parser import TaktflowParser

SUPPORTED = "supported"
PARTIAL = "partial"
REWRITTEN = "supported (rewritten)"
IGNORED = "kept, not executed"
REFUSED = "refused at deploy"


@dataclass(frozen=True)
class Support:
    name: str
    level: str
    notes: str


ELEMENTS: list[Support] = [
    Support("startEvent", SUPPORTED, "none, message, signal, timer, conditional; error and escalation start "
            "event subprocesses; `isInterrupting`; message and signal start events start new instances"),
    Support("endEvent", SUPPORTED, "none, terminate, message, signal, error (an uncaught error is an incident), "
            "escalation, cancel, compensation"),
    Support("intermediateCatchEvent", SUPPORTED, "message (correlation by business key or `correlationKey`), "
                                                 "signal, timer, conditional, link"),
    Support("intermediateThrowEvent", SUPPORTED, "none, message (to waiting instances or message start events), "
                                                 "signal, escalation, compensation, link"),
    Support("boundaryEvent", SUPPORTED, "error, timer, message, signal, escalation, conditional, compensation; "
                                        "interrupting and non-interrupting"),
    Support("task", SUPPORTED, "passes through"),
    Support("userTask", SUPPORTED, "mirrored into the task table (candidate groups from lane or attribute, "
                                   "assignee, due, follow-up, priority, form fields)"),
    Support("manualTask", SUPPORTED, "a user task without a form"),
    Support("serviceTask", SUPPORTED, "a registered Python handler by name, otherwise an external task "
                                      "(fetch-and-lock by topic); retries with backoff, then an incident"),
    Support("sendTask", SUPPORTED, "throws its message"),
    Support("receiveTask", SUPPORTED, "waits for its message; `instantiate=\"true\"` in a process without a start "
                                      "event is its message start event"),
    Support("scriptTask", SUPPORTED, "restricted Python only; other `scriptFormat`s are refused at deploy"),
    Support("businessRuleTask", SUPPORTED, "DMN 1.3 decision (DRG, every hit policy, FEEL unary tests) by "
                                           "`camunda:decisionRef` or `spiffworkflow:calledDecisionId`"),
    Support("callActivity", SUPPORTED, "calls a deployed process by id (or a global task); variables in and out"),
    Support("subProcess", SUPPORTED, "embedded; event subprocesses at every level, interrupting or not"),
    Support("transaction", PARTIAL, "runs as a subprocess; a cancel end event cancels it and compensates"),
    Support("adHocSubProcess", REWRITTEN, "without a completion condition every activity runs once (in order when "
                                          "`ordering=\"Sequential\"`)"),
    Support("exclusiveGateway", SUPPORTED, "conditions and default flow; no match is an incident"),
    Support("inclusiveGateway", SUPPORTED, "split and synchronizing join"),
    Support("parallelGateway", SUPPORTED, "fork and join"),
    Support("eventBasedGateway", SUPPORTED, "first of message, signal or timer wins"),
    Support("complexGateway", SUPPORTED, "split by conditions; join by `activationCondition` over "
                                         "`activationCount`, then waits for reset"),
    Support("sequenceFlow", SUPPORTED, "conditions in Python or JUEL; several outgoing flows from an activity are "
                                       "an implicit parallel split, conditional ones an inclusive split"),
    Support("multiInstanceLoopCharacteristics", SUPPORTED, "sequential and parallel; cardinality, collection, "
                                                           "completion condition, behavior events; a negative "
                                                           "cardinality is refused at deploy (a constant) or an "
                                                           "incident naming the activity (an expression)"),
    Support("standardLoopCharacteristics", SUPPORTED, "loop condition, maximum (a negative one is refused)"),
    Support("startQuantity / completionQuantity", REWRITTEN, "n tokens in and out, as the specification counts"),
    Support("globalScriptTask / globalUserTask / globalTask", REWRITTEN, "callable from a call activity"),
    Support("dataObject / dataObjectReference / dataStoreReference", PARTIAL, "data input/output associations "
            "carry a data object (the variable named by its id) between tasks; a data store no association "
            "reads or writes is documentation and ignored, as Camunda does; data stores are not persisted"),
    Support("laneSet / lane", SUPPORTED, "a lane is the candidate group of its user tasks"),
    Support("collaboration / participant / messageFlow", PARTIAL, "each executable process deploys on its own; "
                                                                  "message flows are routed by message name"),
    Support("textAnnotation / association / group", IGNORED, "diagram only"),
    Support("choreography / conversation", IGNORED, "not executable BPMN; only processes are deployed"),
]

CAMUNDA_ATTRIBUTES: list[Support] = [
    Support("camunda:candidateGroups / candidateUsers / assignee", SUPPORTED, "literal or `${...}`"),
    Support("camunda:dueDate / followUpDate", SUPPORTED, "ISO 8601 date-time, duration from creation, or `${...}`"),
    Support("camunda:priority", SUPPORTED, "number or `${...}`"),
    Support("camunda:formData", SUPPORTED, "fields with type, label, default, enum values, constraints required / "
                                           "min / max / minlength / maxlength / readonly; validated on complete; a "
                                           "required boolean is a yes/no that must be answered, a No needs its "
                                           "`<fieldId>Reason` (docs/forms.md)"),
    Support("camunda:formKey", SUPPORTED, "kept as metadata on the task; an `embedded:` form (fields in HTML "
                                          "the engine never reads) takes the variables submitted, as Camunda"),
    Support("camunda:caseRef (CMMN call)", PARTIAL, "deploys with a warning; the activity waits as an external "
                                                    "task with topic `cmmn-case:<caseRef>`"),
    Support("camunda:type=\"external\" + camunda:topic", SUPPORTED, "handler of that name, else an external task"),
    Support("camunda:class / delegateExpression / expression", SUPPORTED, "the name of a registered handler"),
    Support("camunda:decisionRef / resultVariable / mapDecisionResult", SUPPORTED, "resultList, singleResult, "
                                                                                  "singleEntry, collectEntries"),
    Support("camunda:in / camunda:out", SUPPORTED, "call activity variable mappings (source, sourceExpression, "
                                                   "variables=\"all\", local); calledElementBinding is kept"),
    Support("camunda:asyncBefore / asyncAfter / async", PARTIAL, "service tasks continue as a job of the worker; "
                                                                 "on other elements a deploy warning"),
    Support("camunda:collection / elementVariable", SUPPORTED, "multi-instance over a collection; "
                                                               "nrOfInstances / nrOfCompletedInstances in conditions"),
    Support("JUEL `${...}` / `#{...}`", SUPPORTED,
            "variables, properties, `! && || empty ?:`, comparisons in symbols and words; "
            "`dateTime().plusDays(n)...toDate()` (a duration from now); other method calls are refused"),
    Support("timeCycle", SUPPORTED, "ISO 8601 repetitions (R3/PT1H) and cron (Quartz 6/7 fields, Unix 5), in UTC"),
    Support("camunda:executionListener / taskListener", IGNORED, "a deploy warning names each one"),
    Support("scriptFormat javascript / groovy / ...", REFUSED, "scripts run as restricted Python only"),
]


def parser_elements() -> set[str]:
    """Every BPMN element the parser has a task parser for."""
    tags = set(BpmnParser.PARSER_CLASSES) | set(TaktflowParser.OVERRIDE_PARSER_CLASSES)
    return {tag.split("}", 1)[1] for tag in tags}


def missing_from_registry() -> set[str]:
    documented = {part.strip() for s in ELEMENTS for part in s.name.split("/")}
    return parser_elements() - documented


def markdown() -> str:
    lines = [
        "# BPMN and Camunda 7 support",
        "",
        "Generated by `taktflow docs support` from `engine/support.py`; do not edit by hand.",
        "",
        "| BPMN element | Support | Notes |",
        "|---|---|---|",
        *[f"| `{s.name}` | {s.level} | {s.notes} |" for s in ELEMENTS],
        "",
        "| Camunda 7 dialect | Support | Notes |",
        "|---|---|---|",
        *[f"| {s.name} | {s.level} | {s.notes} |" for s in CAMUNDA_ATTRIBUTES],
        "",
        "Rules every deployment is checked against: the BPMN 2.0 XSD, the specification's constraints "
        "(EXT/REF ids, `engine/definitions/constraints.py`), bpmnlint's rules (`engine/definitions/lint.py`: "
        "errors block a deploy, warnings are returned with it), and the restricted-script check.",
        "",
        *constraint_table(),
    ]
    return "\n".join(lines)


# Rules that report some findings as warnings under either profile (the function says which).
_BUILT_IN_WARNINGS = {
    "EXT012": "an untyped timer literal that is valid ISO 8601 warns",
    "EXT053": "a script without scriptFormat that is valid Python warns",
    "EXT127": "a throwing message event implemented by Camunda attributes warns",
    "EXT128": "models in the Camunda or SpiffWorkflow dialect always warn",
    "default-flow-condition": "always a warning",
}


def constraint_table() -> list[str]:
    """The specification's constraints (Geiger's EXT ids, REF) and Taktflow's own, with their weight under
    the `standard` (default) and `strict` (conformance runner) validation profiles."""
    rows = [
        "## Specification constraints and validation profiles",
        "",
        "`POST /api/v1/deployments?profile=standard|strict`. `standard` (the default) makes the rules that do "
        "not change how a model runs warnings, so models from bpmn.io, Camunda 8 or Flowable deploy; `strict` "
        "(used by `taktflow conformance`) refuses every breach. A finding names the element and the rule.",
        "",
        "| Rule | standard | strict | Rule text |",
        "|---|---|---|---|",
    ]
    for rule, function in constraints.CONSTRAINTS:
        text = " ".join((function.__doc__ or "").split("\n\n")[0].split())
        standard = "warning" if rule in constraints.STANDARD_WARNINGS else "error"
        note = _BUILT_IN_WARNINGS.get(rule)
        text = f"{text} ({note})" if note else text
        rows.append(f"| {rule} | {standard} | error | {text.replace('|', '/')} |")
    rows += ["", "### Constraints without their own rule", ""]
    rows += [f"- {rule}: {text}" for rule, text in WITHOUT_RULE.items()]
    rows.append("")
    return rows


# Ids of Geiger's list that no function in constraints.py checks, and why.
WITHOUT_RULE = {
    "EXT001": "an imported file must exist at its location and be of the declared importType. It concerns "
              "files outside the document, which a deploy does not read: the deploy checks the document itself "
              "against the BPMN XSD, and REF-EXISTENCE accepts a QName into an imported namespace without "
              "resolving it.",
    "EXT005": "a non-standard artifact must follow the sequence and message flow connection rules. Enforced by "
              "the reference rules: a flow's sourceRef and targetRef must resolve (REF-EXISTENCE; an element of "
              "another namespace is no BPMN id) to a flow node or interaction node (REF-TYPE), so no artifact "
              "qualifies; EXT006 to EXT009 name the standard artifacts.",
}
