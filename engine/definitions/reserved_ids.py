"""Element ids that SpiffWorkflow uses for its own tasks (`Start`, `End`, `Root`).

A designer may call a start event `Start`; SpiffWorkflow names its internal start task the same and the two
collide. The parser's copy of the XML gets such an element under an internal id (every reference to it
follows), and after parsing the task specs carry the designer's id again as their `bpmn_id`, which is what
instances, history, incidents and user tasks show. The stored model is never changed.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

RESERVED = ("Start", "End", "Root")
INTERNAL = {reserved: f"{reserved}__bpmn_element" for reserved in RESERVED}  # what the parser sees instead
_DESIGNER = {internal: reserved for reserved, internal in INTERNAL.items()}

# Elements whose id is a process key or names a collaboration: not task specs, so no collision, and renaming
# the process would change the key instances are started by.
_KEPT = {"definitions", "process", "collaboration", "participant"}
_NAME_ATTRIBUTES = {"id", "name"}
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def rename_reserved_ids(root: etree._Element) -> None:
    """Give elements with a reserved id their internal id, and every reference to them with it."""
    renamed = {node.get("id"): INTERNAL[node.get("id")] for node in root.iter(f"{BPMN}*")
               if node.get("id") in INTERNAL and _local(node) not in _KEPT}
    if not renamed:
        return
    # Only BPMN elements and their diagram refer to BPMN elements; in extensions (Camunda form fields,
    # variable mappings) the same word is a variable name.
    for node in [*root.iter(f"{BPMN}*"), *root.iter(f"{BPMNDI}*")]:
        if node.get("id") in renamed and node.tag.startswith(BPMN) and _local(node) not in _KEPT:
            node.set("id", renamed[node.get("id")])
        for attribute, value in node.attrib.items():
            if attribute in _NAME_ATTRIBUTES or attribute.startswith("{"):
                continue  # names are text; namespaced (Camunda, Spiff) attributes hold no BPMN references
            changed = _references(value, renamed)
            if changed != value:
                node.set(attribute, changed)
        if _holds_reference(node) and node.text and node.text.strip() in renamed:
            node.text = renamed[node.text.strip()]


def _holds_reference(node: etree._Element) -> bool:
    name = _local(node)
    return name.endswith("Ref") or name in ("incoming", "outgoing", "source", "target")


def _references(value: str, renamed: dict[str, str]) -> str:
    """An attribute value with renamed ids replaced: one id, a QName (`tns:Start`) or a list of them."""
    parts = value.split(" ")
    for i, part in enumerate(parts):
        prefix, _, local = part.rpartition(":")
        if local in renamed:
            parts[i] = f"{prefix}:{renamed[local]}" if prefix else renamed[local]
    return " ".join(parts)


def restore_designer_ids(spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """After parsing: task specs keep their internal name, but show the id the designer gave the element."""
    for workflow_spec in [spec, *(s for s in subprocess_specs.values() if s is not None)]:
        for task_spec in workflow_spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id in _DESIGNER:
                task_spec.bpmn_id = _DESIGNER[bpmn_id]
