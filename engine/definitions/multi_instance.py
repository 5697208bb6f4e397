"""Multi-instance activities that throw events as their instances complete (BPMN 2.0 §10.2.8, `behavior`).

`multiInstanceLoopCharacteristics/@behavior` says when an MI activity throws an event while it runs:
- `None`: the event `noneBehaviorEventRef` names, every time an instance completes;
- `One`: the event `oneBehaviorEventRef` names, when the first instance completes;
- `All` (the default): none;
- `Complex`: each `complexBehaviorDefinition` whose `condition` holds when an instance completes throws its
  `event`. The condition sees the MI activity's attributes (`numberOfInstances`, `numberOfActiveInstances`,
  `numberOfCompletedInstances`, `numberOfTerminatedInstances`) beside the instance's data.

Such events are caught by boundary events of the MI activity ("Any thrown Events can be caught by boundary
Events on the Multi-Instance Activity"). They report on the activity rather than abort it, so a caught one
starts the boundary event's path without cancelling the activity, whatever `cancelActivity` says — which is
how the betsy suite reads the standard too. When a complex behaviour's event is thrown, the activity is done:
its remaining instances are cancelled and it completes normally (betsy's MultiInstance_ComplexBehavior).

Parsing: `MultiInstanceBehaviourParsing` is mixed into every Taktflow task parser. It stores the behaviour on
the MI task spec, and for each boundary event of such an activity adds a non-interrupting twin spec
(`<boundary>.MultiInstanceBehaviour`, same element id, same outgoing paths) that nothing waits on: the MI
task spec starts a copy of it when it throws.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.spiff.serializer.task_spec import SpiffMultiInstanceConverter
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    MessageEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.event import Event
from SpiffWorkflow.util.task import TaskState

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
TWIN_SUFFIX = ".MultiInstanceBehaviour"

# event definition tag -> (attribute naming the referenced root element, its tag, attribute holding its code)
_EVENT_KINDS = {
    "signalEventDefinition": ("signalRef", "signal", None),
    "messageEventDefinition": ("messageRef", "message", None),
    "errorEventDefinition": ("errorRef", "error", "errorCode"),
    "escalationEventDefinition": ("escalationRef", "escalation", "escalationCode"),
}


# --- reading the XML ---------------------------------------------------------------------------------------


def read_behaviour(characteristics: etree._Element) -> dict[str, Any] | None:
    """The behaviour of one `multiInstanceLoopCharacteristics` as JSON-safe data; None for `All`."""
    behavior = characteristics.get("behavior") or "All"
    root = characteristics.getroottree().getroot()
    if behavior in ("None", "One"):
        ref = characteristics.get("noneBehaviorEventRef" if behavior == "None" else "oneBehaviorEventRef")
        if not ref:
            return None
        definition = _by_id(root, ref.split(":")[-1])
        if definition is None:
            raise ValueError(f"{behavior.lower()}BehaviorEventRef {ref!r} names no event definition")
        return {"behavior": behavior, "events": [_event(root, definition)]}
    if behavior == "Complex":
        definitions = []
        for node in characteristics.iterfind(f"{BPMN}complexBehaviorDefinition"):
            condition = (node.findtext(f"{BPMN}condition") or "").strip()
            events = [_event(root, d) for event in node.iterfind(f"{BPMN}event") for d in event
                      if isinstance(d.tag, str) and etree.QName(d).localname in _EVENT_KINDS]
            if condition and events:
                definitions.append({"condition": condition, "events": events})
        return {"behavior": "Complex", "definitions": definitions} if definitions else None
    return None


def _by_id(root: etree._Element, element_id: str) -> etree._Element | None:
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id") == element_id:
            return node
    return None


def _event(root: etree._Element, definition: etree._Element) -> dict[str, Any]:
    kind = etree.QName(definition).localname
    if kind not in _EVENT_KINDS:
        raise ValueError(f"{kind} {definition.get('id')!r} cannot be thrown by a multi-instance activity")
    ref_attribute, tag, code_attribute = _EVENT_KINDS[kind]
    ref = (definition.get(ref_attribute) or "").split(":")[-1]
    target = _by_id(root, ref) if ref else None
    if target is None or etree.QName(target).localname != tag:
        raise ValueError(f"{kind} {definition.get('id')!r} names no {tag} ({ref_attribute}={ref!r})")
    return {"kind": tag, "name": target.get("name"), "code": target.get(code_attribute) if code_attribute else None}


# --- running -----------------------------------------------------------------------------------------------


class BehaviourMixin:
    """What the Taktflow MI task specs add to SpiffWorkflow's: throw the behaviour events."""

    behaviour: dict[str, Any] | None

    def merge_child(self, workflow: Any, child: Task) -> None:
        super().merge_child(workflow, child)  # type: ignore[misc]
        behaviour = getattr(self, "behaviour", None)
        if not behaviour:
            return
        my_task = child.parent
        if behaviour["behavior"] == "None":
            _throw(my_task, behaviour["events"])
        elif behaviour["behavior"] == "One":
            if len(my_task.internal_data.get("merged", [])) == 1:
                _throw(my_task, behaviour["events"])
        elif behaviour["behavior"] == "Complex":
            attributes = _instance_attributes(self, my_task)
            thrown = False
            for definition in behaviour["definitions"]:
                if my_task.workflow.script_engine.evaluate(child, definition["condition"],
                                                           external_context=attributes):
                    _throw(my_task, definition["events"])
                    thrown = True
            if thrown:
                for instance in self._instances(my_task):  # type: ignore[attr-defined]
                    if not instance.has_state(TaskState.FINISHED_MASK):
                        instance.cancel()
                if not my_task.has_state(TaskState.FINISHED_MASK):
                    my_task._set_state(TaskState.READY)


def _instance_attributes(spec: Any, my_task: Task) -> dict[str, int]:
    info = spec.task_info(my_task)
    instances = list(spec._instances(my_task))
    return {
        "numberOfInstances": len(info["completed"]) + len(info["running"]) + len(info["future"]),
        "numberOfActiveInstances": sum(1 for t in instances if not t.has_state(TaskState.FINISHED_MASK)),
        "numberOfCompletedInstances": sum(1 for t in instances if t.state == TaskState.COMPLETED),
        "numberOfTerminatedInstances": sum(1 for t in instances if t.state == TaskState.CANCELLED),
    }


def _events_of(behaviour: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not behaviour:
        return []
    if behaviour["behavior"] == "Complex":
        return [event for definition in behaviour["definitions"] for event in definition["events"]]
    return list(behaviour["events"])


def _definition(event: dict[str, Any]) -> Any:
    if event["kind"] == "signal":
        return SignalEventDefinition(event["name"])
    if event["kind"] == "message":
        return MessageEventDefinition(event["name"])
    if event["kind"] == "error":
        return ErrorEventDefinition(event["name"], code=event["code"])
    return EscalationEventDefinition(event["name"], code=event["code"])


def _throw(my_task: Task, events: list[dict[str, Any]]) -> None:
    """Start the path of every boundary event of the MI activity that catches one of `events`."""
    split = my_task.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return  # no boundary events: a behaviour event nobody catches is simply gone
    specs = my_task.workflow.spec.task_specs
    for event in events:
        thrown = BpmnEvent(_definition(event))
        for boundary in split.task_spec.outputs:
            twin = specs.get(f"{boundary.name}{TWIN_SUFFIX}")
            if twin is None or not twin.event_definition.catches(split, thrown):
                continue
            caught = split._add_child(twin, TaskState.FUTURE)
            caught.triggered = True  # not one of the split's predicted children: never pruned
            twin._predict(caught, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)  # its outgoing paths
            twin.catch(caught, thrown)
            twin._update(caught)
            caught.set_data(**copy.deepcopy(my_task.data))  # the path carries the activity's data as it is now


class TaktflowSequentialMultiInstanceTask(BehaviourMixin, SequentialMultiInstanceTask):
    def __init__(self, wf_spec: Any, bpmn_id: str, behaviour: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.behaviour = behaviour


class TaktflowParallelMultiInstanceTask(BehaviourMixin, ParallelMultiInstanceTask):
    def __init__(self, wf_spec: Any, bpmn_id: str, behaviour: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.behaviour = behaviour


# --- the parser ------------------------------------------------------------------------------------------


class MultiInstanceBehaviourParsing:
    """Mixed into a SpiffWorkflow task parser: MI tasks that throw their behaviour events."""

    SEQUENTIAL_MI_CLASS = TaktflowSequentialMultiInstanceTask
    PARALLEL_MI_CLASS = TaktflowParallelMultiInstanceTask
    node: etree._Element
    task: Any
    spec: Any

    def _add_multiinstance_task(self, loop_characteristics: etree._Element) -> None:
        super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
        try:
            self.task.behaviour = read_behaviour(loop_characteristics)
        except ValueError as exc:
            raise ValidationException(str(exc), node=self.node, file_name=getattr(self, "filename", None)) from exc

    def _add_boundary_event(self, children: list[etree._Element]) -> Any:
        split = super()._add_boundary_event(children)  # type: ignore[misc]
        thrown = [_definition(event) for event in _events_of(getattr(self.task, "behaviour", None))]
        for boundary in split.outputs:
            if isinstance(boundary, BoundaryEvent) and any(boundary.event_definition == d for d in thrown):
                _add_twin(self.spec, boundary)
        return split


def _add_twin(wf_spec: Any, boundary: BoundaryEvent) -> None:
    """A non-interrupting copy of a boundary event that only the MI activity's own events start."""
    twin = copy.copy(boundary)
    twin.name = f"{boundary.name}{TWIN_SUFFIX}"
    twin.cancel_activity = False
    # Its input is the split (SpiffWorkflow wants one), but the split does not list it: nothing predicts it.
    twin._inputs, twin._outputs = list(boundary._inputs), list(boundary._outputs)
    twin.data, twin.defines = dict(boundary.data), dict(boundary.defines)
    for name in ("update_event", "ready_event", "completed_event", "error_event", "cancelled_event", "run_event"):
        setattr(twin, name, Event())
    wf_spec._add_notify(twin)


class MultiInstanceConverter(SpiffMultiInstanceConverter):
    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["behaviour"] = spec.behaviour
        return dct


SERIALIZER_CONFIG = {
    TaktflowSequentialMultiInstanceTask: MultiInstanceConverter,
    TaktflowParallelMultiInstanceTask: MultiInstanceConverter,
}


def install(parser_class: Any, serializer_config: dict[Any, Any]) -> None:
    """Make every task parser of `parser_class` read MI behaviours, and the serializer config keep them."""
    overrides = parser_class.OVERRIDE_PARSER_CLASSES
    for tag, (base, spec_class) in list(overrides.items()):
        if issubclass(base, TaskParser) and not issubclass(base, MultiInstanceBehaviourParsing):
            overrides[tag] = (type(f"MultiInstance{base.__name__}", (MultiInstanceBehaviourParsing, base), {}),
                              spec_class)
    serializer_config.update(SERIALIZER_CONFIG)
