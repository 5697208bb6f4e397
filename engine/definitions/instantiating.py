"""A process that starts with a receive task (`instantiate="true"`, BPMN 2.0 §10.2.3) instead of a start event.

"A Receive Task with instantiate set to true ... can be used to start a Process": the process has no start
event, and the message the receive task waits for creates the instance. SpiffWorkflow knows only start events,
so the parser's copy of such a receive task becomes a message start event with the same id, outgoing flows
and extensions (correlation properties, Camunda attributes). Delivering the message then starts the process
like any message start event (`events.start_by_event`).
"""

from __future__ import annotations

from lxml import etree

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_KEPT_CHILDREN = ("documentation", "extensionElements", "outgoing", "dataOutputAssociation")


def instantiating_receive_tasks_as_start_events(root: etree._Element) -> None:
    for process in root.iter(f"{BPMN}process"):
        targets = {f.get("targetRef") for f in process.iterfind(f"{BPMN}sequenceFlow")}
        for task in list(process.iterfind(f"{BPMN}receiveTask")):
            if task.get("instantiate") != "true" or task.get("id") in targets:
                continue  # a receive task with incoming flows is refused by the validation rules
            _as_message_start_event(root, task)


def _as_message_start_event(root: etree._Element, task: etree._Element) -> None:
    message_ref = task.get("messageRef") or _operation_message(root, task.get("operationRef"))
    start = etree.Element(f"{BPMN}startEvent", id=task.get("id"))
    if task.get("name") is not None:
        start.set("name", task.get("name"))
    for key, value in task.attrib.items():
        if key.startswith("{"):  # Camunda, Spiff and other extension attributes
            start.set(key, value)
    for child in task:
        if isinstance(child.tag, str) and etree.QName(child).localname in _KEPT_CHILDREN:
            start.append(child)
    definition = etree.SubElement(start, f"{BPMN}messageEventDefinition", id=f"{task.get('id')}__message")
    if message_ref:
        definition.set("messageRef", message_ref)
    task.getparent().replace(task, start)


def _operation_message(root: etree._Element, operation_ref: str | None) -> str | None:
    """A receive task may name only its operation; the operation's in-message is what it receives."""
    if not operation_ref:
        return None
    for operation in root.iter(f"{BPMN}operation"):
        if operation.get("id") == operation_ref.split(":")[-1]:
            return (operation.findtext(f"{BPMN}inMessageRef") or "").strip() or None
    return None
