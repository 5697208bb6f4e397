"""The BPMN 2.0 specification's own rules, checked on a model's XML before it is deployed.

Rule ids are those of Geiger's list of BPMN 2.0 process model constraints (EXT.xxx, "BPMN 2.0 Process
Model Serialization Constraints", Bamberg 2013) and REF for references that must resolve to an element of
the right type. Each rule is one function whose docstring is the rule's text; `CONSTRAINTS` lists them.

All rules share one index of the document (`Model`), built once per file, so a deploy stays linear in the
size of the model. Flow rules (sequence flows, events, gateways) apply to executable processes only: a
non-executable pool in a collaboration is documentation and is never run.

Severity: a broken rule is an error. Three rules are warnings where Taktflow's dialect gives the model a
meaning the specification leaves to the implementation (each says so in its function): an ISO-8601 timer
literal written as a plain expression (EXT012), a script without scriptFormat that is valid Python (EXT053),
and message events without a WSDL operation (EXT128: Taktflow correlates messages by name, as Camunda does).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import cached_property

from lxml import etree

from taktflow.engine.definitions.juel import TRANSLATED
from taktflow.engine.errors import ModelProblem

CAMUNDA_URI = "http://camunda.org/schema/1.0/bpmn"
SPIFF_URI = "http://spiffworkflow.org/bpmn/schema/1.0/core"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Namespaces whose `id` attributes are XML IDs (extension elements such as camunda:formField are not).
ID_NAMESPACES = frozenset({BPMN_NS, "http://www.omg.org/spec/BPMN/20100524/DI",
                           "http://www.omg.org/spec/DD/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC"})
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
B = f"{{{BPMN_NS}}}"

TASKS = frozenset({"task", "sendTask", "receiveTask", "serviceTask", "userTask", "manualTask", "scriptTask",
                   "businessRuleTask"})
SUB_PROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
ACTIVITIES = TASKS | SUB_PROCESSES | {"callActivity"}
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "complexGateway",
                      "eventBasedGateway"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                    "boundaryEvent", "implicitThrowEvent"})
CHOREOGRAPHY_ACTIVITIES = frozenset({"choreographyTask", "subChoreography", "callChoreography"})
FLOW_NODES = ACTIVITIES | GATEWAYS | EVENTS
ARTIFACTS = frozenset({"association", "textAnnotation", "group"})
CONTAINERS = frozenset({"process"}) | SUB_PROCESSES
EVENT_DEFINITIONS = frozenset({"messageEventDefinition", "timerEventDefinition", "escalationEventDefinition",
                               "conditionalEventDefinition", "linkEventDefinition", "errorEventDefinition",
                               "cancelEventDefinition", "compensateEventDefinition", "signalEventDefinition",
                               "terminateEventDefinition"})
ITEM_AWARE = frozenset({"dataObject", "dataObjectReference", "property", "dataStore", "dataStoreReference",
                        "dataInput", "dataOutput"})
CALLABLE = frozenset({"process", "globalTask", "globalUserTask", "globalManualTask", "globalScriptTask",
                      "globalBusinessRuleTask"})
# Elements the XSD types as tExpression (natural language unless xsi:type says tFormalExpression).
EXPRESSIONS = ("conditionExpression", "timeDate", "timeDuration", "timeCycle", "loopCardinality",
               "completionCondition", "loopCondition", "loopMaximum", "activationCondition", "from", "to",
               "condition")
TIMERS = ("timeDate", "timeDuration", "timeCycle")

Finding = tuple[etree._Element | str | None, str] | tuple[etree._Element | str | None, str, str]


def local(node: etree._Element) -> str:
    """The local name of a BPMN element, '' for anything outside the BPMN namespace."""
    tag = node.tag
    if not isinstance(tag, str) or not tag.startswith(B):
        return ""
    return tag[len(B):]


def article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def ref_id(value: str | None) -> str | None:
    """The id a QName or IDREF value points at (the prefix only names this document's namespace)."""
    if value is None:
        return None
    value = value.strip()
    return value.rsplit(":", 1)[-1] if value else None


def _kind(definition_tag: str) -> str:
    return definition_tag[: -len("EventDefinition")]


class Model:
    """One BPMN document, indexed once: ids, elements by type, sequence flows by source and target."""

    def __init__(self, root: etree._Element, filename: str) -> None:
        self.root = root
        self.filename = filename
        self.by_id: dict[str, etree._Element] = {}
        self.duplicates: list[etree._Element] = []
        self.of_type: dict[str, list[etree._Element]] = defaultdict(list)
        self.with_id_missing: list[etree._Element] = []
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            name = local(node)
            if name:
                self.of_type[name].append(node)
            node_id = node.get("id")
            if node_id and etree.QName(node).namespace in ID_NAMESPACES:
                if node_id in self.by_id:
                    self.duplicates.append(node)
                else:
                    self.by_id[node_id] = node
        self.incoming: dict[str, list[etree._Element]] = defaultdict(list)
        self.outgoing: dict[str, list[etree._Element]] = defaultdict(list)
        for flow in self.of_type["sequenceFlow"]:
            source, target = ref_id(flow.get("sourceRef")), ref_id(flow.get("targetRef"))
            if source:
                self.outgoing[source].append(flow)
            if target:
                self.incoming[target].append(flow)
        self._process_of: dict[etree._Element, etree._Element | None] = {}

    # --- navigation ---------------------------------------------------------------------------------

    def get(self, value: str | None) -> etree._Element | None:
        return self.by_id.get(ref_id(value) or "")

    def type_of(self, value: str | None) -> str:
        node = self.get(value)
        return local(node) if node is not None else ""

    def process_of(self, node: etree._Element) -> etree._Element | None:
        """The bpmn:process an element belongs to (None outside any process)."""
        if node in self._process_of:
            return self._process_of[node]
        parent = node.getparent()
        if parent is None:
            found = None
        elif local(parent) == "process":
            found = parent
        else:
            found = self.process_of(parent)
        self._process_of[node] = found
        return found

    def executable(self, node: etree._Element) -> bool:
        process = node if local(node) == "process" else self.process_of(node)
        return process is not None and process.get("isExecutable") != "false"

    def nodes(self, names: Iterable[str], executable_only: bool = True) -> Iterator[etree._Element]:
        for name in names:
            for node in self.of_type[name]:
                if not executable_only or self.executable(node):
                    yield node

    def ins(self, node: etree._Element) -> list[etree._Element]:
        return self.incoming.get(node.get("id") or "", [])

    def outs(self, node: etree._Element) -> list[etree._Element]:
        return self.outgoing.get(node.get("id") or "", [])

    def definitions(self, event: etree._Element) -> list[str]:
        """The event's triggers ('message', 'timer', ...), own definitions and eventDefinitionRefs alike."""
        kinds = []
        for child in event:
            name = local(child)
            if name in EVENT_DEFINITIONS:
                kinds.append(_kind(name))
            elif name == "eventDefinitionRef":
                target = self.type_of(child.text)
                if target in EVENT_DEFINITIONS:
                    kinds.append(_kind(target))
        return kinds

    def definition_nodes(self, event: etree._Element) -> list[etree._Element]:
        found = []
        for child in event:
            name = local(child)
            if name in EVENT_DEFINITIONS:
                found.append(child)
            elif name == "eventDefinitionRef":
                target = self.get(child.text)
                if target is not None and local(target) in EVENT_DEFINITIONS:
                    found.append(target)
        return found

    def is_event_sub_process(self, node: etree._Element) -> bool:
        return local(node) == "subProcess" and node.get("triggeredByEvent") == "true"

    def children(self, container: etree._Element, names: Iterable[str]) -> list[etree._Element]:
        wanted = set(names)
        return [c for c in container if local(c) in wanted]

    def item_of(self, node: etree._Element | None) -> etree._Element | None:
        """The itemDefinition of an item-aware element (through its data object or data store)."""
        if node is None:
            return None
        item = self.get(node.get("itemSubjectRef"))
        if item is None and local(node) == "dataObjectReference":
            return self.item_of(self.get(node.get("dataObjectRef")))
        if item is None and local(node) == "dataStoreReference":
            return self.item_of(self.get(node.get("dataStoreRef")))
        return item if item is not None and local(item) == "itemDefinition" else None

    @staticmethod
    def same_item(a: etree._Element | None, b: etree._Element | None) -> bool:
        """Two itemDefinitions describe the same type: the same element or the same structureRef."""
        if a is None or b is None:
            return a is b
        if a is b:
            return True
        return bool(a.get("structureRef")) and a.get("structureRef") == b.get("structureRef")

    @cached_property
    def participant_of_process(self) -> dict[str, etree._Element]:
        return {ref_id(p.get("processRef")) or "": p for p in self.of_type["participant"] if p.get("processRef")}


# --- registry ------------------------------------------------------------------------------------------

Constraint = Callable[[Model], Iterable[Finding]]
CONSTRAINTS: list[tuple[str, Constraint]] = []


def constraint(rule: str) -> Callable[[Constraint], Constraint]:
    def register(function: Constraint) -> Constraint:
        CONSTRAINTS.append((rule, function))
        return function
    return register


def _element(node: etree._Element | str | None) -> str | None:
    if node is None or isinstance(node, str):
        return node
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def check(root: etree._Element, filename: str) -> list[ModelProblem]:
    """Every constraint on one document (a `validation.RULES` entry)."""
    model = Model(root, filename)
    problems = []
    for rule, function in CONSTRAINTS:
        for finding in function(model):
            node, message = finding[0], finding[1]
            severity = finding[2] if len(finding) > 2 else "error"
            problems.append(ModelProblem(_element(node), rule, message, severity=severity, file=filename))
    return problems


# --- validation profiles -------------------------------------------------------------------------------

STANDARD = "standard"
STRICT = "strict"
PROFILES = (STANDARD, STRICT)

# Specification rules whose breach does not change how Taktflow runs the model: documentation and notation
# (mime types, naming conventions, the redundant incoming/outgoing lists, gatewayDirection), WSDL operations
# and item types Taktflow never reads (it correlates messages by name and keeps Python values), and
# collaboration/conversation details of pools it does not execute. Under the `standard` profile (the default,
# what bpmn.io, Camunda 8 and Flowable models need) they are warnings; `strict` (the conformance runner)
# refuses them, as the specification does.
STANDARD_WARNINGS: frozenset[str] = frozenset({
    "EXT004", "EXT010", "EXT012", "EXT017", "EXT018", "EXT019", "EXT020", "EXT023", "EXT024", "EXT029",
    "EXT030", "EXT032", "EXT033", "EXT035", "EXT039", "EXT040", "EXT042", "EXT043", "EXT044", "EXT045",
    "EXT046", "EXT047", "EXT048", "EXT050", "EXT051", "EXT052", "EXT063", "EXT064", "EXT065", "EXT068",
    "EXT069", "EXT070", "EXT076", "EXT077", "EXT083", "EXT084", "EXT085", "EXT086", "EXT087", "EXT088",
    "EXT089", "EXT090", "EXT091", "EXT093", "EXT094", "EXT095", "EXT118", "EXT124", "EXT125", "EXT128",
})


def apply_profile(problems: list[ModelProblem], profile: str) -> list[ModelProblem]:
    """The findings as the profile weighs them: `standard` reports the rules of STANDARD_WARNINGS as warnings."""
    if profile not in PROFILES:
        raise ValueError(f"unknown validation profile {profile!r} (one of {', '.join(PROFILES)})")
    if profile == STRICT:
        return problems
    return [ModelProblem(p.element, p.rule, f"{p.message} (does not change how the model runs; the strict "
                         "profile refuses it)", severity="warning", file=p.file)
            if p.severity == "error" and p.rule in STANDARD_WARNINGS else p for p in problems]


def _count(node: etree._Element, name: str) -> int:
    return sum(1 for c in node if local(c) == name)


def _int(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return None


# --- ids and documentation -----------------------------------------------------------------------------


@constraint("EXT002")
def ext002(m: Model) -> Iterable[Finding]:
    """The ID must be unique."""
    for node in m.duplicates:
        yield node, f"id {node.get('id')!r} is used by more than one element"


REFERABLE = FLOW_NODES | {"sequenceFlow", "messageFlow", "participant", "process", "dataObject",
                          "dataObjectReference", "dataStoreReference", "dataInput", "dataOutput", "message",
                          "error", "escalation", "signal", "itemDefinition", "collaboration"}


@constraint("EXT003")
def ext003(m: Model) -> Iterable[Finding]:
    """An ID must be present if the element may be referenced."""
    for name in sorted(REFERABLE):
        for node in m.of_type[name]:
            if not node.get("id"):
                where = _element(node.getparent()) or "the document"
                yield (node.getparent() if node.getparent() is not None else None,
                       f"a {name} in {where} (line {node.sourceline}) has no id, but other elements refer to it")


_MIME = re.compile(r"^[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*(\s*;.*)?$")


@constraint("EXT004")
def ext004(m: Model) -> Iterable[Finding]:
    """The value of documentation's textFormat must be a valid mime-type ("It MUST follow the mime-type format")."""
    for node in m.of_type["documentation"]:
        value = node.get("textFormat")
        if value is not None and not _MIME.match(value):
            yield node, f"documentation textFormat {value!r} is not a mime type such as text/plain"


@constraint("EXT010")
def ext010(m: Model) -> Iterable[Finding]:
    """The value of a text annotation's textFormat must be a valid mime-type."""
    for node in m.of_type["textAnnotation"]:
        value = node.get("textFormat")
        if value is not None and not _MIME.match(value):
            yield node, f"textFormat {value!r} is not a mime type such as text/plain"


# --- artifacts and flow connections --------------------------------------------------------------------


def _flow_end(m: Model, flow: etree._Element, attr: str) -> str:
    return m.type_of(flow.get(attr))


@constraint("EXT006")
def ext006(m: Model) -> Iterable[Finding]:
    """An Artifact MUST NOT be a target for a Sequence Flow."""
    for flow in m.of_type["sequenceFlow"]:
        if _flow_end(m, flow, "targetRef") in ARTIFACTS:
            yield flow, f"sequence flow ends at the artifact {flow.get('targetRef')!r}"


@constraint("EXT007")
def ext007(m: Model) -> Iterable[Finding]:
    """An Artifact MUST NOT be a source for a Sequence Flow."""
    for flow in m.of_type["sequenceFlow"]:
        if _flow_end(m, flow, "sourceRef") in ARTIFACTS:
            yield flow, f"sequence flow starts at the artifact {flow.get('sourceRef')!r}"


@constraint("EXT008")
def ext008(m: Model) -> Iterable[Finding]:
    """An Artifact MUST NOT be a target for a Message Flow."""
    for flow in m.of_type["messageFlow"]:
        if _flow_end(m, flow, "targetRef") in ARTIFACTS:
            yield flow, f"message flow ends at the artifact {flow.get('targetRef')!r}"


@constraint("EXT009")
def ext009(m: Model) -> Iterable[Finding]:
    """An Artifact MUST NOT be a source for a Message Flow."""
    for flow in m.of_type["messageFlow"]:
        if _flow_end(m, flow, "sourceRef") in ARTIFACTS:
            yield flow, f"message flow starts at the artifact {flow.get('sourceRef')!r}"


def _flow_node_problem(m: Model, value: str | None) -> str | None:
    node = m.get(value)
    if node is None:
        return None  # REF reports a dangling reference
    name = local(node)
    if name not in FLOW_NODES:
        return f"{value!r} is {article(name or etree.QName(node).localname)}, not an activity, gateway or event"
    if m.is_event_sub_process(node):
        return f"{value!r} is an event sub-process, which is started by its event, never by a flow"
    return None


@constraint("EXT021")
def ext021(m: Model) -> Iterable[Finding]:
    """For a Process: of the types of FlowNode, only Activities, Gateways, and Events can be the source of a
    Sequence Flow. Activities that are Event Sub-Processes are not allowed to be a source."""
    for flow in m.nodes(["sequenceFlow"]):
        problem = _flow_node_problem(m, flow.get("sourceRef"))
        if problem:
            yield flow, f"sequence flow source {problem}"


@constraint("EXT022")
def ext022(m: Model) -> Iterable[Finding]:
    """For a Process: of the types of FlowNode, only Activities, Gateways, and Events can be the target of a
    Sequence Flow. Activities that are Event Sub-Processes are not allowed to be a target."""
    for flow in m.nodes(["sequenceFlow"]):
        problem = _flow_node_problem(m, flow.get("targetRef"))
        if problem:
            yield flow, f"sequence flow target {problem}"


@constraint("EXT023")
def ext023(m: Model) -> Iterable[Finding]:
    """The source element of a sequence flow must reference the flow using its outgoing attribute, the target
    element using its incoming attribute; and a node lists a flow only if the flow starts or ends at it."""
    for flow in m.of_type["sequenceFlow"]:
        for attr, kind in (("sourceRef", "outgoing"), ("targetRef", "incoming")):
            node = m.get(flow.get(attr))
            if node is None or local(node) not in FLOW_NODES:
                continue
            listed = {ref_id(c.text) for c in node.findall(f"{B}{kind}")}
            if flow.get("id") not in listed:
                yield node, f"does not list sequence flow {flow.get('id')!r} among its {kind} flows"
    for name in FLOW_NODES:
        for node in m.of_type[name]:
            for child in node:
                kind = local(child)
                if kind not in ("incoming", "outgoing"):
                    continue
                flow = m.get(child.text)
                if flow is None or local(flow) != "sequenceFlow":
                    continue
                end = flow.get("targetRef" if kind == "incoming" else "sourceRef")
                if ref_id(end) != node.get("id"):
                    yield node, (f"lists {child.text.strip()!r} as {kind}, but that flow "
                                 f"{'ends' if kind == 'incoming' else 'starts'} at {end!r}")


@constraint("EXT024")
def ext024(m: Model) -> Iterable[Finding]:
    """The optional attribute isImmediate must not be 'false' for executable processes."""
    for flow in m.nodes(["sequenceFlow"]):
        if flow.get("isImmediate") == "false":
            yield flow, "isImmediate=\"false\" is not allowed in an executable process"


@constraint("EXT025")
def ext025(m: Model) -> Iterable[Finding]:
    """An Activity must not have only one outgoing conditional sequence flow if conditionExpression is present."""
    for flow in m.nodes(["sequenceFlow"]):
        if flow.find(f"{B}conditionExpression") is None:
            continue
        source = m.get(flow.get("sourceRef"))
        if source is not None and local(source) in ACTIVITIES and len(m.outs(source)) < 2:
            yield flow, (f"is the only outgoing flow of activity {source.get('id')!r} and has a condition; "
                         "a conditional flow from an activity needs a sibling flow")


@constraint("EXT026")
def ext026(m: Model) -> Iterable[Finding]:
    """If an activity or gateway references a sequenceFlow as default flow, the referenced sequence flow must
    reference the activity/the gateway as sourceRef."""
    for name in ACTIVITIES | {"exclusiveGateway", "inclusiveGateway", "complexGateway"}:
        for node in m.of_type[name]:
            default = m.get(node.get("default"))
            if default is None or local(default) != "sequenceFlow":
                continue  # missing or mistyped: REF
            if ref_id(default.get("sourceRef")) != node.get("id"):
                yield node, (f"default flow {node.get('default')!r} starts at {default.get('sourceRef')!r}, "
                             "not at this element")


@constraint("default-flow-condition")
def default_flow_condition(m: Model) -> Iterable[Finding]:
    """A default sequence flow MUST NOT have a conditionExpression (any such expression is ignored)."""
    for name in ACTIVITIES | {"exclusiveGateway", "inclusiveGateway", "complexGateway"}:
        for node in m.of_type[name]:
            default = m.get(node.get("default"))
            if default is not None and default.find(f"{B}conditionExpression") is not None:
                yield default, "is the default flow and has a condition, which is ignored", "warning"


def _container(node: etree._Element) -> etree._Element | None:
    return node.getparent()


@constraint("EXT028")
def ext028(m: Model) -> Iterable[Finding]:
    """A Sequence Flow must not cross the border of a Pool."""
    for flow in m.of_type["sequenceFlow"]:
        source, target = m.get(flow.get("sourceRef")), m.get(flow.get("targetRef"))
        if source is None or target is None:
            continue
        if m.process_of(source) is not m.process_of(target) or m.process_of(flow) is not m.process_of(source):
            yield flow, (f"connects {source.get('id')!r} and {target.get('id')!r} across pools; "
                         "use a message flow between pools")


@constraint("EXT152")
def ext152(m: Model) -> Iterable[Finding]:
    """A Sequence Flow must not cross the border of a Sub-Process: source, target and the flow itself belong
    to the same process or sub-process."""
    for flow in m.of_type["sequenceFlow"]:
        source, target = m.get(flow.get("sourceRef")), m.get(flow.get("targetRef"))
        if source is None or target is None or m.process_of(source) is not m.process_of(target):
            continue
        if not (_container(source) is _container(target) is _container(flow)):
            yield flow, (f"connects {source.get('id')!r} and {target.get('id')!r} across a sub-process "
                         "boundary; flows stay inside the (sub-)process that holds them")


# --- collaboration -------------------------------------------------------------------------------------


@constraint("EXT029")
def ext029(m: Model) -> Iterable[Finding]:
    """The value of the minimum attribute of the participant multiplicity must not be negative."""
    for node in m.of_type["participantMultiplicity"]:
        minimum = _int(node.get("minimum"), 0)
        if minimum is None or minimum < 0:
            yield node, f"participant multiplicity minimum {node.get('minimum')!r} is negative or not a number"


@constraint("EXT030")
def ext030(m: Model) -> Iterable[Finding]:
    """The value of maximum MUST be one or greater, AND MUST be equal or greater than the minimum value."""
    for node in m.of_type["participantMultiplicity"]:
        minimum, maximum = _int(node.get("minimum"), 0), _int(node.get("maximum"), 1)
        if maximum is None or maximum < 1 or (minimum is not None and maximum < minimum):
            yield node, (f"participant multiplicity maximum {node.get('maximum')!r} must be at least 1 and "
                         f"at least the minimum {node.get('minimum')!r}")


def _pool_of(m: Model, value: str | None) -> etree._Element | str | None:
    """The participant (or, without one, the process) a message flow end belongs to."""
    node = m.get(value)
    if node is None:
        return None
    if local(node) == "participant":
        return node
    process = m.process_of(node)
    if process is None:
        return None
    return m.participant_of_process.get(process.get("id") or "", process)


@constraint("EXT031")
def ext031(m: Model) -> Iterable[Finding]:
    """A message flow must connect 'InteractionNodes' from different Pools."""
    for flow in m.of_type["messageFlow"]:
        source, target = _pool_of(m, flow.get("sourceRef")), _pool_of(m, flow.get("targetRef"))
        same = source is not None and source is target
        if not same and source is not None and target is not None:
            # a participant and the process it stands for are the same pool
            source_process = m.get(source.get("processRef")) if local(source) == "participant" else source
            target_process = m.get(target.get("processRef")) if local(target) == "participant" else target
            same = source_process is not None and source_process is target_process
        if same:
            yield flow, (f"connects {flow.get('sourceRef')!r} and {flow.get('targetRef')!r} inside one pool; "
                         "message flows connect different pools")


_CONVERSATION_CONTENT = {"conversation", "subConversation", "callConversation", "participantAssociation",
                         "messageFlowAssociation", "conversationAssociation"} | ARTIFACTS


@constraint("EXT032")
def ext032(m: Model) -> Iterable[Finding]:
    """A globalConversation must not contain any ConversationNodes, participantAssociations,
    messageFlowAssociations, conversationAssociations or artifacts."""
    for node in m.of_type["globalConversation"]:
        for child in node:
            if local(child) in _CONVERSATION_CONTENT:
                yield child, f"a global conversation must not contain a {local(child)}"


@constraint("EXT033")
def ext033(m: Model) -> Iterable[Finding]:
    """If a collaboration references a Choreography the value of the attribute isClosed must be equal for
    both elements."""
    for node in m.of_type["collaboration"]:
        for ref in node.findall(f"{B}choreographyRef"):
            choreography = m.get(ref.text)
            if choreography is not None and (node.get("isClosed") or "false") != (
                    choreography.get("isClosed") or "false"):
                yield node, (f"isClosed={node.get('isClosed') or 'false'} differs from choreography "
                             f"{choreography.get('id')!r} (isClosed={choreography.get('isClosed') or 'false'})")


@constraint("EXT027")
def ext027(m: Model) -> Iterable[Finding]:
    """A choreography or a GlobalConversation must not reference a choreography."""
    for name in ("choreography", "globalConversation"):
        for node in m.of_type[name]:
            for ref in node.findall(f"{B}choreographyRef"):
                yield node, f"{article(name)} cannot reference the choreography {(ref.text or '').strip()!r}"


@constraint("EXT035")
def ext035(m: Model) -> Iterable[Finding]:
    """A Public process may not be marked as executable."""
    for node in m.of_type["process"]:
        if node.get("processType") == "Public" and node.get("isExecutable") == "true":
            yield node, "a public process cannot be executable"


@constraint("EXT036")
def ext036(m: Model) -> Iterable[Finding]:
    """A Process must not contain Choreography Activities."""
    for process in m.of_type["process"]:
        for child in m.children(process, CHOREOGRAPHY_ACTIVITIES):
            yield child, f"a process cannot contain the choreography activity {local(child)}"


@constraint("EXT056")
def ext056(m: Model) -> Iterable[Finding]:
    """A SubProcess must not contain Choreography Activities."""
    for node in m.nodes(SUB_PROCESSES, executable_only=False):
        for child in m.children(node, CHOREOGRAPHY_ACTIVITIES):
            yield child, f"a sub-process cannot contain the choreography activity {local(child)}"


# --- activities ----------------------------------------------------------------------------------------


@constraint("EXT037")
def ext037(m: Model) -> Iterable[Finding]:
    """The value of the startQuantity attribute of an activity MUST NOT be less than 1."""
    for node in m.nodes(ACTIVITIES, executable_only=False):
        value = _int(node.get("startQuantity"), 1)
        if value is None or value < 1:
            yield node, f"startQuantity {node.get('startQuantity')!r} must be at least 1"


@constraint("EXT038")
def ext038(m: Model) -> Iterable[Finding]:
    """The value of the completionQuantity attribute of an activity MUST NOT be less than 1."""
    for node in m.nodes(ACTIVITIES, executable_only=False):
        value = _int(node.get("completionQuantity"), 1)
        if value is None or value < 1:
            yield node, f"completionQuantity {node.get('completionQuantity')!r} must be at least 1"


RESOURCE_ROLES = ("resourceRole", "performer", "humanPerformer", "potentialOwner")


@constraint("EXT039")
def ext039(m: Model) -> Iterable[Finding]:
    """A resource role names its resource either by resourceRef (with parameter bindings) or by a
    resourceAssignmentExpression, never both."""
    for node in m.nodes(RESOURCE_ROLES, executable_only=False):
        if node.find(f"{B}resourceRef") is not None and node.find(f"{B}resourceAssignmentExpression") is not None:
            yield node, "has both a resourceRef and a resourceAssignmentExpression"


@constraint("EXT040")
def ext040(m: Model) -> Iterable[Finding]:
    """resourceParameterBindings are only allowed if a resourceRef is given (they bind that resource's
    parameters)."""
    for node in m.nodes(RESOURCE_ROLES, executable_only=False):
        if node.find(f"{B}resourceParameterBinding") is not None and node.find(f"{B}resourceRef") is None:
            yield node, "binds resource parameters but references no resource (resourceRef)"


def _io(node: etree._Element) -> etree._Element | None:
    return node.find(f"{B}ioSpecification")


def _operation_item(m: Model, operation: etree._Element | None, which: str) -> etree._Element | None:
    if operation is None:
        return None
    ref = operation.find(f"{B}{which}")
    return _item_of_message(m, m.get(ref.text) if ref is not None else None)


def _item_of_message(m: Model, message: etree._Element | None) -> etree._Element | None:
    if message is None:
        return None
    item = m.get(message.get("itemRef"))
    return item if item is not None and local(item) == "itemDefinition" else None



def _io_limit(m: Model, task: str, ref: str, child: str, message: str, exactly_one: bool) -> Iterator[Finding]:
    """Tasks of one type that reference `ref` may have at most (or exactly) one `child` in their ioSpecification."""
    for node in m.of_type[task]:
        io = _io(node)
        if node.get(ref) and io is not None and (_count(io, child) != 1 if exactly_one else _count(io, child) > 1):
            yield node, message


def _message_items(m: Model, task: str, kind: str) -> Iterator[Finding]:
    for node in m.of_type[task]:
        io = _io(node)
        if io is not None and io.find(f"{B}{kind}") is not None:
            yield from _data_items_match(m, node, kind, _item_of_message(m, m.get(node.get("messageRef"))),
                                         f"message {node.get('messageRef')!r}")


@constraint("EXT042")
def ext042(m: Model) -> Iterable[Finding]:
    """If a ServiceTask references an operation, exactly one InputSet must be defined in the ioSpecification."""
    yield from _io_limit(m, "serviceTask", "operationRef", "inputSet",
                         "references an operation, so its ioSpecification needs exactly one inputSet",
                         exactly_one=True)


@constraint("EXT043")
def ext043(m: Model) -> Iterable[Finding]:
    """If a ServiceTask references an operation, at most one OutputSet can be defined in the ioSpecification."""
    yield from _io_limit(m, "serviceTask", "operationRef", "outputSet",
                         "references an operation, so its ioSpecification allows at most one outputSet",
                         exactly_one=False)


def _data_items_match(m: Model, node: etree._Element, kind: str, expected: etree._Element | None,
                      what: str) -> Iterator[Finding]:
    io = _io(node)
    if io is None:
        return
    for data in io.findall(f"{B}{kind}"):
        item = m.item_of(data)
        if not m.same_item(item, expected):
            yield data, (f"{kind} {data.get('id')!r} carries item {item.get('id') if item is not None else None!r}"
                         f", but {what} carries {expected.get('id') if expected is not None else None!r}")


@constraint("EXT044")
def ext044(m: Model) -> Iterable[Finding]:
    """The ItemDefinition of the DataInput of the ServiceTask and the inMessage itemDefinition of the
    referenced Operation must be equal."""
    for node in m.of_type["serviceTask"]:
        operation = m.get(node.get("operationRef"))
        if operation is not None and local(operation) == "operation":
            yield from _data_items_match(m, node, "dataInput", _operation_item(m, operation, "inMessageRef"),
                                         f"the in-message of operation {operation.get('id')!r}")


@constraint("EXT045")
def ext045(m: Model) -> Iterable[Finding]:
    """If the operation defines an outMessage, the ItemDefinition of the DataOutput of the ServiceTask and
    the outMessage of the operation must be equal."""
    for node in m.of_type["serviceTask"]:
        operation = m.get(node.get("operationRef"))
        if operation is not None and operation.find(f"{B}outMessageRef") is not None:
            yield from _data_items_match(m, node, "dataOutput", _operation_item(m, operation, "outMessageRef"),
                                         f"the out-message of operation {operation.get('id')!r}")


@constraint("EXT046")
def ext046(m: Model) -> Iterable[Finding]:
    """If a SendTask references a message, at most one InputSet must be defined in the ioSpecification."""
    yield from _io_limit(m, "sendTask", "messageRef", "inputSet",
                         "sends a message, so its ioSpecification allows at most one inputSet",
                         exactly_one=False)


@constraint("EXT047")
def ext047(m: Model) -> Iterable[Finding]:
    """If a SendTask references a message, at most one DataInput must be defined in the ioSpecification."""
    yield from _io_limit(m, "sendTask", "messageRef", "dataInput",
                         "sends a message, so its ioSpecification allows at most one dataInput (the message)",
                         exactly_one=False)


@constraint("EXT048")
def ext048(m: Model) -> Iterable[Finding]:
    """The DataInput of a SendTask must reference an Item which must be declared in the referenced Message
    definition."""
    yield from _message_items(m, "sendTask", "dataInput")


@constraint("EXT049")
def ext049(m: Model) -> Iterable[Finding]:
    """A ReceiveTask with attribute instantiate set to true must not have any incoming sequence flow."""
    for node in m.nodes(["receiveTask"]):
        if node.get("instantiate") == "true" and m.ins(node):
            yield node, "instantiates the process, so it cannot have an incoming sequence flow"


@constraint("EXT050")
def ext050(m: Model) -> Iterable[Finding]:
    """If a ReceiveTask references a message, at most one OutputSet must be defined in the ioSpecification."""
    yield from _io_limit(m, "receiveTask", "messageRef", "outputSet",
                         "receives a message, so its ioSpecification allows at most one outputSet",
                         exactly_one=False)


@constraint("EXT051")
def ext051(m: Model) -> Iterable[Finding]:
    """If a ReceiveTask references a message, at most one DataOutput must be defined in the ioSpecification."""
    yield from _io_limit(m, "receiveTask", "messageRef", "dataOutput",
                         "receives a message, so its ioSpecification allows at most one dataOutput (the message)",
                         exactly_one=False)


@constraint("EXT052")
def ext052(m: Model) -> Iterable[Finding]:
    """The DataOutput of a ReceiveTask must reference an Item which must be declared in the referenced Message
    definition."""
    yield from _message_items(m, "receiveTask", "dataOutput")


@constraint("EXT053")
def ext053(m: Model) -> Iterable[Finding]:
    """If a script is present the script type (scriptFormat) must be defined.

    Taktflow reads a script without scriptFormat as Python, its default language: such a script that is
    valid Python is a warning; one that is not, names no language it could be read in and is refused."""
    for node in m.nodes(["scriptTask"]):
        script = node.find(f"{B}script")
        if script is None or node.get("scriptFormat"):
            continue
        try:
            compile(script.text or "", node.get("id") or "script", "exec")
        except SyntaxError:
            yield node, "the script names no scriptFormat and is not Python, Taktflow's default script language"
            continue
        yield node, "the script names no scriptFormat; Taktflow reads it as Python", "warning"


@constraint("EXT054")
def ext054(m: Model) -> Iterable[Finding]:
    """The loop marker and the multi-instance marker of a Sub-Process MUST NOT be used at the same time."""
    for node in m.nodes(SUB_PROCESSES, executable_only=False):
        if node.find(f"{B}standardLoopCharacteristics") is not None and node.find(
                f"{B}multiInstanceLoopCharacteristics") is not None:
            yield node, "has both a standard loop and a multi-instance marker"


@constraint("EXT055")
def ext055(m: Model) -> Iterable[Finding]:
    """An Activity has at most one kind of loop characteristics: standard loop or multi-instance."""
    for node in m.nodes(ACTIVITIES, executable_only=False):
        if node.find(f"{B}standardLoopCharacteristics") is not None and node.find(
                f"{B}multiInstanceLoopCharacteristics") is not None:
            yield node, "has both standardLoopCharacteristics and multiInstanceLoopCharacteristics"


# --- sub-processes -------------------------------------------------------------------------------------


@constraint("EXT057")
def ext057(m: Model) -> Iterable[Finding]:
    """An Event Sub-Process MUST NOT have any incoming or outgoing Sequence Flows."""
    for node in m.nodes(["subProcess"]):
        if m.is_event_sub_process(node) and (m.ins(node) or m.outs(node)):
            yield node, "is an event sub-process and cannot have incoming or outgoing sequence flows"


@constraint("EXT058")
def ext058(m: Model) -> Iterable[Finding]:
    """An Event Sub-Process MUST have exactly one Start Event."""
    for node in m.nodes(["subProcess"]):
        if m.is_event_sub_process(node):
            starts = _count(node, "startEvent")
            if starts != 1:
                yield node, f"is an event sub-process with {starts} start events; it needs exactly one"


_EVENT_SUB_PROCESS_TRIGGERS = {"message", "error", "escalation", "compensate", "conditional", "signal", "timer"}


@constraint("EXT059")
def ext059(m: Model) -> Iterable[Finding]:
    """An Event Sub-Process MUST define at least one of the following EventDefinitions: message, error,
    escalation, compensation, conditional, signal (or timer). Link, cancel and terminate are not allowed;
    a non-interrupting start event may not be of type compensation or error."""
    for sub in m.nodes(["subProcess"]):
        if not m.is_event_sub_process(sub):
            continue
        for start in m.children(sub, ["startEvent"]):
            kinds = m.definitions(start)
            bad = [k for k in kinds if k not in _EVENT_SUB_PROCESS_TRIGGERS]
            if not kinds:
                yield start, "the start event of an event sub-process needs a trigger (event definition)"
            elif bad:
                yield start, f"an event sub-process cannot be started by a {', '.join(bad)} event"
            elif start.get("isInterrupting") == "false" and {"error", "compensate"} & set(kinds):
                yield start, "a non-interrupting event sub-process cannot be started by an error or compensation"


@constraint("EXT061")
def ext061(m: Model) -> Iterable[Finding]:
    """At least one Activity must be contained in an AdHocSubProcess."""
    for node in m.nodes(["adHocSubProcess"]):
        if not m.children(node, ACTIVITIES):
            yield node, "an ad-hoc sub-process needs at least one activity"


@constraint("EXT062")
def ext062(m: Model) -> Iterable[Finding]:
    """Start Event, End Event, Conversations, Conversation Links and Choreography Activities MUST NOT be used
    in an AdHocSubProcess."""
    for node in m.nodes(["adHocSubProcess"]):
        for child in m.children(node, {"startEvent", "endEvent"} | CHOREOGRAPHY_ACTIVITIES):
            yield child, f"an ad-hoc sub-process cannot contain a {local(child)}"


def _io_signature(m: Model, io: etree._Element | None) -> tuple[list[etree._Element | None], ...]:
    if io is None:
        return [], [], [], []
    return ([m.item_of(d) for d in io.findall(f"{B}dataInput")],
            [m.item_of(d) for d in io.findall(f"{B}dataOutput")],
            io.findall(f"{B}inputSet"), io.findall(f"{B}outputSet"))


@constraint("EXT063")
def ext063(m: Model) -> Iterable[Finding]:
    """A Call Activity MUST fulfill the data requirements, as well as return the data produced by the
    CallableElement being invoked: the elements contained in the Call Activity's InputOutputSpecification
    MUST exactly match the elements contained in the referenced CallableElement (DataInputs, DataOutputs,
    InputSets, and OutputSets)."""
    for node in m.of_type["callActivity"]:
        called = m.get(node.get("calledElement"))
        if called is None or local(called) not in CALLABLE:
            continue  # another file's process: checked by the engine when it resolves the call
        own, theirs = _io_signature(m, _io(node)), _io_signature(m, _io(called))
        labels = ("data inputs", "data outputs", "input sets", "output sets")
        for label, mine, other in zip(labels, own, theirs, strict=True):
            if len(mine) != len(other):
                yield node, (f"has {len(mine)} {label}, but the called {local(called)} "
                             f"{called.get('id')!r} has {len(other)}")
        for label, mine, other in zip(labels[:2], own[:2], theirs[:2], strict=True):
            if len(mine) == len(other) and not all(m.same_item(a, b) for a, b in zip(mine, other, strict=True)):
                yield node, f"the types of its {label} differ from those of {called.get('id')!r}"


@constraint("EXT064")
def ext064(m: Model) -> Iterable[Finding]:
    """At least one InputOutputBinding must be defined as the Callable Element is exposed as a Service."""
    for name in CALLABLE:
        for node in m.of_type[name]:
            if node.find(f"{B}supportedInterfaceRef") is not None and node.find(f"{B}ioBinding") is None:
                yield node, "supports an interface but binds none of its operations (ioBinding)"


@constraint("EXT065")
def ext065(m: Model) -> Iterable[Finding]:
    """An InputOutputBinding element must correctly bind one Input and one Output of the
    InputOutputSpecification to an Operation of a Service Interface (equal item definitions)."""
    for name in CALLABLE:
        for node in m.of_type[name]:
            for binding in node.findall(f"{B}ioBinding"):
                operation = m.get(binding.get("operationRef"))
                if operation is None or local(operation) != "operation":
                    continue
                pairs = (("inputDataRef", "inMessageRef", "input"), ("outputDataRef", "outMessageRef", "output"))
                for attr, message_ref, label in pairs:
                    data = m.get(binding.get(attr))
                    if data is None or operation.find(f"{B}{message_ref}") is None:
                        continue
                    if not m.same_item(m.item_of(data), _operation_item(m, operation, message_ref)):
                        yield binding, (f"binds {label} {binding.get(attr)!r} to operation "
                                        f"{operation.get('id')!r}, whose message carries another type")


@constraint("EXT067")
def ext067(m: Model) -> Iterable[Finding]:
    """If a multiInstance marker is used in an executable process either a loopCardinality or a
    loopDataInputRef must be present (Camunda's camunda:collection names the input collection too)."""
    for node in m.nodes(["multiInstanceLoopCharacteristics"]):
        if (node.find(f"{B}loopCardinality") is None and node.find(f"{B}loopDataInputRef") is None
                and node.get(f"{{{CAMUNDA_NS}}}collection") is None):
            yield node, "a multi-instance activity needs a loopCardinality or a loopDataInputRef"


@constraint("loop-cardinality")
def loop_cardinality(m: Model) -> Iterable[Finding]:
    """A multi-instance activity's loopCardinality is the number of instances: a constant must be a whole
    number, zero or more (an expression is checked when the activity starts: a negative result is an
    incident naming the activity)."""
    for node in m.nodes(["multiInstanceLoopCharacteristics"]):
        cardinality = node.find(f"{B}loopCardinality")
        if cardinality is None or not (cardinality.text or "").strip():
            continue
        try:
            value = ast.literal_eval(cardinality.text.strip())  # a constant, signed numbers included
        except (SyntaxError, ValueError):
            continue  # an expression
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            yield cardinality, (f"loopCardinality {cardinality.text.strip()!r} must be a whole number of "
                                "instances, zero or more")


@constraint("loop-maximum")
def loop_maximum(m: Model) -> Iterable[Finding]:
    """A standard loop's loopMaximum bounds its iterations: a whole number, zero or more."""
    for node in m.nodes(["standardLoopCharacteristics"]):
        value = node.get("loopMaximum")
        if value is not None and (_int(value, 0) is None or (_int(value, 0) or 0) < 0):
            yield node.getparent(), f"loopMaximum {value!r} must be a whole number of iterations, zero or more"


def _loop_data(m: Model, node: etree._Element, ref: str) -> etree._Element | None:
    """The dataInput/dataOutput a loopDataInputRef/loopDataOutputRef names (None for a variable name)."""
    element = node.find(f"{B}{ref}")
    target = m.get(element.text) if element is not None else None
    return target if target is not None and local(target) in ("dataInput", "dataOutput") else None


def _scalar_of(m: Model, collection: etree._Element, item_node: etree._Element | None,
               label: str) -> Iterator[Finding]:
    if item_node is None:
        return
    item, collection_item = m.item_of(item_node), m.item_of(collection)
    if item is None or collection_item is None:
        return
    if item.get("isCollection") == "true":
        yield item_node, f"the {label} data item is a collection; it must be one element of {collection.get('id')!r}"
    elif item.get("structureRef") != collection_item.get("structureRef"):
        yield item_node, (f"the {label} data item has type {item.get('structureRef')!r}, but the elements of "
                          f"{collection.get('id')!r} have type {collection_item.get('structureRef')!r}")


@constraint("EXT068")
def ext068(m: Model) -> Iterable[Finding]:
    """If a multi-instance task is used in an executable process, its loopDataInputRef must resolve to a
    DataInput of the task's own InputOutputSpecification."""
    for node in m.nodes(["multiInstanceLoopCharacteristics"]):
        ref, task = node.find(f"{B}loopDataInputRef"), node.getparent()
        if ref is None or not (ref.text or "").strip() or local(task) in SUB_PROCESSES:
            continue
        io = task.find(f"{B}ioSpecification")
        inputs = {d.get("id") for d in io.findall(f"{B}dataInput")} if io is not None else set()
        if ref_id(ref.text) not in inputs:
            yield node, (f"loopDataInputRef {ref.text.strip()!r} is no dataInput of {task.get('id')!r}'s "
                         "ioSpecification (Taktflow reads the collection by that name)")


@constraint("EXT069")
def ext069(m: Model) -> Iterable[Finding]:
    """Type of the outputDataItem must be the scalar of the loopDataOutput type."""
    for node in m.nodes(["multiInstanceLoopCharacteristics"]):
        collection = _loop_data(m, node, "loopDataOutputRef")
        if collection is not None:
            yield from _scalar_of(m, collection, node.find(f"{B}outputDataItem"), "output")


@constraint("EXT070")
def ext070(m: Model) -> Iterable[Finding]:
    """Type of the inputDataItem must be the scalar of the loopDataInput type."""
    for node in m.nodes(["multiInstanceLoopCharacteristics"]):
        collection = _loop_data(m, node, "loopDataInputRef")
        if collection is not None:
            yield from _scalar_of(m, collection, node.find(f"{B}inputDataItem"), "input")


def _constant(text: str) -> tuple[bool, object]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return False, None
    if isinstance(tree.body, ast.Constant):
        return True, tree.body.value
    return False, None


@constraint("EXT071")
def ext071(m: Model) -> Iterable[Finding]:
    """The completionCondition of a multi-instance activity is a boolean Expression."""
    for node in m.nodes(["multiInstanceLoopCharacteristics"]):
        condition = node.find(f"{B}completionCondition")
        if condition is None or not (condition.text or "").strip():
            continue
        constant, value = _constant(condition.text)
        if constant and not isinstance(value, bool):
            yield condition, f"completionCondition {condition.text.strip()!r} is not a boolean expression"


# --- data ----------------------------------------------------------------------------------------------


def _is_collection_mismatch(m: Model, names: Iterable[str]) -> Iterator[Finding]:
    for node in m.nodes(names, executable_only=False):
        item = m.get(node.get("itemSubjectRef"))
        if item is None or local(item) != "itemDefinition":
            continue
        mine, theirs = node.get("isCollection") or "false", item.get("isCollection") or "false"
        if mine != theirs:
            yield node, (f"isCollection={mine}, but its item definition {item.get('id')!r} says "
                         f"isCollection={theirs}")


@constraint("EXT020")
def ext020(m: Model) -> Iterable[Finding]:
    """The attribute isCollection of an ItemAwareElement (data object, data input, data output) must match
    the definition of the referenced itemDefinition."""
    yield from _is_collection_mismatch(m, ("dataObject", "dataInput", "dataOutput"))


@constraint("EXT077")
def ext077(m: Model) -> Iterable[Finding]:
    """The isCollection attribute of a DataObject must match the referenced itemDefinition."""
    yield from _is_collection_mismatch(m, ("dataObject",))


@constraint("EXT083")
def ext083(m: Model) -> Iterable[Finding]:
    """The isCollection attribute of a DataOutput must match the referenced itemDefinition."""
    yield from _is_collection_mismatch(m, ("dataOutput",))


@constraint("EXT076")
def ext076(m: Model) -> Iterable[Finding]:
    """Naming convention of a data object reference with a state: name = Data Object Name [State]."""
    for node in m.of_type["dataObjectReference"]:
        state = node.find(f"{B}dataState")
        data_object = m.get(node.get("dataObjectRef"))
        if node.get("name") is None or state is None or not state.get("name") or data_object is None:
            continue
        if not data_object.get("name"):
            continue
        expected = f"{data_object.get('name')} [{state.get('name')}]"
        if node.get("name") != expected:
            yield node, f"is named {node.get('name')!r}; a reference in state {state.get('name')!r} is {expected!r}"


@constraint("EXT079")
def ext079(m: Model) -> Iterable[Finding]:
    """InputOutputSpecifications are not allowed in SubProcesses."""
    for node in m.nodes(SUB_PROCESSES, executable_only=False):
        if _io(node) is not None:
            yield node, "a sub-process cannot have an ioSpecification; it sees its parent's data"


def _process_io(m: Model, name: str) -> set[str]:
    found = set()
    for process in m.of_type["process"]:
        io = _io(process)
        if io is not None:
            found.update(d.get("id") for d in io.findall(f"{B}{name}") if d.get("id"))
    return found


@constraint("EXT080")
def ext080(m: Model) -> Iterable[Finding]:
    """A DataInput of a Process provides data to the Process: it may be the source of Data Associations, but
    never their target."""
    inputs = _process_io(m, "dataInput")
    for name in ("dataInputAssociation", "dataOutputAssociation"):
        for association in m.of_type[name]:
            target = association.find(f"{B}targetRef")
            if target is not None and ref_id(target.text) in inputs:
                yield association, f"writes to the process input {target.text.strip()!r}, which is read-only"


@constraint("EXT082")
def ext082(m: Model) -> Iterable[Finding]:
    """A DataOutput of a Process collects the data the Process produces: it may be the target of Data
    Associations, but never their source."""
    outputs = _process_io(m, "dataOutput")
    for name in ("dataInputAssociation", "dataOutputAssociation"):
        for association in m.of_type[name]:
            for source in association.findall(f"{B}sourceRef"):
                if ref_id(source.text) in outputs:
                    yield association, f"reads the process output {source.text.strip()!r}, which is write-only"


def _set_refs(container: etree._Element, set_name: str, ref_name: str) -> set[str]:
    return {ref_id(r.text) or "" for s in container.findall(f"{B}{set_name}") for r in s.findall(f"{B}{ref_name}")}


@constraint("EXT084")
def ext084(m: Model) -> Iterable[Finding]:
    """A DataInput must be referenced by at least one InputSet."""
    for node in m.of_type["dataInput"]:
        container = node.getparent()
        if container is not None and node.get("id") not in _set_refs(container, "inputSet", "dataInputRefs"):
            yield node, f"data input {node.get('id')!r} is in no inputSet"


@constraint("EXT088")
def ext088(m: Model) -> Iterable[Finding]:
    """A DataOutput must be referenced by at least one OutputSet."""
    for node in m.of_type["dataOutput"]:
        container = node.getparent()
        if container is not None and node.get("id") not in _set_refs(container, "outputSet", "dataOutputRefs"):
            yield node, f"data output {node.get('id')!r} is in no outputSet"


def _subset(m: Model, set_name: str, listed: str, refs: str, label: str) -> Iterator[Finding]:
    for data_set in m.of_type[set_name]:
        members = {ref_id(r.text) for r in data_set.findall(f"{B}{refs}")}
        for ref in data_set.findall(f"{B}{listed}"):
            if ref_id(ref.text) not in members:
                yield data_set, f"{label} {ref.text.strip()!r} is not one of this set's {refs}"


@constraint("EXT085")
def ext085(m: Model) -> Iterable[Finding]:
    """An optionalInputRef must be listed as dataInputRef of the same InputSet."""
    yield from _subset(m, "inputSet", "optionalInputRefs", "dataInputRefs", "optional input")


@constraint("EXT086")
def ext086(m: Model) -> Iterable[Finding]:
    """A whileExecutingInputRef must be listed as dataInputRef of the same InputSet."""
    yield from _subset(m, "inputSet", "whileExecutingInputRefs", "dataInputRefs", "while-executing input")


@constraint("EXT089")
def ext089(m: Model) -> Iterable[Finding]:
    """An optionalOutputRef must be listed as dataOutputRef of the same OutputSet."""
    yield from _subset(m, "outputSet", "optionalOutputRefs", "dataOutputRefs", "optional output")


@constraint("EXT090")
def ext090(m: Model) -> Iterable[Finding]:
    """A whileExecutingOutputRef must be listed as dataOutputRef of the same OutputSet."""
    yield from _subset(m, "outputSet", "whileExecutingOutputRefs", "dataOutputRefs", "while-executing output")


@constraint("EXT087")
def ext087(m: Model) -> Iterable[Finding]:
    """If an inputSet references an outputSet using the outputSetRefs element it must be referenced by the
    outputSet using the inputSetRefs element and vice versa."""
    pairs = (("inputSet", "outputSetRefs", "inputSetRefs"), ("outputSet", "inputSetRefs", "outputSetRefs"))
    for set_name, forward, backward in pairs:
        for data_set in m.of_type[set_name]:
            for ref in data_set.findall(f"{B}{forward}"):
                other = m.get(ref.text)
                if other is None:
                    continue
                back = {ref_id(r.text) for r in other.findall(f"{B}{backward}")}
                if data_set.get("id") not in back:
                    yield data_set, (f"{set_name} {data_set.get('id')!r} refers to {ref.text.strip()!r}, "
                                     f"which does not refer back in its {backward}")


@constraint("EXT091")
def ext091(m: Model) -> Iterable[Finding]:
    """sourceRef and targetRef of a DataAssociation must have the same ItemDefinition or a transformation
    must be present."""
    for name in ("dataInputAssociation", "dataOutputAssociation"):
        for association in m.of_type[name]:
            if association.find(f"{B}transformation") is not None:
                continue
            target = association.find(f"{B}targetRef")
            target_item = m.item_of(m.get(target.text)) if target is not None else None
            for source in association.findall(f"{B}sourceRef"):
                source_item = m.item_of(m.get(source.text))
                if source_item is not None and target_item is not None and not m.same_item(source_item,
                                                                                           target_item):
                    yield association, (f"maps {source.text.strip()!r} ({source_item.get('id')}) to "
                                        f"{target.text.strip()!r} ({target_item.get('id')}) of another type "
                                        "without a transformation")


@constraint("EXT092")
def ext092(m: Model) -> Iterable[Finding]:
    """If a DataAssociation does not define a Transformation, only a single sourceRef is allowed."""
    for name in ("dataInputAssociation", "dataOutputAssociation"):
        for association in m.of_type[name]:
            if association.find(f"{B}transformation") is None and len(association.findall(f"{B}sourceRef")) > 1:
                yield association, "has several sources but no transformation to combine them"


_THROW = ("intermediateThrowEvent", "endEvent")
_CATCH = ("startEvent", "intermediateCatchEvent", "boundaryEvent")


def _event_data(m: Model) -> Iterator[tuple[etree._Element, list[etree._Element], list[etree._Element]]]:
    for names, data in ((_THROW, "dataInput"), (_CATCH, "dataOutput")):
        for event in m.nodes(names, executable_only=False):
            items = event.findall(f"{B}{data}")
            if items:
                yield event, items, m.definition_nodes(event)


@constraint("EXT093")
def ext093(m: Model) -> Iterable[Finding]:
    """If dataInputs (throw events) or dataOutputs (catch events) are used, one must be defined for each
    eventDefinition."""
    for event, items, definitions in _event_data(m):
        if len(items) != len(definitions):
            yield event, f"has {len(items)} data items for {len(definitions)} event definitions"


def _payload(m: Model, definition: etree._Element) -> etree._Element | None:
    name = local(definition)
    if name == "messageEventDefinition":
        return _item_of_message(m, m.get(definition.get("messageRef")))
    attr = {"errorEventDefinition": "errorRef", "escalationEventDefinition": "escalationRef",
            "signalEventDefinition": "signalRef"}.get(name)
    trigger = m.get(definition.get(attr)) if attr else None
    item = m.get(trigger.get("structureRef")) if trigger is not None else None
    return item if item is not None and local(item) == "itemDefinition" else None


@constraint("EXT094")
def ext094(m: Model) -> Iterable[Finding]:
    """The itemDefinition for each eventDefinition must be equivalent to the itemDefinition of the
    corresponding dataInput/dataOutput."""
    for _event, items, definitions in _event_data(m):
        for data, definition in zip(items, definitions, strict=False):
            payload = _payload(m, definition)
            if payload is not None and not m.same_item(m.item_of(data), payload):
                yield data, (f"carries another type than the {local(definition)} it belongs to "
                             f"({payload.get('id')!r})")


# --- events --------------------------------------------------------------------------------------------


@constraint("EXT011")
def ext011(m: Model) -> Iterable[Finding]:
    """An escalationCode must be present if the escalation is used in an EndEvent or in an intermediate throw
    Event if the trigger is an Escalation."""
    for event in m.nodes(_THROW):
        for definition in m.definition_nodes(event):
            if local(definition) != "escalationEventDefinition":
                continue
            escalation = m.get(definition.get("escalationRef"))
            if escalation is None or not escalation.get("escalationCode"):
                yield event, (f"throws escalation {definition.get('escalationRef')!r}, which has no escalationCode"
                              if escalation is not None else "throws an escalation but names none (escalationRef)")


def _xsi_type(node: etree._Element) -> str:
    return (node.get(XSI_TYPE) or "").rsplit(":", 1)[-1]


def _literal(text: str) -> str:
    """A timer body without the quotes the parser's normalisation adds around ISO 8601 literals."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        try:
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            return text
        return value if isinstance(value, str) else text
    return text


_DURATION = re.compile(
    r"^P(?!$)(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?W)?(\d+(?:[.,]\d+)?D)?"
    r"(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#LW-]+$")


def is_duration(text: str) -> bool:
    return bool(_DURATION.match(text))


def is_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return any(c.isdigit() for c in text) and "-" in text


def is_cycle(text: str) -> bool:
    """ISO 8601 repeating interval (R[n]/start/duration, R[n]/duration[/end], R[n]/start/end) or cron."""
    parts = text.split("/")
    if re.fullmatch(r"R[0-9]*", parts[0]) and 2 <= len(parts) <= 3:  # [0-9], not \d: no Unicode digits
        rest = parts[1:]
        if len(rest) == 1:
            return is_duration(rest[0])
        return ((is_date(rest[0]) and (is_duration(rest[1]) or is_date(rest[1])))
                or (is_duration(rest[0]) and is_date(rest[1])))
    fields = text.split()
    return 5 <= len(fields) <= 7 and all(_CRON_FIELD.match(f) for f in fields)


def _expression_body(text: str) -> bool:
    """An expression rather than a literal: ${...}/#{...} (JUEL), or Python other than a constant (a bare
    name reads a process variable)."""
    if re.match(r"^[$#]\{.*\}$", text, re.S):
        return True
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return not isinstance(tree.body, ast.Constant)


def _timer_literal(node: etree._Element) -> str | None:
    """The ISO 8601/cron literal a timer element holds, or None when it holds an expression.

    A bare word (`INVALID`, `dunningAt`) is read as a literal: a timer that reads a variable says so,
    `${dunningAt}` (JUEL, translated before validation) or a Python expression such as `str(dunningAt)`."""
    raw = (node.text or "").strip()
    bare_word = re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", raw) is not None and node.get(TRANSLATED) is None
    if raw and raw[0] not in "'\"" and not bare_word and _expression_body(raw):
        return None
    return _literal(raw)


_TIMER_FORMAT = {"timeDate": is_date, "timeDuration": is_duration, "timeCycle": is_cycle}



@constraint("EXT012")
def ext012(m: Model) -> Iterable[Finding]:
    """If natural-language expressions are used the process is not executable. A FormalExpression has to be
    provided or the process must be marked as isExecutable='false'.

    Camunda Modeler and bpmn.io write xsi:type="bpmn:tFormalExpression" on every condition and timer; an
    untyped one is natural language by the specification and refused, whatever it looks like."""
    for name in EXPRESSIONS:
        for node in m.nodes([name]):
            parent = node.getparent()
            if name == "condition" and (parent is None or local(parent) == "complexBehaviorDefinition"):
                continue  # typed tFormalExpression by the schema
            if name in ("from", "to") and (parent is None or local(parent) != "assignment"):
                continue
            if _xsi_type(node) == "tFormalExpression":
                continue
            yield _element(node), (f"{name} is a natural-language expression (no xsi:type=\"bpmn:"
                                   "tFormalExpression\"); an executable process needs formal expressions")


@constraint("EXT013")
def ext013(m: Model) -> Iterable[Finding]:
    """Body is a mandatory attribute of a FormalExpression: the element must contain an expression as its
    string content."""
    candidates = [n for n in m.root.iter() if isinstance(n.tag, str) and _xsi_type(n) == "tFormalExpression"]
    candidates += [n for n in m.of_type["condition"] if n.getparent() is not None
                   and local(n.getparent()) == "complexBehaviorDefinition"]
    candidates += m.of_type["dataPath"] + m.of_type["messagePath"] + m.of_type["transformation"]
    candidates += m.of_type["formalExpression"]
    seen = set()
    for node in candidates:
        if node in seen:
            continue
        seen.add(node)
        if not (node.text or "").strip() and len(node) == 0:
            yield node, f"the formal expression {etree.QName(node).localname} has no body"


@constraint("EXT095")
def ext095(m: Model) -> Iterable[Finding]:
    """EventDefinitions defined in a throw event are not allowed to be used somewhere else."""
    owned = {}
    for event in m.nodes(_THROW, executable_only=False):
        for child in event:
            if local(child) in EVENT_DEFINITIONS and child.get("id"):
                owned[child.get("id")] = event
    for ref in m.of_type["eventDefinitionRef"]:
        event = owned.get(ref_id(ref.text) or "")
        if event is not None and ref.getparent() is not event:
            yield ref.getparent(), (f"uses event definition {ref.text.strip()!r}, which belongs to throw event "
                                    f"{event.get('id')!r}")


@constraint("EXT096")
def ext096(m: Model) -> Iterable[Finding]:
    """A Start Event must not have an incoming sequence flow."""
    for node in m.nodes(["startEvent"]):
        if m.ins(node):
            yield node, "a start event cannot have an incoming sequence flow"


def _levels(m: Model) -> Iterator[etree._Element]:
    """Every process level that holds flow: executable processes and their (non-ad-hoc) sub-processes."""
    for name in ("process", "subProcess", "transaction"):
        for node in m.nodes([name]):
            if node.get("isExecutable") == "false":
                continue
            yield node


def _instantiating(node: etree._Element) -> bool:
    return local(node) in ("receiveTask", "eventBasedGateway") and node.get("instantiate") == "true"


@constraint("EXT097")
def ext097(m: Model) -> Iterable[Finding]:
    """A Start event (or an instantiating ReceiveTask) must be present when an End event is used in the same
    process level."""
    for level in _levels(m):
        ends = m.children(level, ["endEvent"])
        if ends and not m.children(level, ["startEvent"]) and not any(_instantiating(c) for c in level):
            yield ends[0], f"{local(level)} {level.get('id')!r} has an end event but no start event"


@constraint("EXT105")
def ext105(m: Model) -> Iterable[Finding]:
    """An end event must be present when a start event is used in the same process level."""
    for level in _levels(m):
        starts = m.children(level, ["startEvent"])
        if starts and not m.children(level, ["endEvent"]):
            yield starts[0], f"{local(level)} {level.get('id')!r} has a start event but no end event"


_TOP_LEVEL_STARTS = {"message", "timer", "conditional", "signal"}


@constraint("EXT098")
def ext098(m: Model) -> Iterable[Finding]:
    """Only message, timer, conditional and signal EventDefinitions are allowed for top-level process start
    events."""
    for process in m.nodes(["process"]):
        for start in m.children(process, ["startEvent"]):
            bad = [k for k in m.definitions(start) if k not in _TOP_LEVEL_STARTS]
            if bad:
                yield start, f"a process cannot be started by a {', '.join(bad)} event"


@constraint("EXT099")
def ext099(m: Model) -> Iterable[Finding]:
    """A Process referenced by a Call Activity must have at least one None Start Event."""
    called = {ref_id(c.get("calledElement")) for c in m.of_type["callActivity"]}
    for process in m.of_type["process"]:
        if process.get("id") in called and not any(
                not m.definitions(s) for s in m.children(process, ["startEvent"])):
            yield process, "is called by a call activity, so it needs a start event without a trigger"


@constraint("EXT100")
def ext100(m: Model) -> Iterable[Finding]:
    """No EventDefinition is allowed for Start Events in Sub-Process definitions (other than event
    sub-processes)."""
    for sub in m.nodes(SUB_PROCESSES):
        if m.is_event_sub_process(sub):
            continue
        for start in m.children(sub, ["startEvent"]):
            if m.definitions(start):
                yield start, "the start event of a sub-process cannot have a trigger; the parent flow starts it"


@constraint("EXT101")
def ext101(m: Model) -> Iterable[Finding]:
    """A Start Event must be the source of at least one sequence flow."""
    for node in m.nodes(["startEvent"]):
        if not m.outs(node) or node.find(f"{B}outgoing") is None:
            yield node, "a start event needs an outgoing sequence flow (listed as its outgoing)"


def _message_flow_ends(m: Model, attr: str, names: Iterable[str]) -> Iterator[tuple[etree._Element, etree._Element]]:
    wanted = set(names)
    for flow in m.of_type["messageFlow"]:
        node = m.get(flow.get(attr))
        if node is not None and local(node) in wanted:
            yield flow, node


@constraint("EXT102")
def ext102(m: Model) -> Iterable[Finding]:
    """A Start Event MUST NOT be a source for a message flow."""
    for flow, node in _message_flow_ends(m, "sourceRef", ["startEvent"]):
        yield flow, f"starts at the start event {node.get('id')!r}, which cannot send messages"


@constraint("EXT103")
def ext103(m: Model) -> Iterable[Finding]:
    """If a Start Event is target of a MessageFlow definition, at least one messageEventDefinition must be
    present."""
    for flow, node in _message_flow_ends(m, "targetRef", ["startEvent"]):
        if "message" not in m.definitions(node):
            yield node, f"receives message flow {flow.get('id')!r} but is no message start event"


@constraint("EXT104")
def ext104(m: Model) -> Iterable[Finding]:
    """An End Event must not have an outgoing sequence flow."""
    for node in m.nodes(["endEvent"]):
        if m.outs(node):
            yield node, "an end event cannot have an outgoing sequence flow"


@constraint("EXT106")
def ext106(m: Model) -> Iterable[Finding]:
    """A cancel EndEvent is only allowed in a transaction sub-process."""
    for node in m.nodes(["endEvent"]):
        parent = node.getparent()
        if "cancel" in m.definitions(node) and (parent is None or local(parent) != "transaction"):
            yield node, "a cancel end event is only allowed inside a transaction"


@constraint("EXT107")
def ext107(m: Model) -> Iterable[Finding]:
    """An End Event MUST have at least one incoming Sequence Flow."""
    for node in m.nodes(["endEvent"]):
        if not m.ins(node):
            yield node, "an end event needs an incoming sequence flow"


@constraint("EXT108")
def ext108(m: Model) -> Iterable[Finding]:
    """An End Event MUST NOT be a target for a message flow."""
    for flow, node in _message_flow_ends(m, "targetRef", ["endEvent"]):
        yield flow, f"ends at the end event {node.get('id')!r}, which cannot receive messages"


@constraint("EXT109")
def ext109(m: Model) -> Iterable[Finding]:
    """If an end event is source of a MessageFlow definition, at least one messageEventDefinition must be
    present."""
    for flow, node in _message_flow_ends(m, "sourceRef", ["endEvent"]):
        if "message" not in m.definitions(node):
            yield node, f"sends message flow {flow.get('id')!r} but is no message end event"


_BOUNDARY = {"message", "timer", "escalation", "error", "cancel", "compensate", "conditional", "signal"}
_NON_INTERRUPTING_FORBIDDEN = {"error", "cancel", "compensate"}


@constraint("EXT110")
def ext110(m: Model) -> Iterable[Finding]:
    """A boundaryEvent with cancelActivity='true' must have at least one eventDefinition but does not allow
    link or terminate eventDefinitions; with cancelActivity='false' it does not allow link, error, cancel,
    compensate or terminate eventDefinitions either."""
    for node in m.nodes(["boundaryEvent"]):
        kinds = m.definitions(node)
        forbidden = {"link", "terminate"}
        if node.get("cancelActivity") == "false":
            forbidden |= _NON_INTERRUPTING_FORBIDDEN
        if not kinds:
            yield node, "a boundary event needs a trigger (event definition)"
        elif forbidden & set(kinds):
            mode = "non-interrupting" if node.get("cancelActivity") == "false" else "interrupting"
            kind = ", ".join(sorted(forbidden & set(kinds)))
            yield node, f"{article(mode)} boundary event cannot be {article(kind)} event"


@constraint("EXT147")
def ext147(m: Model) -> Iterable[Finding]:
    """Only message, timer, escalation, error, cancel, compensation, conditional and signal EventDefinitions
    are allowed for boundary events; error, cancel and compensation ones always interrupt the activity."""
    for node in m.nodes(["boundaryEvent"]):
        kinds = m.definitions(node)
        bad = [k for k in kinds if k not in _BOUNDARY]
        if not kinds:
            yield node, "a boundary event needs one of: message, timer, escalation, error, cancel, compensation, " \
                        "conditional, signal"
        elif bad:
            yield node, f"a boundary event cannot be {article(', '.join(bad))} event"
        elif node.get("cancelActivity") == "false" and _NON_INTERRUPTING_FORBIDDEN & set(kinds):
            yield node, "error, cancel and compensation boundary events cannot be non-interrupting"


@constraint("EXT111")
def ext111(m: Model) -> Iterable[Finding]:
    """A cancel boundary event must be attached to a Transaction."""
    for node in m.nodes(["boundaryEvent"]):
        if "cancel" in m.definitions(node) and m.type_of(node.get("attachedToRef")) != "transaction":
            yield node, "a cancel boundary event can only be attached to a transaction"


@constraint("boundary-attachment")
def boundary_attachment(m: Model) -> Iterable[Finding]:
    """A boundary event is attached to an activity of the same process or sub-process that holds it."""
    for node in m.nodes(["boundaryEvent"]):
        activity = m.get(node.get("attachedToRef"))
        if activity is not None and local(activity) in ACTIVITIES and activity.getparent() is not node.getparent():
            yield node, f"is attached to {activity.get('id')!r}, which is in another (sub-)process"


@constraint("EXT112")
def ext112(m: Model) -> Iterable[Finding]:
    """A boundary event must not be target of a Sequence Flow."""
    for node in m.nodes(["boundaryEvent"]):
        if m.ins(node):
            yield node, "a boundary event cannot have an incoming sequence flow"


@constraint("EXT113")
def ext113(m: Model) -> Iterable[Finding]:
    """A boundary event must be a source of at least a SequenceFlow (except compensation boundary events)."""
    for node in m.nodes(["boundaryEvent"]):
        if not m.outs(node) and "compensate" not in m.definitions(node):
            yield node, "a boundary event needs an outgoing sequence flow"


@constraint("EXT114")
def ext114(m: Model) -> Iterable[Finding]:
    """A compensation boundary event MUST NOT have an outgoing Sequence Flow."""
    for node in m.nodes(["boundaryEvent"]):
        if "compensate" in m.definitions(node) and m.outs(node):
            yield node, "a compensation boundary event is linked to its handler by an association, not by flow"


@constraint("EXT115")
def ext115(m: Model) -> Iterable[Finding]:
    """Intermediate Events MUST be a target of at least a Sequence Flow (except catching link events)."""
    for node in m.nodes(["intermediateThrowEvent", "intermediateCatchEvent"]):
        if m.ins(node) or (local(node) == "intermediateCatchEvent" and "link" in m.definitions(node)):
            continue
        parent = node.getparent()
        if parent is not None and local(parent) == "adHocSubProcess":
            continue
        yield node, "an intermediate event needs an incoming sequence flow"


@constraint("EXT116")
def ext116(m: Model) -> Iterable[Finding]:
    """Intermediate Events MUST be a source of at least a Sequence Flow (except throwing link events)."""
    for node in m.nodes(["intermediateThrowEvent", "intermediateCatchEvent"]):
        if m.outs(node) or (local(node) == "intermediateThrowEvent" and "link" in m.definitions(node)):
            continue
        parent = node.getparent()
        if parent is not None and local(parent) == "adHocSubProcess":
            continue
        yield node, "an intermediate event needs an outgoing sequence flow"


@constraint("EXT117")
def ext117(m: Model) -> Iterable[Finding]:
    """A Link Intermediate Event MUST NOT be both a target and a source of a Sequence Flow: a throwing link has
    no outgoing flow, a catching link no incoming flow."""
    for node in m.nodes(["intermediateThrowEvent"]):
        if "link" in m.definitions(node) and m.outs(node):
            yield node, "a throwing link event cannot have an outgoing sequence flow"
    for node in m.nodes(["intermediateCatchEvent"]):
        if "link" in m.definitions(node) and m.ins(node):
            yield node, "a catching link event cannot have an incoming sequence flow"


@constraint("EXT118")
def ext118(m: Model) -> Iterable[Finding]:
    """For each source Link there must exist a corresponding target (which lists the source)."""
    for definition in m.of_type["linkEventDefinition"]:
        for target_ref in definition.findall(f"{B}target"):
            target = m.get(target_ref.text)
            if target is None or local(target) != "linkEventDefinition":
                continue  # REF
            sources = {ref_id(s.text) for s in target.findall(f"{B}source")}
            if sources and definition.get("id") not in sources:
                yield definition.getparent(), (f"links to {target_ref.text.strip()!r}, which does not list it "
                                               "among its sources")


@constraint("EXT119")
def ext119(m: Model) -> Iterable[Finding]:
    """An intermediateThrowEvent must not be a target of a messageFlow; an intermediateCatchEvent must not be
    a source of a messageFlow."""
    for flow, node in _message_flow_ends(m, "targetRef", ["intermediateThrowEvent"]):
        yield flow, f"ends at the throw event {node.get('id')!r}, which cannot receive messages"
    for flow, node in _message_flow_ends(m, "sourceRef", ["intermediateCatchEvent"]):
        yield flow, f"starts at the catch event {node.get('id')!r}, which cannot send messages"


@constraint("EXT121")
def ext121(m: Model) -> Iterable[Finding]:
    """A compensation Start Event is only allowed to start an Event Sub-Process."""
    for node in m.nodes(["startEvent"]):
        parent = node.getparent()
        if "compensate" in m.definitions(node) and (parent is None or not m.is_event_sub_process(parent)):
            yield node, "only an event sub-process can be started by compensation"


@constraint("EXT122")
def ext122(m: Model) -> Iterable[Finding]:
    """An intermediateCatchEvent in normal flow must not contain a compensateEventDefinition."""
    for node in m.nodes(["intermediateCatchEvent"]):
        if "compensate" in m.definitions(node):
            yield node, "compensation is caught by boundary events or event sub-processes, not in normal flow"


@constraint("EXT123")
def ext123(m: Model) -> Iterable[Finding]:
    """For executable Processes, if the trigger is Conditional, then a FormalExpression MUST be entered."""
    for definition in m.nodes(["conditionalEventDefinition"]):
        condition = definition.find(f"{B}condition")
        if condition is None or not (condition.text or "").strip():
            yield definition, "a conditional event needs a condition expression"


@constraint("EXT124")
def ext124(m: Model) -> Iterable[Finding]:
    """A LinkEventDefinition in a catch event must have at least one source element.

    Taktflow (like bpmn.io, Camunda and Flowable) pairs link events by name, so a missing source changes
    nothing at run time: the standard profile warns."""
    for definition in m.of_type["linkEventDefinition"]:
        event = definition.getparent()
        if event is not None and local(event) == "intermediateCatchEvent" and definition.find(f"{B}source") is None:
            yield event, "the catching link event names no source link (linkEventDefinition/source)"


@constraint("EXT125")
def ext125(m: Model) -> Iterable[Finding]:
    """A LinkEventDefinition in a throw event must have exactly one target element."""
    for definition in m.of_type["linkEventDefinition"]:
        event = definition.getparent()
        if event is None or local(event) != "intermediateThrowEvent":
            continue
        targets = len(definition.findall(f"{B}target"))
        if targets != 1:
            yield event, f"the throwing link event names {targets} target links; it needs exactly one"


@constraint("EXT126")
def ext126(m: Model) -> Iterable[Finding]:
    """Links are only allowed to a target in the same process and process level."""
    for definition in m.of_type["linkEventDefinition"]:
        event = definition.getparent()
        for target_ref in definition.findall(f"{B}target"):
            target = m.get(target_ref.text)
            if target is None or local(target) != "linkEventDefinition" or event is None:
                continue
            catch = target.getparent()
            if catch is not None and catch.getparent() is not event.getparent():
                yield event, f"links to {catch.get('id')!r}, which is on another process level"


def _camunda_implemented(definition: etree._Element) -> bool:
    return any(definition.get(f"{{{CAMUNDA_NS}}}{a}") for a in ("class", "delegateExpression", "expression", "type"))


@constraint("EXT127")
def ext127(m: Model) -> Iterable[Finding]:
    """A messageRef must be present if the process should be executable.

    A throwing message event that Camunda attributes implement (camunda:class, :type, ...) sends what its
    implementation builds: reported as a warning."""
    for definition in m.nodes(["messageEventDefinition"]):
        if definition.get("messageRef"):
            continue
        event = definition.getparent()
        if event is not None and local(event) in _THROW and _camunda_implemented(definition):
            yield event, "the message event names no message (messageRef); its implementation sends one", "warning"
        else:
            yield event, "a message event in an executable process must name its message (messageRef)"


@constraint("EXT128")
def ext128(m: Model) -> Iterable[Finding]:
    """An operationRef must be present if the process should be executable.

    Models written for Camunda or SpiffWorkflow (their namespace is declared) correlate messages by name, as
    those engines and Taktflow do, and never carry a WSDL operation: for them a missing operationRef is a
    warning. A plain BPMN model must name its operation."""
    dialect = any(uri in (CAMUNDA_URI, SPIFF_URI) for uri in m.root.nsmap.values())
    for definition in m.nodes(["messageEventDefinition"]):
        if definition.find(f"{B}operationRef") is None:
            message = "the message event names no operation (operationRef)"
            if dialect:
                yield definition.getparent(), f"{message}; correlated by message name", "warning"
            else:
                yield definition.getparent(), (f"{message}; a plain BPMN model must name one (models in the "
                                               "Camunda or SpiffWorkflow dialect correlate by message name)")


@constraint("EXT129")
def ext129(m: Model) -> Iterable[Finding]:
    """The Start Event of an Event Sub-Process must have a trigger (an event definition)."""
    for sub in m.nodes(["subProcess"]):
        if m.is_event_sub_process(sub):
            for start in m.children(sub, ["startEvent"]):
                if not m.definitions(start):
                    yield start, "the start event of an event sub-process needs an event definition"


@constraint("EXT131")
def ext131(m: Model) -> Iterable[Finding]:
    """A timer uses only one of timeDate, timeCycle and timeDuration."""
    for definition in m.of_type["timerEventDefinition"]:
        used = [local(c) for c in definition if local(c) in TIMERS]
        if len(used) > 1:
            yield definition, f"a timer defines {', '.join(used)}; use only one"


def _timer_values(m: Model, name: str) -> Iterator[tuple[etree._Element, str]]:
    for node in m.of_type[name]:
        literal = _timer_literal(node)
        if literal is not None and literal:
            yield node, literal


_LITERAL = " (a timer that reads a variable is written ${name}, or as a Python expression)"


@constraint("EXT132")
def ext132(m: Model) -> Iterable[Finding]:
    """The timeDate of a timer must conform to the ISO-8601 format for date and time representations."""
    for node, value in _timer_values(m, "timeDate"):
        if not is_date(value):
            yield node, f"timeDate {value!r} is not an ISO 8601 date-time{_LITERAL}"


@constraint("EXT133")
def ext133(m: Model) -> Iterable[Finding]:
    """The timeCycle of a timer must conform to the ISO-8601 format for recurring time interval
    representations (Taktflow also reads cron expressions)."""
    for node, value in _timer_values(m, "timeCycle"):
        if not is_cycle(value):
            yield node, f"timeCycle {value!r} is neither an ISO 8601 repeating interval nor cron{_LITERAL}"


@constraint("EXT134")
def ext134(m: Model) -> Iterable[Finding]:
    """The timeDuration of a timer must conform to the ISO-8601 format for time interval representations."""
    for node, value in _timer_values(m, "timeDuration"):
        if not is_duration(value):
            yield node, f"timeDuration {value!r} is not an ISO 8601 duration such as PT5M{_LITERAL}"


_INTERMEDIATE_CATCH = {"message", "timer", "conditional", "link", "signal"}
_INTERMEDIATE_THROW = {"message", "escalation", "compensate", "link", "signal"}
_END = {"message", "escalation", "error", "cancel", "compensate", "signal", "terminate"}


@constraint("EXT146")
def ext146(m: Model) -> Iterable[Finding]:
    """Only message, escalation, error, cancel, compensation, signal and terminate EventDefinitions are
    allowed for end events."""
    for node in m.nodes(["endEvent"]):
        bad = [k for k in m.definitions(node) if k not in _END]
        if bad:
            yield node, f"an end event cannot be {article(', '.join(bad))} event"


@constraint("EXT148")
def ext148(m: Model) -> Iterable[Finding]:
    """Only message, timer, conditional, link and signal EventDefinitions are allowed for intermediate catch
    events (and one is required)."""
    for node in m.nodes(["intermediateCatchEvent"]):
        kinds = m.definitions(node)
        bad = [k for k in kinds if k not in _INTERMEDIATE_CATCH]
        if not kinds:
            yield node, "an intermediate catch event needs a trigger (event definition)"
        elif bad:
            yield node, f"an intermediate catch event cannot be {article(', '.join(bad))} event"


@constraint("EXT149")
def ext149(m: Model) -> Iterable[Finding]:
    """Only message, escalation, compensation, link and signal EventDefinitions are allowed for intermediate
    throw events."""
    for node in m.nodes(["intermediateThrowEvent"]):
        bad = [k for k in m.definitions(node) if k not in _INTERMEDIATE_THROW]
        if bad:
            yield node, f"an intermediate throw event cannot be {article(', '.join(bad))} event"


# --- gateways ------------------------------------------------------------------------------------------


@constraint("EXT017")
def ext017(m: Model) -> Iterable[Finding]:
    """A converging Gateway must not have more than one outgoing Sequence Flow."""
    for node in m.nodes(GATEWAYS):
        if node.get("gatewayDirection") == "Converging" and len(m.outs(node)) > 1:
            yield node, f"is converging but has {len(m.outs(node))} outgoing flows"


@constraint("EXT018")
def ext018(m: Model) -> Iterable[Finding]:
    """A diverging Gateway must not have more than one incoming Sequence Flow."""
    for node in m.nodes(GATEWAYS):
        if node.get("gatewayDirection") == "Diverging" and len(m.ins(node)) > 1:
            yield node, f"is diverging but has {len(m.ins(node))} incoming flows"


@constraint("EXT019")
def ext019(m: Model) -> Iterable[Finding]:
    """A mixed Gateway must have more than one incoming and more than one outgoing Sequence Flow."""
    for node in m.nodes(GATEWAYS):
        if node.get("gatewayDirection") == "Mixed" and (len(m.ins(node)) < 2 or len(m.outs(node)) < 2):
            yield node, (f"is mixed but has {len(m.ins(node))} incoming and {len(m.outs(node))} outgoing flows; "
                         "it needs several of each")


@constraint("EXT135")
def ext135(m: Model) -> Iterable[Finding]:
    """A Gateway MUST have either multiple incoming Sequence Flows or multiple outgoing Sequence Flows."""
    for node in m.nodes(GATEWAYS):
        if node.get("instantiate") == "true":
            continue
        if len(m.ins(node)) < 2 and len(m.outs(node)) < 2:
            yield node, (f"has {len(m.ins(node))} incoming and {len(m.outs(node))} outgoing flows; a gateway "
                         "splits or joins")


@constraint("EXT136")
def ext136(m: Model) -> Iterable[Finding]:
    """An Event Gateway MUST have two or more outgoing Sequence Flows."""
    for node in m.nodes(["eventBasedGateway"]):
        if len(m.outs(node)) < 2:
            yield node, "an event-based gateway needs at least two outgoing flows"


def _event_gateway_flows(m: Model) -> Iterator[tuple[etree._Element, etree._Element]]:
    for gateway in m.nodes(["eventBasedGateway"]):
        for flow in m.outs(gateway):
            yield gateway, flow


@constraint("EXT137")
def ext137(m: Model) -> Iterable[Finding]:
    """The outgoing Sequence Flows of the Event Gateway MUST NOT have a conditionExpression."""
    for _gateway, flow in _event_gateway_flows(m):
        if flow.find(f"{B}conditionExpression") is not None:
            yield flow, "leaves an event-based gateway and so cannot have a condition; the events decide"


@constraint("EXT138")
def ext138(m: Model) -> Iterable[Finding]:
    """An eventBasedGateway may only be connected to a ReceiveTask or one of the following intermediate
    Events: Message, Signal, Timer, Conditional, and Multiple (which can only include the previous triggers)."""
    allowed = {"message", "signal", "timer", "conditional"}
    for gateway, flow in _event_gateway_flows(m):
        target = m.get(flow.get("targetRef"))
        if target is None:
            continue
        name = local(target)
        kinds = m.definitions(target) if name == "intermediateCatchEvent" else []
        if name == "receiveTask" or (name == "intermediateCatchEvent" and kinds and set(kinds) <= allowed):
            continue
        yield flow, (f"leads from event-based gateway {gateway.get('id')!r} to {target.get('id')!r}, which is "
                     "not a receive task or a message, signal, timer or conditional catch event")


@constraint("EXT139")
def ext139(m: Model) -> Iterable[Finding]:
    """If Message Intermediate Events are used in the configuration of an event gateway, then Receive Tasks
    MUST NOT be used in that configuration and vice versa."""
    for gateway in m.nodes(["eventBasedGateway"]):
        targets = [m.get(f.get("targetRef")) for f in m.outs(gateway)]
        receive = any(t is not None and local(t) == "receiveTask" for t in targets)
        message = any(t is not None and local(t) == "intermediateCatchEvent" and "message" in m.definitions(t)
                      for t in targets)
        if receive and message:
            yield gateway, "mixes receive tasks and message catch events after one event-based gateway"


@constraint("EXT140")
def ext140(m: Model) -> Iterable[Finding]:
    """Receive Tasks used in an Event Gateway configuration MUST NOT have any attached Intermediate Events."""
    attached = {ref_id(b.get("attachedToRef")) for b in m.of_type["boundaryEvent"]}
    for _gateway, flow in _event_gateway_flows(m):
        target = m.get(flow.get("targetRef"))
        if target is not None and local(target) == "receiveTask" and target.get("id") in attached:
            yield target, "waits after an event-based gateway, so it cannot carry boundary events"


@constraint("EXT141")
def ext141(m: Model) -> Iterable[Finding]:
    """Targets of an EventBasedGateway must not have any other incoming SequenceFlow."""
    for gateway, flow in _event_gateway_flows(m):
        target = m.get(flow.get("targetRef"))
        if target is not None and len(m.ins(target)) > 1:
            yield target, f"follows event-based gateway {gateway.get('id')!r} and so cannot have other incoming flows"


@constraint("EXT142")
def ext142(m: Model) -> Iterable[Finding]:
    """When an EventBasedGateway is used to instantiate a process instance no Incoming Sequence Flow is
    allowed."""
    for node in m.nodes(["eventBasedGateway"]):
        if node.get("instantiate") == "true" and m.ins(node):
            yield node, "instantiates the process, so it cannot have incoming flows"


# --- compensation --------------------------------------------------------------------------------------


@constraint("EXT143")
def ext143(m: Model) -> Iterable[Finding]:
    """A compensation boundary event must be connected with an Association to a Compensation Activity."""
    sources = {ref_id(a.get("sourceRef")) for a in m.of_type["association"]}
    for node in m.nodes(["boundaryEvent"]):
        if "compensate" in m.definitions(node) and node.get("id") not in sources:
            yield node, "a compensation boundary event needs an association to its compensation activity"


@constraint("EXT144")
def ext144(m: Model) -> Iterable[Finding]:
    """The Activity associated to a compensation boundary event must be marked for compensation
    (isForCompensation=true)."""
    compensation = {n.get("id") for n in m.nodes(["boundaryEvent"]) if "compensate" in m.definitions(n)}
    for association in m.of_type["association"]:
        if ref_id(association.get("sourceRef")) in compensation:
            target = m.get(association.get("targetRef"))
            if target is not None and local(target) in ACTIVITIES and target.get("isForCompensation") != "true":
                yield target, "handles compensation, so it must be marked isForCompensation=\"true\""


# --- structure: start and end events imply complete flow ------------------------------------------------


def _needs_flow(m: Model, node: etree._Element) -> bool:
    name = local(node)
    if name in ACTIVITIES:
        return node.get("isForCompensation") != "true" and not m.is_event_sub_process(node)
    return name in GATEWAYS or name in ("intermediateThrowEvent", "intermediateCatchEvent")


@constraint("EXT150")
def ext150(m: Model) -> Iterable[Finding]:
    """If a start event is used to initiate a process, all flow nodes must have an incoming sequence flow
    (except start and boundary events, catching link events, compensation activities and event
    sub-processes)."""
    for level in _levels(m):
        if not m.children(level, ["startEvent"]):
            continue
        for node in level:
            if not _needs_flow(m, node) or m.ins(node):
                continue
            if local(node) == "intermediateCatchEvent" and "link" in m.definitions(node):
                continue
            yield node, "is never reached: the level has a start event, but no flow leads here"


@constraint("EXT151")
def ext151(m: Model) -> Iterable[Finding]:
    """If end events are used, all flow nodes must have an outgoing sequence flow (except end events,
    throwing link events, compensation activities and event sub-processes)."""
    for level in _levels(m):
        if not m.children(level, ["endEvent"]):
            continue
        for node in level:
            if not _needs_flow(m, node) or m.outs(node):
                continue
            if local(node) == "intermediateThrowEvent" and "link" in m.definitions(node):
                continue
            yield node, "is a dead end: the level has end events, but no flow leaves here"


# --- references ----------------------------------------------------------------------------------------

# (element, reference, is an attribute, allowed target types; empty: any element)
EVENT_DEFINITION_TYPES = EVENT_DEFINITIONS | {"eventDefinition"}
ITEM_AWARE_TYPES = ITEM_AWARE
REFERENCES: tuple[tuple[str, str, bool, frozenset[str]], ...] = (
    ("association", "sourceRef", True, frozenset()),
    ("association", "targetRef", True, frozenset()),
    ("group", "categoryValueRef", True, frozenset({"categoryValue"})),
    ("correlationKey", "correlationPropertyRef", False, frozenset({"correlationProperty"})),
    ("correlationPropertyRetrievalExpression", "messageRef", True, frozenset({"message"})),
    ("correlationSubscription", "correlationKeyRef", True, frozenset({"correlationKey"})),
    ("correlationPropertyBinding", "correlationPropertyRef", True, frozenset({"correlationProperty"})),
    ("error", "structureRef", True, frozenset({"itemDefinition"})),
    ("escalation", "structureRef", True, frozenset({"itemDefinition"})),
    ("formalExpression", "evaluatesToTypeRef", True, frozenset({"itemDefinition"})),
    ("message", "itemRef", True, frozenset({"itemDefinition"})),
    ("resourceParameter", "type", True, frozenset({"itemDefinition"})),
    ("sequenceFlow", "sourceRef", True, FLOW_NODES | CHOREOGRAPHY_ACTIVITIES),
    ("sequenceFlow", "targetRef", True, FLOW_NODES | CHOREOGRAPHY_ACTIVITIES),
    ("operation", "inMessageRef", False, frozenset({"message"})),
    ("operation", "outMessageRef", False, frozenset({"message"})),
    ("operation", "errorRef", False, frozenset({"error"})),
    ("collaboration", "choreographyRef", False, frozenset({"choreography"})),
    ("participant", "processRef", True, frozenset({"process"})),
    ("participant", "interfaceRef", False, frozenset({"interface"})),
    ("participant", "endPointRef", False, frozenset({"endPoint"})),
    ("partnerEntity", "participantRef", False, frozenset({"participant"})),
    ("partnerRole", "participantRef", False, frozenset({"participant"})),
    ("participantAssociation", "innerParticipantRef", False, frozenset({"participant"})),
    ("participantAssociation", "outerParticipantRef", False, frozenset({"participant"})),
    ("messageFlow", "sourceRef", True, frozenset({"participant"}) | ACTIVITIES | EVENTS),
    ("messageFlow", "targetRef", True, frozenset({"participant"}) | ACTIVITIES | EVENTS),
    ("messageFlow", "messageRef", True, frozenset({"message"})),
    ("process", "definitionalCollaborationRef", True, frozenset({"collaboration"})),
    ("process", "supports", False, frozenset({"process"})),
    ("serviceTask", "operationRef", True, frozenset({"operation"})),
    ("sendTask", "messageRef", True, frozenset({"message"})),
    ("sendTask", "operationRef", True, frozenset({"operation"})),
    ("receiveTask", "messageRef", True, frozenset({"message"})),
    ("receiveTask", "operationRef", True, frozenset({"operation"})),
    ("ioBinding", "inputDataRef", True, frozenset({"dataInput"})),
    ("ioBinding", "outputDataRef", True, frozenset({"dataOutput"})),
    ("ioBinding", "operationRef", True, frozenset({"operation"})),
    ("multiInstanceLoopCharacteristics", "oneBehaviorEventRef", True, EVENT_DEFINITION_TYPES),
    ("multiInstanceLoopCharacteristics", "noneBehaviorEventRef", True, EVENT_DEFINITION_TYPES),
    ("dataObject", "itemSubjectRef", True, frozenset({"itemDefinition"})),
    ("dataObjectReference", "itemSubjectRef", True, frozenset({"itemDefinition"})),
    ("dataObjectReference", "dataObjectRef", True, frozenset({"dataObject"})),
    ("dataStore", "itemSubjectRef", True, frozenset({"itemDefinition"})),
    ("dataStoreReference", "itemSubjectRef", True, frozenset({"itemDefinition"})),
    ("dataStoreReference", "dataStoreRef", True, frozenset({"dataStore"})),
    ("property", "itemSubjectRef", True, frozenset({"itemDefinition"})),
    ("dataInput", "itemSubjectRef", True, frozenset({"itemDefinition"})),
    ("dataOutput", "itemSubjectRef", True, frozenset({"itemDefinition"})),
    ("inputSet", "dataInputRefs", False, frozenset({"dataInput"})),
    ("inputSet", "optionalInputRefs", False, frozenset({"dataInput"})),
    ("inputSet", "whileExecutingInputRefs", False, frozenset({"dataInput"})),
    ("inputSet", "outputSetRefs", False, frozenset({"outputSet"})),
    ("outputSet", "dataOutputRefs", False, frozenset({"dataOutput"})),
    ("outputSet", "optionalOutputRefs", False, frozenset({"dataOutput"})),
    ("outputSet", "whileExecutingOutputRefs", False, frozenset({"dataOutput"})),
    ("outputSet", "inputSetRefs", False, frozenset({"inputSet"})),
    ("dataInputAssociation", "sourceRef", False, ITEM_AWARE_TYPES),
    ("dataInputAssociation", "targetRef", False, ITEM_AWARE_TYPES),
    ("dataOutputAssociation", "sourceRef", False, ITEM_AWARE_TYPES),
    ("dataOutputAssociation", "targetRef", False, ITEM_AWARE_TYPES),
    ("boundaryEvent", "attachedToRef", True, ACTIVITIES),
    ("compensateEventDefinition", "activityRef", True, ACTIVITIES),
    ("errorEventDefinition", "errorRef", True, frozenset({"error"})),
    ("escalationEventDefinition", "escalationRef", True, frozenset({"escalation"})),
    ("linkEventDefinition", "source", False, frozenset({"linkEventDefinition"})),
    ("linkEventDefinition", "target", False, frozenset({"linkEventDefinition"})),
    ("messageEventDefinition", "messageRef", True, frozenset({"message"})),
    ("messageEventDefinition", "operationRef", False, frozenset({"operation"})),
    ("signalEventDefinition", "signalRef", True, frozenset({"signal"})),
    ("exclusiveGateway", "default", True, frozenset({"sequenceFlow"})),
    ("inclusiveGateway", "default", True, frozenset({"sequenceFlow"})),
    ("complexGateway", "default", True, frozenset({"sequenceFlow"})),
    ("lane", "flowNodeRef", False, FLOW_NODES),
    ("callActivity", "calledElement", True, CALLABLE),
) + tuple((name, "default", True, frozenset({"sequenceFlow"})) for name in sorted(ACTIVITIES)) + tuple(
    (name, kind, False, frozenset({"sequenceFlow"})) for name in sorted(FLOW_NODES) for kind in ("incoming", "outgoing")
) + tuple((name, "eventDefinitionRef", False, EVENT_DEFINITION_TYPES) for name in sorted(EVENTS)) + tuple(
    (name, "supportedInterfaceRef", False, frozenset({"interface"})) for name in sorted(CALLABLE))


def _foreign(root: etree._Element, value: str) -> bool:
    """A QName whose prefix names another namespace than this document's (an imported definition)."""
    if ":" not in value:
        return False
    prefix = value.split(":", 1)[0]
    namespace = root.nsmap.get(prefix)
    return namespace is not None and namespace != root.get("targetNamespace")


def _references(m: Model) -> Iterator[tuple[etree._Element, str, str, frozenset[str]]]:
    for name, ref, attribute, types in REFERENCES:
        for node in m.of_type[name]:
            if attribute:
                value = node.get(ref)
                if value is not None:
                    yield node, ref, value, types
            else:
                for child in node.findall(f"{B}{ref}"):
                    if (child.text or "").strip():
                        yield node, ref, child.text.strip(), types


# calledElement may name a process deployed from another file; the engine resolves it at deploy.
_MAY_BE_ELSEWHERE = {("callActivity", "calledElement")}


@constraint("REF-EXISTENCE")
def ref_existence(m: Model) -> Iterable[Finding]:
    """Every reference (IDREF or QName) must resolve to an element of the document (or of an imported one)."""
    for node, ref, value, _types in _references(m):
        if (local(node), ref) in _MAY_BE_ELSEWHERE or _foreign(m.root, value):
            continue
        if m.get(value) is None:
            yield node, f"{ref} {value!r} refers to no element"


@constraint("REF-TYPE")
def ref_type(m: Model) -> Iterable[Finding]:
    """Every reference must resolve to an element of the type the specification allows for it."""
    for node, ref, value, types in _references(m):
        target = m.get(value)
        if target is None or not types:
            continue
        name = local(target) or etree.QName(target).localname
        if name not in types:
            allowed = ", ".join(sorted(types)) if len(types) <= 4 else "a " + _type_family(types)
            yield node, f"{ref} {value!r} is {article(name)}, but must be {allowed}"


def _type_family(types: frozenset[str]) -> str:
    if types <= ACTIVITIES:
        return "activity"
    if types <= FLOW_NODES | CHOREOGRAPHY_ACTIVITIES:
        return "flow node"
    if types <= ITEM_AWARE:
        return "data element"
    if types <= EVENT_DEFINITION_TYPES:
        return "event definition"
    return "participant, activity or event" if "participant" in types else " or ".join(sorted(types))
