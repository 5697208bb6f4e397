"""Camunda 7 constructs that need their own task specs, installed into Taktflow's parser.

- Call activity `camunda:in` / `camunda:out` mappings (`source`, `sourceExpression`, `variables="all"`,
  `local`): with any `camunda:in`, only the mapped variables go into the called process; with any
  `camunda:out`, only the mapped variables come back (without mappings: SpiffWorkflow's default, all of them).
  `camunda:calledElementBinding` / `calledElementVersion` / `calledElementVersionTag` are kept as metadata: the
  called process is the latest version deployed when the caller is deployed (a changed called process makes a
  new caller version).
- Timer cycles in cron form (`0 0 9 * * ?`, `*/5 * * * *`) beside ISO 8601 repetitions (`cron.py`).
- Multi-instance in Camunda form: `camunda:collection` (a variable name or any expression) and
  `camunda:elementVariable` run as SpiffWorkflow's loopDataInputRef/inputDataItem; the element variable is
  local to each instance, and `completionCondition` sees `nrOfInstances`, `nrOfCompletedInstances`,
  `nrOfActiveInstances` and `loopCounter`.
- Service tasks named by `camunda:expression` / `camunda:delegateExpression` (`${bean.method(execution)}`)
  use the handler `bean.method` (`handler_name`).
"""

from __future__ import annotations

import ast
import re
from copy import deepcopy
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import IntermediateCatchEvent
from SpiffWorkflow.spiff.serializer.task_spec import SubWorkflowTaskConverter
from SpiffWorkflow.spiff.specs.defaults import CallActivity
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from taktflow.engine.clock import utcnow
from taktflow.engine.definitions import cron, juel

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
_DELEGATE = re.compile(r"^[$#]\{\s*([A-Za-z_][\w.]*?)\s*(?:\(.*\))?\s*\}$", re.DOTALL)


def handler_name(text: str) -> str:
    """The handler a Camunda service task names: `${bean.method(execution)}` → `bean.method`,
    `${orderDelegate}` → `orderDelegate`; a class name or topic stays as written."""
    text = text.strip()
    match = _DELEGATE.match(text)
    return match.group(1) if match else text


CASE_HANDLER_PREFIX = "cmmn-case:"


def case_calls_as_service_tasks(root: etree._Element) -> None:
    """A call activity with `camunda:caseRef` starts a CMMN case, which Taktflow does not run. Camunda deploys
    such a model and needs the case only when the activity is reached; Taktflow deploys it too (with the
    warning `camunda-case-call`) and, in the parser's copy, makes the activity an external task with the topic
    `cmmn-case:<caseRef>`: it waits there until a worker (a case tool, a person through the API) completes
    it with the variables the case would have returned."""
    for node in list(root.iter(f"{BPMN}callActivity")):
        case = node.get(f"{CAMUNDA}caseRef")
        if case is None or node.get("calledElement"):
            continue
        node.tag = f"{BPMN}serviceTask"
        node.set(f"{CAMUNDA}class", f"{CASE_HANDLER_PREFIX}{case}")
        for child in list(node):
            if child.tag == f"{BPMN}extensionElements":
                node.remove(child)


def _problem(parser: Any, message: str) -> ValidationException:
    return ValidationException(message, node=parser.node, file_name=getattr(parser, "filename", None))


def _expression(parser: Any, text: str, what: str) -> str:
    """A Camunda expression attribute as the restricted Python the engine evaluates (checked at deploy)."""
    from taktflow.engine.scripting import check_source  # the evaluator's own compile check

    try:
        source = juel.to_python(text) if juel.is_expression(text) else text
    except juel.JuelError as exc:
        raise _problem(parser, f"{what}: {exc}") from exc
    problems = check_source(source, is_script=False)
    if problems:
        raise _problem(parser, f"{what} {text!r}: {problems[0]}")
    return source


# --- call activity variable mappings -----------------------------------------------------------------------


class CamundaCallActivity(CallActivity):
    """A call activity that passes variables the way its `camunda:in` / `camunda:out` mappings say."""

    def __init__(self, wf_spec: Any, bpmn_id: str, subworkflow_spec: str,
                 camunda_in: list[dict[str, Any]] | None = None, camunda_out: list[dict[str, Any]] | None = None,
                 binding: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.camunda_in = camunda_in or []
        self.camunda_out = camunda_out or []
        self.binding = binding or {}

    def copy_data(self, my_task: Task, subworkflow: Any) -> None:
        if not self.camunda_in:
            return super().copy_data(my_task, subworkflow)
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**_mapped(my_task, self.camunda_in))

    def update_data(self, my_task: Task, subworkflow: Any) -> None:
        if not self.camunda_in and not self.camunda_out:
            return super().update_data(my_task, subworkflow)
        child = subworkflow.last_task
        # The caller keeps its own variables: the child saw only what was mapped in.
        returned = _mapped(child, self.camunda_out) if self.camunda_out else deepcopy(child.data)
        my_task.data = {**my_task.data, **returned}


def _mapped(task: Task, mappings: list[dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for mapping in mappings:
        if mapping.get("variables") == "all":
            values.update(deepcopy(task.data))
        elif "sourceExpression" in mapping:
            values[mapping["target"]] = task.workflow.script_engine.evaluate(task, mapping["sourceExpression"])
        elif "source" in mapping:
            values[mapping["target"]] = deepcopy(task.data.get(mapping["source"]))  # Camunda: a missing one is null
    return values


def read_mappings(parser: Any, tag: str) -> list[dict[str, Any]]:
    ext = parser.node.find(f"{BPMN}extensionElements")
    mappings: list[dict[str, Any]] = []
    for node in ext.iterfind(f"{CAMUNDA}{tag}") if ext is not None else []:
        local = node.get("local") == "true"
        if node.get("variables") == "all":
            mappings.append({"variables": "all", "local": local})
        elif node.get("businessKey") is not None:
            continue  # the called process runs inside the caller's instance, under its business key
        elif node.get("target"):
            if node.get("sourceExpression") is not None:
                source = _expression(parser, node.get("sourceExpression"), f"camunda:{tag} sourceExpression")
                mappings.append({"sourceExpression": source, "target": node.get("target"), "local": local})
            elif node.get("source"):
                mappings.append({"source": node.get("source"), "target": node.get("target"), "local": local})
            else:
                raise _problem(parser, f"camunda:{tag} target={node.get('target')!r} needs a source or a "
                                       "sourceExpression")
        else:
            raise _problem(parser, f"camunda:{tag} needs variables=\"all\" or a target")
    return mappings


class CallActivityMappingParsing:
    node: etree._Element

    def create_task(self) -> CamundaCallActivity:
        task = super().create_task()  # type: ignore[misc]
        task.camunda_in = read_mappings(self, "in")
        task.camunda_out = read_mappings(self, "out")
        task.binding = {name: self.node.get(f"{CAMUNDA}{name}") for name in
                        ("calledElementBinding", "calledElementVersion", "calledElementVersionTag")
                        if self.node.get(f"{CAMUNDA}{name}") is not None}
        return task


class CallActivityConverter(SubWorkflowTaskConverter):
    def to_dict(self, spec: CamundaCallActivity) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct.update(camunda_in=spec.camunda_in, camunda_out=spec.camunda_out, binding=spec.binding)
        return dct


# --- cron timer cycles -------------------------------------------------------------------------------------


# A cycle is bounded: R999999999/PT0S once made one worker fire a billion timers back to back.
MAX_CYCLE_REPETITIONS = 10_000
MIN_CYCLE_INTERVAL_S = 1.0
MIN_ENDLESS_CYCLE_INTERVAL_S = 60.0  # R/... repeats forever: at most once a minute


def check_cycle(text: str) -> str | None:
    """Why an ISO 8601 timer cycle is refused (too many repetitions, too short an interval), or None."""
    try:
        cycles, _, interval = CycleTimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:  # noqa: BLE001 - not an ISO cycle: EXT133 and the timer itself report that
        return None
    seconds = interval.total_seconds()
    if cycles > MAX_CYCLE_REPETITIONS:
        return f"timer cycle {text!r} repeats {cycles} times; at most {MAX_CYCLE_REPETITIONS} are allowed"
    if cycles < 0 and seconds < MIN_ENDLESS_CYCLE_INTERVAL_S:
        return (f"timer cycle {text!r} repeats forever every {seconds:g} s; an endless cycle may fire at most "
                f"once every {MIN_ENDLESS_CYCLE_INTERVAL_S:g} s")
    if seconds < MIN_CYCLE_INTERVAL_S:
        return (f"timer cycle {text!r} fires every {seconds:g} s; the interval must be at least "
                f"{MIN_CYCLE_INTERVAL_S:g} s")
    return None


class CycleTimer(CycleTimerEventDefinition):
    """A timeCycle: an ISO 8601 repetition (SpiffWorkflow's reading) or a cron expression.

    A cron cycle on a boundary or start event repeats forever, each time at the next cron time after the
    engine clock; on an intermediate catch event it fires once, at the next cron time (Camunda does the same:
    the event is passed once it fired)."""

    def _cron_value(self, my_task: Task) -> dict[str, Any] | None:
        """This task's cron schedule (computed when first looked at), None for an ISO 8601 cycle."""
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if not (isinstance(expression, str) and cron.is_cron(expression.strip())):
                return None
            schedule = cron.parse(expression.strip())
            event_value = {"cycles": -1, "next": schedule.next_after(utcnow()).isoformat(), "duration": 0,
                           "cron": schedule.text}
            my_task._set_internal_data(event_value=event_value)
        return event_value if "cron" in event_value else None

    def cycle_complete(self, my_task: Task) -> bool:
        value = self._cron_value(my_task)
        if value is None:
            current = my_task._get_internal_data("event_value")
            if current is not None and "refused" in current:
                return False  # refused once, with an incident; the timer never fires
            if current is None:
                # A cycle from an expression is only known now: bounded like a literal one at deploy.
                expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
                problem = check_cycle(str(expression).strip())
                if problem is not None:
                    my_task._set_internal_data(event_value={"cycles": 0, "next": None, "duration": 0,
                                                            "refused": problem})
                    my_task._set_state(TaskState.ERROR)
                    raise WorkflowTaskException(problem, task=my_task)
            return super().cycle_complete(my_task)
        now = utcnow()
        if value["cycles"] == 0 or datetime.fromisoformat(value["next"]) > now:
            return False
        if isinstance(my_task.task_spec, IntermediateCatchEvent):
            # Fires once: its path starts now, and the event itself is passed at its next update.
            my_task._set_internal_data(event_value={**value, "cycles": 0}, event_fired=True)
            return True
        # The next time counts from now: a worker that was down does not fire once for every missed time.
        my_task._set_internal_data(event_value={**value, "next": cron.parse(value["cron"]).next_after(now).isoformat()})
        return True


def _literal(expression: str | None) -> str | None:
    try:
        value = ast.literal_eval((expression or "").strip())
    except (ValueError, SyntaxError):
        return None
    return value.strip() if isinstance(value, str) else None


def _timer_definition(parser: Any, definition: Any) -> Any:
    if type(definition) is not CycleTimerEventDefinition:
        return definition
    literal = _literal(definition.expression)
    if literal is not None and cron.is_cron(literal):
        try:
            cron.parse(literal)
        except cron.CronError as exc:
            raise _problem(parser, str(exc)) from exc
    elif literal is not None and (problem := check_cycle(literal)) is not None:
        raise _problem(parser, problem)
    return CycleTimer(definition.name, definition.expression, description=definition.description)


# --- multi-instance in Camunda form ------------------------------------------------------------------------


SHADOWED = "camunda_shadowed"


class CamundaMultiInstance:
    """Mixed into the engine's MI task specs: Camunda's collection expression, local element variable and
    completion-condition variables."""

    camunda_collection: str | None
    element_variable: str | None
    data_input: Any
    condition: str | None

    def __init__(self, *args: Any, camunda_collection: str | None = None, element_variable: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.camunda_collection = camunda_collection
        self.element_variable = element_variable

    def _update_hook(self, my_task: Task) -> Any:
        if self.cardinality is not None and self.data_input is None and not self.camunda_collection:
            _check_cardinality(self, my_task)
        if (self.camunda_collection or self.element_variable) and SHADOWED not in my_task.internal_data:
            my_task._inherit_data()  # what SpiffWorkflow's update does first: the expression reads the variables
            # A process variable of the element variable's name is hidden while the instances run, not lost.
            my_task.internal_data[SHADOWED] = {name: my_task.data.pop(name) for name in [self.element_variable]
                                               if name in my_task.data}
            if self.camunda_collection:
                collection = my_task.workflow.script_engine.evaluate(my_task, self.camunda_collection)
                my_task.data[self.data_input.bpmn_id] = collection
        return super()._update_hook(my_task)  # type: ignore[misc]

    def create_child(self, my_task: Task, item: Any, key_or_index: Any = None) -> None:
        if self.element_variable:
            my_task.data.pop(self.element_variable, None)  # the previous instance's element, merged back
        super().create_child(my_task, item, key_or_index)  # type: ignore[misc]

    def merge_child(self, workflow: Any, child: Task) -> None:
        super().merge_child(workflow, child)  # type: ignore[misc]
        if self.element_variable:
            child.parent.data.pop(self.element_variable, None)

    def _run_hook(self, my_task: Task) -> Any:
        if self.camunda_collection:
            my_task.data.pop(self.data_input.bpmn_id, None)
        my_task.data.update(my_task.internal_data.pop(SHADOWED, None) or {})
        return super()._run_hook(my_task)  # type: ignore[misc]

    def check_completion_condition(self, my_task: Task) -> Any:
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None or not _COUNTERS.search(self.condition):
            return super().check_completion_condition(my_task)  # type: ignore[misc]
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        return my_task.workflow.script_engine.evaluate(last, self.condition,
                                                       external_context=_instance_counts(self, my_task, last))


def _check_cardinality(spec: Any, my_task: Task) -> None:
    """loopCardinality must evaluate to a whole number, zero or more; SpiffWorkflow would wait forever on a
    negative one (no instance ever completes the activity). Raised as a task error: an incident naming it."""
    my_task._inherit_data()
    value = my_task.workflow.script_engine.evaluate(my_task, spec.cardinality)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WorkflowTaskException(
            f"loopCardinality {spec.cardinality!r} of {spec.bpmn_id!r} is {value!r}; the number of instances "
            "must be a whole number, zero or more", task=my_task)


_COUNTERS = re.compile(r"\b(nrOfInstances|nrOfCompletedInstances|nrOfActiveInstances|loopCounter)\b")


def _instance_counts(spec: Any, my_task: Task, last: Task) -> dict[str, int]:
    instances = list(spec._instances(my_task))
    completed = sum(1 for t in instances if t.state == TaskState.COMPLETED)
    active = sum(1 for t in instances if not t.has_state(TaskState.FINISHED_MASK))
    remaining = len(my_task.internal_data.get("remaining", []))
    if my_task.internal_data.get("cardinality") is not None:  # sequential by cardinality
        remaining = my_task.internal_data["cardinality"] - my_task.internal_data.get("current", 0)
    index = last.internal_data.get("key_or_index")
    loop_counter = index if isinstance(index, int) else len(my_task.internal_data.get("merged", [])) - 1
    return {"nrOfInstances": len(instances) + remaining, "nrOfCompletedInstances": completed,
            "nrOfActiveInstances": active, "loopCounter": loop_counter}


def _camunda_form(parser: Any, characteristics: etree._Element) -> tuple[str | None, str | None]:
    """Rewrite `camunda:collection` / `camunda:elementVariable` into the BPMN elements SpiffWorkflow reads.

    Returns the collection expression to evaluate (None when the collection names a variable) and the element
    variable."""
    collection = (characteristics.get(f"{CAMUNDA}collection") or "").strip()
    element = (characteristics.get(f"{CAMUNDA}elementVariable") or "").strip() or None
    if not collection or characteristics.find(f"{BPMN}loopDataInputRef") is not None:
        return None, None
    if characteristics.find(f"{BPMN}loopCardinality") is not None:
        raise _problem(parser, "a multi-instance activity names either loopCardinality or camunda:collection")
    whole = re.fullmatch(r"[$#]\{\s*([A-Za-z_][A-Za-z_0-9]*)\s*\}", collection)
    name = whole.group(1) if whole else (collection if _NAME.match(collection) else None)
    expression = None
    if name is None:
        name = f"{parser.node.get('id')}__collection"
        expression = _expression(parser, collection, "camunda:collection")
    ref = etree.Element(f"{BPMN}loopDataInputRef")
    ref.text = name
    characteristics.insert(0, ref)
    if element is not None:
        if characteristics.find(f"{BPMN}inputDataItem") is not None:
            raise _problem(parser, "a multi-instance activity names either inputDataItem or camunda:elementVariable")
        characteristics.insert(1, etree.Element(f"{BPMN}inputDataItem", id=element, name=element))
    return expression, element


# --- installing into the parser ------------------------------------------------------------------------------


class CamundaDialectParsing:
    """Mixed into every Taktflow task parser."""

    node: etree._Element
    task: Any

    def parse_timer_event(self, event: etree._Element) -> Any:
        return _timer_definition(self, super().parse_timer_event(event))  # type: ignore[misc]

    def _add_multiinstance_task(self, loop_characteristics: etree._Element) -> None:
        expression, element = _camunda_form(self, loop_characteristics)
        super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
        self.task.camunda_collection = expression
        self.task.element_variable = element


def _with_mixin(mixin: type, base: type, attrs: dict[str, Any] | None = None) -> type:
    return type(f"{mixin.__name__.replace('Parsing', '')}{base.__name__}", (mixin, base), attrs or {})


def install(parser_class: Any, serializer_config: dict[Any, Any]) -> None:
    """Make every task parser of `parser_class` read the Camunda constructs above, and the serializer keep them."""
    serializer_config[CycleTimer] = TimerConditionalEventDefinitionConverter
    mi_classes: dict[type, type] = {}

    def camunda_mi(spec_class: type) -> type:
        if spec_class not in mi_classes:
            mi_classes[spec_class] = type(f"Camunda{spec_class.__name__}", (CamundaMultiInstance, spec_class), {})
            serializer_config[mi_classes[spec_class]] = _mi_converter(serializer_config[spec_class])
        return mi_classes[spec_class]

    overrides = parser_class.OVERRIDE_PARSER_CLASSES
    for tag, (base, spec_class) in list(overrides.items()):
        if not issubclass(base, TaskParser) or issubclass(base, CamundaDialectParsing):
            continue
        attrs = {}
        if hasattr(base, "SEQUENTIAL_MI_CLASS"):
            attrs = {"SEQUENTIAL_MI_CLASS": camunda_mi(base.SEQUENTIAL_MI_CLASS),
                     "PARALLEL_MI_CLASS": camunda_mi(base.PARALLEL_MI_CLASS)}
        parser = _with_mixin(CamundaDialectParsing, base, attrs)
        if tag == f"{BPMN}callActivity":  # the plain class stays registered: definitions stored before use it
            parser, spec_class = _with_mixin(CallActivityMappingParsing, parser), CamundaCallActivity
            serializer_config[CamundaCallActivity] = CallActivityConverter
        overrides[tag] = (parser, spec_class)


def _mi_converter(base: type) -> type:
    class CamundaMultiInstanceConverter(base):  # type: ignore[valid-type,misc]
        def to_dict(self, spec: Any) -> dict[str, Any]:
            dct = super().to_dict(spec)
            dct.update(camunda_collection=spec.camunda_collection, element_variable=spec.element_variable)
            return dct

    return CamundaMultiInstanceConverter
