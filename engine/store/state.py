"""Serialization of specs and instance state.

Raw SpiffWorkflow embeds the whole process spec in every serialized instance. Here a spec is serialized
once per process definition and instance state is stored without it (zlib-compressed JSON), so a
command reads and writes only its own task tree.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from taktflow.engine.definitions.parser import new_registry

SERIALIZER_VERSION = f"spiff-{SPIFF_SERIALIZER_VERSION}/tf-1"
Specs = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the instance; it is handed back in on restore."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], specs: Specs | None = None) -> BpmnWorkflow:
        from uuid import UUID

        if specs is None:
            raise ValueError("instance state restored without its spec")
        spec, subprocess_specs = specs
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer:
    def __init__(self) -> None:
        self.registry = new_registry()
        SpeclessWorkflowConverter(BpmnWorkflow, self.registry)
        self.registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        self.registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
        self._encoder = create_encoder(self.registry)

    # specs --------------------------------------------------------------------------------------------------

    def specs_to_dict(self, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> dict[str, Any]:
        return json.loads(self._dumps({
            "spec": spec,
            "subprocess_specs": subprocess_specs,
        }))

    def specs_from_dict(self, dct: dict[str, Any]) -> Specs:
        spec = self.registry.restore(dct["spec"])
        subs = {name: self.registry.restore(value) for name, value in dct["subprocess_specs"].items()}
        return spec, subs

    # instances ----------------------------------------------------------------------------------------------

    def dumps_workflow(self, workflow: BpmnWorkflow) -> bytes:
        return zlib.compress(self._dumps(workflow).encode(), 1)

    def loads_workflow(self, data: bytes, specs: Specs) -> BpmnWorkflow:
        dct = json.loads(zlib.decompress(data))
        return self.registry.restore(dct, specs=specs)

    def _dumps(self, obj: Any) -> str:
        self.registry._encoder_mode = True
        try:
            return json.dumps(self.registry.convert(obj), cls=self._encoder, separators=(",", ":"))
        finally:
            self.registry._encoder_mode = False


_JSON_SCALARS = (str, int, float, bool, type(None))


def to_json_safe(value: Any) -> Any:
    """Task data as plain JSON (for the instance's variables column, history and the API)."""
    kind = type(value)
    if kind in _JSON_SCALARS:  # most variables: no encode/decode round trip
        return value
    if kind is dict and all(type(k) is str and type(v) in _JSON_SCALARS for k, v in value.items()):
        return dict(value)
    return json.loads(json.dumps(value, default=_json_default))


class JsonView(Mapping[str, Any]):
    """Task data as plain JSON, converted per variable on first read: a handler that reads two variables of
    an instance carrying a 300-line order does not pay for copying all of it (and cannot change it)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self._converted: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._converted:
            self._converted[key] = to_json_safe(self._data[key])
        return self._converted[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if callable(value):
        return None
    return str(value)
