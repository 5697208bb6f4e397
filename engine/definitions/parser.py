"""SpiffWorkflow's parser, extended for what Taktflow models carry.

- Every task parser also reads Camunda 7 attributes and `camunda:formData` into the spec's extensions,
  so models from Camunda Modeler keep their candidate groups, assignees, due dates and form fields.
- Service tasks name a handler by `spiffworkflow:serviceTaskOperator` or by `camunda:topic` /
  `camunda:class` / `camunda:delegateExpression` / `camunda:expression`; the engine decides at run time
  whether an in-process handler or an external worker does the work (`TaktflowServiceTask`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import ConditionalGatewayConverter, EventConverter
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, StartEvent
from SpiffWorkflow.spiff.parser.event_parsers import SpiffStartEventParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, SpiffTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter, SpiffBpmnTaskConverter
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ServiceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from taktflow.engine.decisions.model import DecisionError, DecisionModel, check_graph, read_decisions
from taktflow.engine.definitions import camunda_dialect, compensation_parser, cron, juel, multi_instance
from taktflow.engine.definitions.constraints import BPMN_NS, ref_id
from taktflow.engine.definitions.instantiating import instantiating_receive_tasks_as_start_events
from taktflow.engine.definitions.reserved_ids import rename_reserved_ids
from taktflow.engine.definitions.transform import make_implicit_behaviour_explicit
from taktflow.engine.errors import ModelProblem

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_CAMUNDA = f"{{{CAMUNDA_NS}}}"


class TaktflowServiceTask(ServiceTask):
    """A service task whose work is dispatched by the engine command, not by Spiff's `call_service`.

    The dispatch returns True when an in-process handler finished, or None to leave the task STARTED:
    an external worker has it, a retry job will run it again, or a BPMN error will be thrown at it.
    """

    def _execute(self, task: Task) -> bool | None:
        return task.workflow.script_engine.run_service_task(task)

    @property
    def handler_name(self) -> str:
        return self.operation_name


def camunda_extensions(node: etree._Element) -> dict[str, Any]:
    """Camunda 7 attributes, form fields and properties of one element, as JSON-safe data."""
    found: dict[str, Any] = {}
    attrs = {k[len(_CAMUNDA):]: v for k, v in node.attrib.items() if k.startswith(_CAMUNDA)}
    if attrs:
        found["camunda"] = attrs
    ext = node.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements")
    if ext is None:
        return found
    form = ext.find(f"{_CAMUNDA}formData")
    if form is not None:
        found["formFields"] = [_form_field(f) for f in form.findall(f"{_CAMUNDA}formField")]
    props = ext.find(f"{_CAMUNDA}properties")
    if props is not None:
        found["camundaProperties"] = {
            p.get("name"): p.get("value") for p in props.findall(f"{_CAMUNDA}property") if p.get("name")
        }
    return found


def _form_field(node: etree._Element) -> dict[str, Any]:
    field: dict[str, Any] = {
        "id": node.get("id"),
        "label": node.get("label") or node.get("id"),
        "type": node.get("type") or "string",
    }
    if node.get("defaultValue") is not None:
        field["defaultValue"] = node.get("defaultValue")
    for constraint in node.iterfind(f"{_CAMUNDA}validation/{_CAMUNDA}constraint"):
        name, config = constraint.get("name"), constraint.get("config")
        field[name] = True if config is None else config
    values = node.findall(f"{_CAMUNDA}value")
    if values:
        field["values"] = [{"id": v.get("id"), "name": v.get("name") or v.get("id")} for v in values]
    return field


class CamundaAttributesMixin:
    """Adds `camunda_extensions` to whatever the Spiff parser already reads from an element."""

    node: etree._Element

    def parse_extensions(self, node: etree._Element | None = None) -> dict[str, Any]:
        node = self.node if node is None else node
        extensions = SpiffTaskParser._parse_extensions(node)
        extensions.update(camunda_extensions(node))
        return extensions


class TaktflowServiceTaskParser(CamundaAttributesMixin, ServiceTaskParser):
    def create_task(self) -> TaktflowServiceTask:
        extensions = self.parse_extensions()
        operator = extensions.get("serviceTaskOperator")
        camunda = extensions.get("camunda", {})
        if operator is None:
            name = (camunda.get("topic") or camunda.get("class") or camunda.get("delegateExpression")
                    or camunda.get("expression"))
            if not name:
                raise ValidationException(
                    "A service task must name its handler: a spiffworkflow:serviceTaskOperator or a "
                    "camunda:topic (with camunda:type=\"external\")",
                    node=self.node, file_name=self.filename,
                )
            operator = {"name": camunda_dialect.handler_name(name), "parameters": {},
                        "resultVariable": camunda.get("resultVariable")}
        retries = operator.get("retries")
        return self.spec_class(
            self.spec,
            self.bpmn_id,
            operation_name=operator["name"],
            operation_params=operator["parameters"],
            result_variable=operator.get("resultVariable"),
            retries=retries,
            retry_backoff_base=operator.get("retryBackoffBase"),
            prescript=extensions.get("preScript"),
            postscript=extensions.get("postScript"),
            **self.bpmn_attributes,
        )


MAP_DECISION_RESULT = ("resultList", "singleResult", "singleEntry", "collectEntries")


class DecisionCall:
    """What a business rule task evaluates: one decision of a DRG, its result mapped into task data
    the way Camunda's `mapDecisionResult` does (or merged into the data, SpiffWorkflow's way, when the task
    names no result variable)."""

    def __init__(self, decision_ref: str, decisions: dict[str, Any], result_variable: str | None,
                 map_decision_result: str | None) -> None:
        self.decision_ref = decision_ref
        self.decisions = decisions
        self.result_variable = result_variable
        self.map_decision_result = map_decision_result or "resultList"
        self.model = DecisionModel(decisions)

    def result(self, task: Task) -> dict[str, Any]:
        value = self.model.evaluate(self.decision_ref, task.data)
        if "literal" in self.decisions[self.decision_ref]:
            return {self.result_variable or self.decisions[self.decision_ref]["variable"]: value}
        if self.result_variable is None:
            if len(value) <= 1:
                return dict(value[0]) if value else {}
            return {name: [row[name] for row in value] for name in value[0]}
        return {self.result_variable: self._mapped(value)}

    def _mapped(self, rows: list[dict[str, Any]]) -> Any:
        mapping = self.map_decision_result
        if mapping == "resultList":
            return rows
        if mapping == "collectEntries":
            return [self._single_entry(row) for row in rows]
        if len(rows) > 1:
            raise DecisionError(self.decision_ref, f"mapDecisionResult {mapping} but {len(rows)} rules matched")
        if not rows:
            return None
        return dict(rows[0]) if mapping == "singleResult" else self._single_entry(rows[0])

    def _single_entry(self, row: dict[str, Any]) -> Any:
        if len(row) != 1:
            raise DecisionError(self.decision_ref, f"mapDecisionResult {self.map_decision_result} needs one output, "
                                f"the result has {', '.join(row)}")
        return next(iter(row.values()))


class TaktflowBusinessRuleTask(BusinessRuleTask):
    """A business rule task evaluated by Taktflow's DMN 1.3 engine (`engine/decisions`)."""

    dmnEngine: DecisionCall


class BusinessRuleTaskConverter(SpiffBpmnTaskConverter):
    def to_dict(self, spec: TaktflowBusinessRuleTask) -> dict[str, Any]:
        dct = super().to_dict(spec)
        call = spec.dmnEngine
        dct.update(decision_ref=call.decision_ref, decisions=call.decisions, result_variable=call.result_variable,
                   map_decision_result=call.map_decision_result)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> TaktflowBusinessRuleTask:
        dct["dmnEngine"] = DecisionCall(dct.pop("decision_ref"), dct.pop("decisions"), dct.pop("result_variable"),
                                        dct.pop("map_decision_result"))
        return self.task_spec_from_dict(dct)


class TaktflowBusinessRuleTaskParser(CamundaAttributesMixin, SpiffTaskParser):
    def create_task(self) -> TaktflowBusinessRuleTask:
        extensions = self.parse_extensions()
        camunda = extensions.get("camunda", {})
        decision_ref = extensions.get("calledDecisionId") or camunda.get("decisionRef")
        if not decision_ref:
            raise ValidationException(
                "A business rule task must name its decision (camunda:decisionRef or spiffworkflow:calledDecisionId)",
                node=self.node, file_name=self.filename,
            )
        mapping = camunda.get("mapDecisionResult")
        if mapping is not None and mapping not in MAP_DECISION_RESULT:
            raise ValidationException(f"camunda:mapDecisionResult must be one of {', '.join(MAP_DECISION_RESULT)}",
                                      node=self.node, file_name=self.filename)
        decisions = self.process_parser.parser.decision_graph(decision_ref, self.node, self.filename)
        return TaktflowBusinessRuleTask(
            self.spec, self.bpmn_id,
            dmnEngine=DecisionCall(decision_ref, decisions, camunda.get("resultVariable"), mapping),
            prescript=extensions.get("preScript"), postscript=extensions.get("postScript"),
            **self.bpmn_attributes,
        )

    @staticmethod
    def get_decision_ref(node: etree._Element) -> str | None:
        return (SpiffTaskParser._parse_extensions(node).get("calledDecisionId")
                or node.get(f"{_CAMUNDA}decisionRef"))


class ComplexGateway(InclusiveGateway):
    """BPMN's complex gateway. Diverging, it passes a token on every flow whose condition holds (the default
    flow when none does). Converging, it fires when its `activationCondition` holds for `activationCount`
    tokens arrived, then waits for reset: tokens of the same activation that arrive later are consumed
    without firing again (the discriminator pattern)."""

    def __init__(self, wf_spec: Any, name: str, activation_condition: str | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, name, **kwargs)
        self.activation_condition = activation_condition

    def _arrived(self, my_task: Task) -> list[Task]:
        return [t for t in my_task.workflow.get_tasks(spec_name=self.name)
                if t.parent is not None and t.parent.state == TaskState.COMPLETED
                and (t is my_task or not t.is_descendant_of(my_task))]

    def _fired(self, my_task: Task) -> bool:
        return any(t is not my_task and t.state == TaskState.COMPLETED and not my_task.is_descendant_of(t)
                   and not t.is_descendant_of(my_task) for t in my_task.workflow.get_tasks(spec_name=self.name))

    def _update_hook(self, my_task: Task) -> bool:
        if self.activation_condition and self._fired(my_task):
            my_task.cancel()
            return False
        return super()._update_hook(my_task)

    def _run_hook(self, my_task: Task) -> bool:
        if self.activation_condition and self._fired(my_task):
            my_task._drop_children(force=True)  # a later token of a fired activation is consumed
            return True
        return super()._run_hook(my_task)

    def _check_threshold_unstructured(self, my_task: Task) -> bool:
        if not self.activation_condition:
            return True
        count = len(self._arrived(my_task))
        return bool(my_task.workflow.script_engine.evaluate(
            my_task, self.activation_condition, external_context={"activationCount": count}))


class ComplexGatewayParser(ConditionalGatewayParser):
    def create_task(self) -> ComplexGateway:
        condition = self.xpath("./bpmn:activationCondition")
        text = (condition[0].text or "").strip() if condition else None
        return ComplexGateway(self.spec, self.bpmn_id, activation_condition=text or None, **self.bpmn_attributes)


class ComplexGatewayConverter(ConditionalGatewayConverter):
    def to_dict(self, spec: ComplexGateway) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["activation_condition"] = spec.activation_condition
        return dct


class TaktflowStartEvent(StartEvent):
    """A start event that knows whether it interrupts (BPMN `isInterrupting`, read for event subprocesses)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, event_definition: Any, interrupting: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, event_definition, **kwargs)
        self.interrupting = interrupting


class StartEventConverter(EventConverter):
    def to_dict(self, spec: TaktflowStartEvent) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["interrupting"] = spec.interrupting
        return dct


class TaktflowStartEventParser(CamundaAttributesMixin, SpiffStartEventParser):
    """Start events also catch errors and escalations (the start events of event subprocesses); SpiffWorkflow
    reads those as plain start events, so the event subprocess would start at once."""

    def create_task(self) -> Any:
        event_definition = self.get_event_definition([
            MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH,
            ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
        ])
        task = self._create_task(event_definition)
        task.interrupting = self.node.get("isInterrupting") != "false"  # read by engine/event_subprocesses.py
        self.spec.start.connect(task)
        return task


def _with_camunda(parser_class: type) -> type:
    if issubclass(parser_class, CamundaAttributesMixin):
        return parser_class
    return type(f"Taktflow{parser_class.__name__}", (CamundaAttributesMixin, parser_class), {})


class SignalEndEventParsing:
    """SpiffWorkflow 3.2's end event parser leaves out signal definitions: a signal end event was read as a
    none end event and threw nothing (in a process or a sub-process alike)."""

    def create_task(self) -> Any:
        event_definition = self.get_event_definition([  # type: ignore[attr-defined]
            MESSAGE_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
            TERMINATION_EVENT_XPATH, SIGNAL_EVENT_XPATH])
        task = self._create_task(event_definition)  # type: ignore[attr-defined]
        task.connect(self.spec.end)  # type: ignore[attr-defined]
        return task


class TaktflowParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        tag: (_with_camunda(parser_class), spec_class)
        for tag, (parser_class, spec_class) in SpiffBpmnParser.OVERRIDE_PARSER_CLASSES.items()
    }
    OVERRIDE_PARSER_CLASSES[full_tag("endEvent")] = (
        type("TaktflowEndEventParser", (SignalEndEventParsing, OVERRIDE_PARSER_CLASSES[full_tag("endEvent")][0]), {}),
        OVERRIDE_PARSER_CLASSES[full_tag("endEvent")][1])
    OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")] = (TaktflowServiceTaskParser, TaktflowServiceTask)
    OVERRIDE_PARSER_CLASSES[full_tag("startEvent")] = (TaktflowStartEventParser, TaktflowStartEvent)
    OVERRIDE_PARSER_CLASSES[full_tag("complexGateway")] = (ComplexGatewayParser, ComplexGateway)
    OVERRIDE_PARSER_CLASSES[full_tag("businessRuleTask")] = (TaktflowBusinessRuleTaskParser, TaktflowBusinessRuleTask)

    def __init__(self) -> None:
        super().__init__()
        self.decisions: dict[str, Any] = {}
        self.decision_files: dict[str, str | None] = {}

    def _add_data_stores(self, bpmn: etree._Element) -> None:
        """A data store no data association reads or writes is documentation (Camunda's invoice example draws
        its accounting system as one): it is accepted and ignored, as Camunda does. One that a task reads or
        writes needs an implementation, and SpiffWorkflow's parser refuses it by name."""
        used = {ref_id(ref.text) for ref in bpmn.iter(f"{{{BPMN_NS}}}sourceRef", f"{{{BPMN_NS}}}targetRef")
                if ref.getparent() is not None
                and etree.QName(ref.getparent()).localname in ("dataInputAssociation", "dataOutputAssociation")}
        referenced = {node.get("dataStoreRef") for node in bpmn.iter(f"{{{BPMN_NS}}}dataStoreReference")
                      if node.get("id") in used}
        kept = [store for store in bpmn.iter(f"{{{BPMN_NS}}}dataStore")
                if store.get("id") in referenced or store.get("name") in self.DATA_STORE_CLASSES]
        if len(kept) == sum(1 for _ in bpmn.iter(f"{{{BPMN_NS}}}dataStore")):
            super()._add_data_stores(bpmn)
            return
        # The parser reads data stores from the whole document: hand it a copy holding only the used ones.
        document = etree.Element(bpmn.tag, nsmap=bpmn.nsmap)
        for store in kept:
            document.append(copy.deepcopy(store))
        super()._add_data_stores(document)

    def add_dmn_xml(self, node: etree._Element, filename: str | None = None) -> None:
        """Read decisions with Taktflow's DMN 1.3 reader (SpiffWorkflow's allows one table per file)."""
        decisions, problems = read_decisions(node, filename)
        problems += check_graph({**self.decisions, **decisions}, filename)
        for key in decisions:
            if key in self.decisions and self.decision_files.get(key) != filename:
                raise ValidationException(f"decision {key!r} is defined in {self.decision_files[key]} and {filename}",
                                          file_name=filename)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            exc = ValidationException(first.message, file_name=filename)
            exc.id, exc.rule = first.element, first.rule
            raise exc
        self.decisions.update(decisions)
        self.decision_files.update({key: filename for key in decisions})

    def decision_graph(self, decision_ref: str, node: etree._Element, filename: str | None) -> dict[str, Any]:
        """The decision and every decision it requires (what a business rule task carries in its spec)."""
        if decision_ref not in self.decisions:
            available = ", ".join(sorted(self.decisions)) or "none"
            raise ValidationException(f"decision {decision_ref!r} is not deployed (available: {available})",
                                      node=node, file_name=filename)
        graph: dict[str, Any] = {}
        pending = [decision_ref]
        while pending:
            key = pending.pop()
            if key not in graph:
                graph[key] = self.decisions[key]
                pending.extend(self.decisions[key]["requires"])
        return graph

    def get_dmn_dependencies(self) -> set[str]:
        return {d for d in self.dmn_dependencies if d}


SERIALIZER_CONFIG = dict(SPIFF_CONFIG)
SERIALIZER_CONFIG.pop(ServiceTask, None)
SERIALIZER_CONFIG[TaktflowServiceTask] = ServiceTaskConverter
SERIALIZER_CONFIG[ComplexGateway] = ComplexGatewayConverter
SERIALIZER_CONFIG[TaktflowStartEvent] = StartEventConverter
SERIALIZER_CONFIG.pop(BusinessRuleTask, None)
SERIALIZER_CONFIG[TaktflowBusinessRuleTask] = BusinessRuleTaskConverter
compensation_parser.install(TaktflowParser, SERIALIZER_CONFIG)
multi_instance.install(TaktflowParser, SERIALIZER_CONFIG)
camunda_dialect.install(TaktflowParser, SERIALIZER_CONFIG)  # last: wraps the parsers and MI specs above


def new_registry() -> Any:
    return BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG)


_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P[0-9YMWDTHS.,]+|\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?)(/\S+)?$"
)
_TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


def prepare_for_parser(root: etree._Element) -> None:
    """After validation (which sees the model as written): the rewrites of `transform`."""
    camunda_dialect.case_calls_as_service_tasks(root)
    instantiating_receive_tasks_as_start_events(root)
    make_implicit_behaviour_explicit(root)
    rename_reserved_ids(root)  # last: every element the rewrites added refers to the new ids too


_EXPRESSION_TAGS = ("conditionExpression", "condition", "timeDuration", "timeDate", "timeCycle", "loopCardinality",
                    "completionCondition", "activationCondition")


def normalize(root: etree._Element, filename: str | None = None) -> list[ModelProblem]:
    """Accept expressions as designers write them, before validation sees the model.

    - Camunda's JUEL (`${amount > 1000 && !approved}`) becomes the equivalent restricted Python.
    - SpiffWorkflow evaluates timer definitions as Python expressions, so a bare ISO 8601 literal
      (PT5M, 2026-01-01T08:00Z, R3/PT1H) becomes a quoted string; anything else stays an expression.
    """
    problems: list[ModelProblem] = []
    for tag in _EXPRESSION_TAGS:
        for node in root.iter(f"{{http://www.omg.org/spec/BPMN/20100524/MODEL}}{tag}"):
            text = (node.text or "").strip()
            if juel.is_expression(text):
                try:
                    node.text = juel.to_python(text)
                    node.set(juel.TRANSLATED, "true")  # the validation rules know it was an expression
                except juel.JuelError as exc:
                    problems.append(ModelProblem(_owner_id(node), "juel-expression", str(exc), file=filename))
            elif tag in _TIMER_TAGS and (_ISO_LITERAL.match(text) or (tag == "timeCycle" and cron.is_cron(text))):
                node.text = repr(text)
    return problems


def _owner_id(node: etree._Element) -> str | None:
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node.get("id") if node is not None else None
