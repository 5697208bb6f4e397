"""Reading compensation from a model (the runtime is `engine/compensation.py`).

- A compensation boundary event is not a waiting boundary event: it only links its activity to a handler
  (by an association), so it is left out of the activity's boundary events (SpiffWorkflow refuses it).
- A throw event with `compensateEventDefinition`, and the cancel end event of a transaction, become
  compensating throw events that carry, for their scope, which activity has which handler; the handlers
  (no incoming flow, never reached otherwise) are parsed into the scope's spec there. A subprocess of the
  scope without a handler of its own but with compensation inside gets a ScopeCompensation spec.
- The start event of a compensation event subprocess waits for compensation instead of starting at once.

`install(parser_class, serializer_config)` hooks all of this into TaktflowParser and its serializer config.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import CANCEL_EVENT_XPATH

from taktflow.engine.compensation import (
    SCOPE_RUNNER,
    SERIALIZER_CONFIG,
    CompensateEventDefinition,
    CompensationEndEvent,
    CompensationThrowEvent,
    ScopeCompensation,
)

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
COMPENSATE = f"{BPMN}compensateEventDefinition"


def is_compensation_boundary(node: etree._Element) -> bool:
    return node.tag == f"{BPMN}boundaryEvent" and node.find(COMPENSATE) is not None


class CompensationProcessParserMixin:
    """Activities see only the boundary events that wait for something; compensation ones link a handler."""

    def get_boundary_events(self, attached_to_ref: str) -> list[etree._Element]:
        return [n for n in super().get_boundary_events(attached_to_ref) if not is_compensation_boundary(n)]


class CompensationThrowParserMixin:
    """For intermediate throw and end events: a compensating spec when the event throws compensation."""

    node: etree._Element
    process_parser: Any
    spec: Any
    bpmn_id: str

    def create_task(self) -> Any:
        compensate = self.node.find(COMPENSATE)
        is_end = self.node.tag == f"{BPMN}endEvent"
        cancels_transaction = (is_end and self.node.find(f"{BPMN}cancelEventDefinition") is not None
                               and self.process_parser.node.tag == f"{BPMN}transaction")
        if compensate is None and not cancels_transaction:
            return super().create_task()
        attributes = self.bpmn_attributes
        kind = self.process_parser.parser.spec_descriptions.get(self.node.tag)
        if compensate is not None:
            definition = CompensateEventDefinition(
                activity_ref=_local_ref(compensate.get("activityRef")),
                wait_for_completion=compensate.get("waitForCompletion") != "false",
                description="Compensation",
            )
            attributes["description"] = f"Compensation {kind}"
        else:
            definition = self.get_event_definition([CANCEL_EVENT_XPATH])
        handlers, scopes = scope_compensation(self.process_parser)
        spec_class = CompensationEndEvent if is_end else CompensationThrowEvent
        task = spec_class(self.spec, self.bpmn_id, event_definition=definition, compensation_handlers=handlers,
                          compensation_scopes=scopes, **attributes)
        if is_end:
            task.connect(self.spec.end)
        return task


class CompensationStartParserMixin:
    """The start event of a compensation event subprocess waits to be started by compensation (SpiffWorkflow
    would read it as a plain start event and run the event subprocess as soon as its scope starts)."""

    node: etree._Element
    spec: Any

    def create_task(self) -> Any:
        if self.node.find(COMPENSATE) is None:
            return super().create_task()
        task = self._create_task(CompensateEventDefinition(description="Compensation"))
        task.interrupting = True
        self.spec.start.connect(task)
        return task


def scope_compensation(process_parser: Any) -> tuple[dict[str, str], list[str]]:
    """For the activities of one scope (process or subprocess): activity id -> handler spec name, and the
    completed subprocesses without a handler that are compensated from inside (their ScopeCompensation spec
    is added to their own spec here)."""
    scope = process_parser.node
    associations = list(process_parser.document_root.iter(f"{BPMN}association"))
    handlers: dict[str, str] = {}
    for boundary in scope:
        if not isinstance(boundary.tag, str) or not is_compensation_boundary(boundary):
            continue
        handler_node = _associated(boundary, associations, scope)
        activity = boundary.get("attachedToRef")
        if handler_node is None or not activity:
            continue
        handler = process_parser.parse_node(handler_node)
        if activity not in handler._inputs:
            # A handler has no incoming flow; SpiffWorkflow readies only tasks with an input, and the
            # handler runs as a child of the activity it compensates.
            handler._inputs.append(activity)
        handlers[activity] = handler.name
    scopes = []
    for node in scope:
        if (isinstance(node.tag, str) and node.tag in (f"{BPMN}subProcess", f"{BPMN}transaction")
                and node.get("triggeredByEvent") != "true" and node.get("id") not in handlers
                and _has_compensation_inside(node)):
            process_parser.parse_node(node)  # makes the subprocess's own parser, if its flow was not parsed yet
            _add_scope_runner(process_parser.parser.process_parsers[node.get("id")])
            scopes.append(node.get("id"))
    return handlers, scopes


def _has_compensation_inside(node: etree._Element) -> bool:
    return any(is_compensation_boundary(n) or n.tag == f"{BPMN}startEvent"
               for n in node.iter(f"{BPMN}boundaryEvent", f"{BPMN}startEvent") if n.find(COMPENSATE) is not None)


def _add_scope_runner(sub_parser: Any) -> None:
    sub_spec = sub_parser.get_spec()
    name = f"{sub_spec.name}{SCOPE_RUNNER}"
    if name in sub_spec.task_specs:
        return
    event_subprocess = next((
        esp.get("id") for esp in sub_parser.node.iterfind(f"{BPMN}subProcess[@triggeredByEvent='true']")
        if any(start.find(COMPENSATE) is not None for start in esp.iterfind(f"{BPMN}startEvent"))
    ), None)
    handlers, scopes = ({}, []) if event_subprocess else scope_compensation(sub_parser)
    runner = ScopeCompensation(sub_spec, name, event_definition=CompensateEventDefinition(),
                               compensation_handlers=handlers, compensation_scopes=scopes,
                               event_subprocess=event_subprocess, description="Compensation")
    runner._inputs.append(sub_spec.start.name)  # started by a throw event outside, never by a flow
    if event_subprocess is not None and name not in sub_spec.task_specs[event_subprocess]._inputs:
        sub_spec.task_specs[event_subprocess]._inputs.append(name)  # it runs as the runner's child


def _local_ref(ref: str | None) -> str | None:
    return ref.split(":")[-1] if ref else None


def _associated(boundary: etree._Element, associations: list[etree._Element],
                scope: etree._Element) -> etree._Element | None:
    """The handler a compensation boundary event is associated with (either direction of the association)."""
    boundary_id = boundary.get("id")
    for association in associations:
        ends = (association.get("sourceRef"), association.get("targetRef"))
        if boundary_id not in ends:
            continue
        other = ends[1] if ends[0] == boundary_id else ends[0]
        for node in scope:
            if isinstance(node.tag, str) and node.get("id") == other and node.get("isForCompensation") == "true":
                return node
    return None


def install(parser_class: Any, serializer_config: dict[Any, Any]) -> None:
    """Make `parser_class` (a SpiffBpmnParser subclass) read compensation, and its serializer config keep it."""
    overrides = parser_class.OVERRIDE_PARSER_CLASSES
    mixins = {"intermediateThrowEvent": CompensationThrowParserMixin, "endEvent": CompensationThrowParserMixin,
              "startEvent": CompensationStartParserMixin}
    for tag, mixin in mixins.items():
        base, spec_class = overrides[full_tag(tag)]
        if not issubclass(base, mixin):
            overrides[full_tag(tag)] = (type(f"Compensating{base.__name__}", (mixin, base), {}), spec_class)
    process_parser = parser_class.PROCESS_PARSER_CLASS
    if not issubclass(process_parser, CompensationProcessParserMixin):
        parser_class.PROCESS_PARSER_CLASS = type(
            f"Compensating{process_parser.__name__}", (CompensationProcessParserMixin, process_parser), {})
    serializer_config.update(SERIALIZER_CONFIG)
