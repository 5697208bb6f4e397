"""Hardened reading of uploaded BPMN/DMN XML, before SpiffWorkflow sees any of it.

A model file never needs a DOCTYPE, so any is refused: that closes external entities (XXE) and entity
expansion bombs whatever the lxml version; the parser is also set to resolve nothing and fetch nothing.
Models are stored and served as UTF-8, so a file in another encoding is refused too. The DOCTYPE check reads
the text in the file's own encoding first: "<!DOCTYPE" in UTF-16 is not those bytes.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from taktflow.engine.errors import ModelProblem

MAX_MODEL_BYTES = 10 * 1024 * 1024
_DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Byte order marks and the first bytes of "<?" without one (XML 1.0 appendix F), longest first.
_SNIFF = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"),
)
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}


def _encoding(data: bytes) -> str:
    """The encoding the XML parser would read the file in: byte order mark, then declaration, else UTF-8."""
    for prefix, name in _SNIFF:
        if data.startswith(prefix):
            return name
    declared = _DECLARED.match(data)
    return declared.group(1).decode().lower() if declared else "utf-8"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=False,
    )


def parse_model_xml(data: bytes, filename: str) -> tuple[etree._Element | None, list[ModelProblem]]:
    """The document's root element, or the problems that stop it from being read at all."""
    if len(data) > MAX_MODEL_BYTES:
        return None, [ModelProblem(None, "xml-size", f"file is larger than {MAX_MODEL_BYTES} bytes", file=filename)]
    encoding = _encoding(data)
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:  # an encoding Python does not know: refused below, nothing to search
        text = data.decode("utf-8", errors="replace")
    doctype = _DOCTYPE.search(text)
    if doctype:
        line = text[: doctype.start()].count("\n") + 1
        return None, [ModelProblem(
            f"line {line}", "xml-no-doctype",
            "DOCTYPE and ENTITY declarations are not allowed in models (external entities, entity expansion)",
            file=filename,
        )]
    if encoding not in _UTF8_NAMES and encoding != "utf-8-sig":
        return None, [ModelProblem(None, "xml-encoding", f"the file is {encoding.upper()}: save models as UTF-8",
                                   file=filename)]
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [ModelProblem(f"line {line}", "xml-encoding",
                                   f"byte {exc.start} is not UTF-8: save models as UTF-8", file=filename)]
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        return None, [ModelProblem(f"line {exc.lineno}", "xml-well-formed", str(exc.msg), file=filename)]
    return root, []
