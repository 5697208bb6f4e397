"""Hardened reading of uploaded BPMN/DMN XML, before SpiffWorkflow sees any of it.

A model file never needs a DOCTYPE, so any is refused: that closes external entities (XXE) and entity
expansion bombs whatever the lxml version; the parser is also set to resolve nothing and fetch nothing.
"""

from __future__ import annotations

import re

from lxml import etree

from taktflow.engine.errors import ModelProblem

MAX_MODEL_BYTES = 10 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=False,
    )


def parse_model_xml(data: bytes, filename: str) -> tuple[etree._Element | None, list[ModelProblem]]:
    """The document's root element, or the problems that stop it from being read at all."""
    if len(data) > MAX_MODEL_BYTES:
        return None, [ModelProblem(None, "xml-size", f"file is larger than {MAX_MODEL_BYTES} bytes", file=filename)]
    doctype = _DOCTYPE.search(data)
    if doctype:
        line = data[: doctype.start()].count(b"\n") + 1
        return None, [ModelProblem(
            f"line {line}", "xml-no-doctype",
            "DOCTYPE and ENTITY declarations are not allowed in models (external entities, entity expansion)",
            file=filename,
        )]
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        return None, [ModelProblem(f"line {exc.lineno}", "xml-well-formed", str(exc.msg), file=filename)]
    return root, []
