"""SpiffWorkflow's parser, extended for what Taktflow models carry.

- Every task parser also reads Camunda 7 attributes and `camunda:formData` into the spec's extensions,
  so models from Camunda Modeler keep their candidate groups, assignees, due dates and form fields.
- Service tasks name a handler by `spiffworkflow:serviceTaskOperator` or by `camunda:topic` /
  `camunda:class` / `camunda:delegateExpression` / `camunda:expression`; the engine decides at run time
  whether an in-process handler or an external worker does the work (`TaktflowServiceTask`).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, SpiffTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.task import Task

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
            operator = {"name": name.strip(), "parameters": {}, "resultVariable": camunda.get("resultVariable")}
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


def _with_camunda(parser_class: type) -> type:
    if issubclass(parser_class, CamundaAttributesMixin):
        return parser_class
    return type(f"Taktflow{parser_class.__name__}", (CamundaAttributesMixin, parser_class), {})


class TaktflowParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        tag: (_with_camunda(parser_class), spec_class)
        for tag, (parser_class, spec_class) in SpiffBpmnParser.OVERRIDE_PARSER_CLASSES.items()
    }
    OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")] = (TaktflowServiceTaskParser, TaktflowServiceTask)


SERIALIZER_CONFIG = dict(SPIFF_CONFIG)
SERIALIZER_CONFIG.pop(ServiceTask, None)
SERIALIZER_CONFIG[TaktflowServiceTask] = ServiceTaskConverter


def new_registry() -> Any:
    return BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG)


_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P[0-9YMWDTHS.,]+|\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?)(/\S+)?$"
)
_TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


def normalize(root: etree._Element) -> None:
    """Accept timer values written as designers write them (PT5M, 2026-01-01T08:00Z, R3/PT1H).

    SpiffWorkflow evaluates timer definitions as Python expressions, so a bare ISO 8601 literal
    becomes a quoted string here; anything else stays an expression.
    """
    for tag in _TIMER_TAGS:
        for node in root.iter(f"{{http://www.omg.org/spec/BPMN/20100524/MODEL}}{tag}"):
            text = (node.text or "").strip()
            if _ISO_LITERAL.match(text):
                node.text = repr(text)
