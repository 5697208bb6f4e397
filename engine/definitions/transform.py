"""Rewrites of a parsed model into constructs SpiffWorkflow executes, with the BPMN meaning unchanged.

The stored model stays as the designer wrote it; only the copy handed to the parser is rewritten, and every
element added here has an id derived from the element it serves (`<id>__split`, `<id>__join`), so history
and incidents still point at the designer's elements.

- Several outgoing flows from an activity or event (BPMN 2.0 §10.2.1, "implicit split") become an explicit
  parallel gateway; conditional flows become an inclusive gateway whose unconditioned flows always fire and
  whose default flow is the activity's default.
- A link throw event continues at the link catch event of the same name in the same process level.
- An `eventDefinitionRef` to a top-level event definition is resolved into the event.
- A global task (`globalScriptTask`, `globalUserTask`, ...) called by a call activity is callable as a process.
- An ad-hoc subprocess without a completion condition runs each of its activities once: one after the other
  in document order when `ordering="Sequential"`, otherwise all at once (SpiffWorkflow has no ad-hoc runtime).
- `completionQuantity="n"` puts n tokens on every outgoing flow; `startQuantity="n"` makes the activity wait
  for n tokens (a complex gateway with `activationCount >= n` in front of it).
"""

from __future__ import annotations

from collections import defaultdict

from lxml import etree

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
NOT_SPLITTING = GATEWAYS | {"endEvent", "sequenceFlow", "boundaryEvent"}


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _element(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{BPMN}{tag}")
    for key, value in attrs.items():
        node.set(key, value)
    return node


def _flow(container: etree._Element, flow_id: str, source: str, target: str) -> etree._Element:
    return _element(container, "sequenceFlow", id=flow_id, sourceRef=source, targetRef=target)


def _set_refs(node: etree._Element, tag: str, refs: list[str]) -> None:
    """Rewrite a flow node's <incoming>/<outgoing> children (kept consistent for every reader of the XML)."""
    for child in node.findall(f"{BPMN}{tag}"):
        node.remove(child)
    position = 0
    for i, child in enumerate(node):
        if isinstance(child.tag, str) and _local(child) in ("documentation", "extensionElements", "incoming"):
            position = i + 1
    for ref in refs:
        element = etree.Element(f"{BPMN}{tag}")
        element.text = ref
        node.insert(position, element)
        position += 1


def _quantity(node: etree._Element, attribute: str) -> int:
    try:
        return int(node.get(attribute) or 1)
    except ValueError:
        return 1  # the validation rules report a malformed quantity


def make_implicit_behaviour_explicit(root: etree._Element) -> None:
    _resolve_event_definition_refs(root)
    _global_tasks_as_processes(root)
    _connect_links(root)
    _ad_hoc_as_subprocess(root)
    for container in [c for tag in CONTAINERS for c in root.iter(f"{BPMN}{tag}")]:
        flows = [f for f in container if isinstance(f.tag, str) and _local(f) == "sequenceFlow"]
        nodes = {n.get("id"): n for n in container if isinstance(n.tag, str) and n.get("id")}
        outgoing: dict[str, list[etree._Element]] = defaultdict(list)
        incoming: dict[str, list[etree._Element]] = defaultdict(list)
        for f in flows:
            outgoing[f.get("sourceRef")].append(f)
            incoming[f.get("targetRef")].append(f)
        for node_id, node in list(nodes.items()):
            kind = _local(node)
            if kind in NOT_SPLITTING:
                continue
            if _quantity(node, "startQuantity") > 1 and incoming[node_id]:
                _join_before(container, node, incoming[node_id], _quantity(node, "startQuantity"))
            _split_after(container, node, outgoing[node_id], _quantity(node, "completionQuantity"))


def _join_before(container: etree._Element, node: etree._Element, flows: list[etree._Element], quantity: int) -> None:
    node_id = node.get("id")
    join_id = f"{node_id}__join"
    gateway = _element(container, "complexGateway", id=join_id, gatewayDirection="Converging")
    for f in flows:
        f.set("targetRef", join_id)
    link = _flow(container, f"{join_id}__flow", join_id, node_id)
    condition = _element(gateway, "activationCondition")
    condition.text = f"activationCount >= {quantity}"
    _set_refs(gateway, "incoming", [f.get("id") for f in flows])
    _set_refs(gateway, "outgoing", [link.get("id")])
    _set_refs(node, "incoming", [link.get("id")])


def _split_after(container: etree._Element, node: etree._Element, flows: list[etree._Element], quantity: int) -> None:
    conditional = any(f.find(f"{BPMN}conditionExpression") is not None for f in flows)
    if len(flows) <= 1 and quantity == 1 and not conditional:
        return
    node_id = node.get("id")
    split_id = f"{node_id}__split"
    gateway = _element(container, "inclusiveGateway" if conditional else "parallelGateway", id=split_id,
                       gatewayDirection="Diverging")
    default = node.attrib.pop("default", None)
    if default:
        gateway.set("default", default)
    link = _flow(container, f"{split_id}__flow", node_id, split_id)
    gateway_out: list[str] = []
    for f in flows:
        f.set("sourceRef", split_id)
        if conditional and f.get("id") != default and f.find(f"{BPMN}conditionExpression") is None:
            always = _element(f, "conditionExpression")
            always.text = "True"  # an unconditioned flow beside conditional ones always fires
        gateway_out.append(f.get("id"))
        for copy in range(2, quantity + 1):
            # Extra tokens on the same flow travel through a pass-through event: a gateway has one child per
            # target, but BPMN counts tokens per flow.
            token_id = f"{f.get('id')}__token{copy}"
            _element(container, "intermediateThrowEvent", id=token_id)
            extra = _flow(container, f"{token_id}__in", split_id, token_id)
            condition = f.find(f"{BPMN}conditionExpression")
            if condition is not None:
                extra.append(etree.fromstring(etree.tostring(condition)))
            _flow(container, f"{token_id}__out", token_id, f.get("targetRef"))
            gateway_out.append(extra.get("id"))
    _set_refs(node, "outgoing", [link.get("id")])
    _set_refs(gateway, "incoming", [link.get("id")])
    _set_refs(gateway, "outgoing", gateway_out)


_EVENT_DEFINITIONS = ("messageEventDefinition", "signalEventDefinition", "errorEventDefinition",
                      "escalationEventDefinition", "timerEventDefinition", "conditionalEventDefinition",
                      "compensateEventDefinition", "terminateEventDefinition", "cancelEventDefinition",
                      "linkEventDefinition")


def _resolve_event_definition_refs(root: etree._Element) -> None:
    shared = {d.get("id"): d for d in root if isinstance(d.tag, str) and _local(d) in _EVENT_DEFINITIONS}
    for ref in list(root.iter(f"{BPMN}eventDefinitionRef")):
        definition = shared.get((ref.text or "").strip().split(":")[-1])
        if definition is None:
            continue  # the validation rules name an unresolved reference
        event = ref.getparent()
        copy = etree.fromstring(etree.tostring(definition))
        copy.set("id", f"{definition.get('id')}__{event.get('id')}")
        event.replace(ref, copy)


_GLOBAL_TASKS = {"globalScriptTask": "scriptTask", "globalUserTask": "userTask", "globalManualTask": "manualTask",
                 "globalBusinessRuleTask": "businessRuleTask", "globalTask": "task"}


def _global_tasks_as_processes(root: etree._Element) -> None:
    called = {c.get("calledElement") for c in root.iter(f"{BPMN}callActivity")}
    for node in [n for n in root if isinstance(n.tag, str) and _local(n) in _GLOBAL_TASKS]:
        task_id = node.get("id")
        if task_id not in called:
            continue
        process = etree.Element(f"{BPMN}process", id=task_id, isExecutable="true")
        if node.get("name"):
            process.set("name", node.get("name"))
        _element(process, "startEvent", id=f"{task_id}__start")
        task = _element(process, _GLOBAL_TASKS[_local(node)], id=f"{task_id}__task", name=node.get("name") or task_id)
        for child in node:
            task.append(etree.fromstring(etree.tostring(child)))
        _element(process, "endEvent", id=f"{task_id}__end")
        _flow(process, f"{task_id}__flow1", f"{task_id}__start", f"{task_id}__task")
        _flow(process, f"{task_id}__flow2", f"{task_id}__task", f"{task_id}__end")
        root.replace(node, process)


def _connect_links(root: etree._Element) -> None:
    """A link is a sequence flow drawn as a pair of events: make it one."""
    for container in [c for tag in CONTAINERS for c in root.iter(f"{BPMN}{tag}")]:
        events = [n for n in container if isinstance(n.tag, str)
                  and _local(n) in ("intermediateThrowEvent", "intermediateCatchEvent")
                  and n.find(f"{BPMN}linkEventDefinition") is not None]
        catches = {}
        for event in events:
            if _local(event) == "intermediateCatchEvent":
                link = event.find(f"{BPMN}linkEventDefinition")
                catches[link.get("name") or event.get("name")] = event
                catches[link.get("id")] = event
        for event in events:
            if _local(event) != "intermediateThrowEvent":
                continue
            link = event.find(f"{BPMN}linkEventDefinition")
            target = (link.findtext(f"{BPMN}target") or "").strip()
            catch = catches.get(target)
            if catch is None:
                catch = catches.get(link.get("name") or event.get("name"))
            if catch is None:
                continue
            flow = _flow(container, f"{event.get('id')}__link", event.get("id"), catch.get("id"))
            event.remove(link)
            _set_refs(event, "outgoing", [flow.get("id")])
            _set_refs(catch, "incoming", [flow.get("id")])
    for container in [c for tag in CONTAINERS for c in root.iter(f"{BPMN}{tag}")]:
        for event in container.iterfind(f"{BPMN}intermediateCatchEvent"):
            link = event.find(f"{BPMN}linkEventDefinition")
            if link is not None:
                event.remove(link)


def _ad_hoc_as_subprocess(root: etree._Element) -> None:
    for node in list(root.iter(f"{BPMN}adHocSubProcess")):
        if node.find(f"{BPMN}completionCondition") is not None:
            continue
        node_id = node.get("id")
        ordering = node.get("ordering") or "Parallel"
        node.tag = f"{BPMN}subProcess"
        for attribute in ("ordering", "cancelRemainingInstances"):
            node.attrib.pop(attribute, None)
        flows = [f for f in node if isinstance(f.tag, str) and _local(f) == "sequenceFlow"]
        targets = {f.get("targetRef") for f in flows}
        sources = {f.get("sourceRef") for f in flows}
        activities = [n for n in node if isinstance(n.tag, str) and n.get("id") and _local(n) not in
                      ("sequenceFlow", "boundaryEvent", "textAnnotation", "association", "dataObject",
                       "dataObjectReference", "dataStoreReference")]
        entries = [a for a in activities if a.get("id") not in targets]
        exits = [a for a in activities if a.get("id") not in sources]
        start = _element(node, "startEvent", id=f"{node_id}__start")
        if node.get("triggeredByEvent") is None:
            node.set("triggeredByEvent", "false")
        if ordering == "Sequential" and not flows:
            previous = start.get("id")
            for activity in activities:
                _flow(node, f"{previous}__next", previous, activity.get("id"))
                previous = activity.get("id")
            _element(node, "endEvent", id=f"{node_id}__end")
            _flow(node, f"{previous}__next", previous, f"{node_id}__end")
            continue
        for activity in entries:
            _flow(node, f"{node_id}__to_{activity.get('id')}", start.get("id"), activity.get("id"))
        for activity in exits:
            end_id = f"{activity.get('id')}__end"
            _element(node, "endEvent", id=end_id)
            _flow(node, f"{activity.get('id')}__to_end", activity.get("id"), end_id)
