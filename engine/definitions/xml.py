"""Hardened reading of uploaded BPMN/DMN XML, before SpiffWorkflow sees any of it.

A model file never needs a DOCTYPE, so any is refused: that closes external entities (XXE) and entity
expansion bombs whatever the lxml version; the parser is also set to resolve nothing and fetch nothing.
A file may come in any encoding Python knows (betsy's models are WINDOWS-1252, older tools write UTF-16); it
is read in its own encoding, strictly, and stored and served as UTF-8. Bytes that are not in the declared
encoding, or an encoding nobody knows, are refused naming the line. The DOCTYPE check reads the text in the
file's own encoding first: "<!DOCTYPE" in UTF-16 is not those bytes.
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
_DECLARED_TEXT = re.compile(r"""^(<\?xml[^>]*?\sencoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])""")


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


def _decode(data: bytes, filename: str) -> tuple[str | None, list[ModelProblem]]:
    """The file's text in its own encoding, or why it cannot be read as text."""
    encoding = _encoding(data)
    try:
        codecs.lookup(encoding)
    except LookupError:
        return None, [ModelProblem(None, "xml-encoding", f"the file declares encoding {encoding.upper()}, "
                                   "which is not a known character encoding: save models as UTF-8", file=filename)]
    doctype = _DOCTYPE.search(data.decode(encoding, errors="replace"))
    if doctype:  # named before any decoding error: a hostile file is refused for what it tries to do
        text = data.decode(encoding, errors="replace")
        line = text[: doctype.start()].count("\n") + 1
        return None, [ModelProblem(
            f"line {line}", "xml-no-doctype",
            "DOCTYPE and ENTITY declarations are not allowed in models (external entities, entity expansion)",
            file=filename,
        )]
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [ModelProblem(f"line {line}", "xml-encoding",
                                   f"byte {exc.start} is not {encoding.upper()}: save models as UTF-8", file=filename)]


def _as_utf8(text: str) -> str:
    """The same document declared as UTF-8 (what is stored and served), without a byte order mark."""
    text = text.removeprefix("\ufeff")
    return _DECLARED_TEXT.sub(lambda m: m.group(1) + "UTF-8" + m.group(3), text, count=1)


def model_text(data: bytes) -> str:
    """The text a deployment stores for a file `parse_model_xml` accepted: UTF-8, declared as such."""
    text, problems = _decode(data, "")
    if text is None:
        raise ValueError(problems[0].message)
    return _as_utf8(text)


def parse_model_xml(data: bytes, filename: str) -> tuple[etree._Element | None, list[ModelProblem]]:
    """The document's root element, or the problems that stop it from being read at all."""
    if len(data) > MAX_MODEL_BYTES:
        return None, [ModelProblem(None, "xml-size", f"file is larger than {MAX_MODEL_BYTES} bytes", file=filename)]
    text, problems = _decode(data, filename)
    if text is None:
        return None, problems
    try:
        root = etree.fromstring(_as_utf8(text).encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        return None, [ModelProblem(f"line {exc.lineno}", "xml-well-formed", str(exc.msg), file=filename)]
    return root, []
