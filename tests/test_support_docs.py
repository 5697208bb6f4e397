"""The support page is generated from the code's registry and covers every element the parser knows."""

from __future__ import annotations

from pathlib import Path

from taktflow.engine.support import markdown, missing_from_registry, parser_elements

PAGE = Path(__file__).resolve().parent.parent / "docs" / "bpmn-support.md"


def test_every_element_the_parser_handles_has_a_support_entry():
    assert "userTask" in parser_elements()
    assert missing_from_registry() == set()


def test_the_published_page_is_what_the_registry_generates():
    assert PAGE.read_text() == markdown(), "run `taktflow docs support --output docs/bpmn-support.md`"
