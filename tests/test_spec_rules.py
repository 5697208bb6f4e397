"""Specification rules the betsy constraint models do not exercise (EXT027, EXT124, EXT125), and how the
validation profiles weigh them."""

from __future__ import annotations

from taktflow.engine.definitions import validation
from taktflow.engine.definitions.parser import normalize
from taktflow.engine.definitions.xml import parse_model_xml

HEAD = ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="http://example.com/t">')


def _findings(body: str, profile: str) -> list[tuple[str | None, str, str]]:
    root, errors = parse_model_xml(f"{HEAD}{body}</definitions>".encode(), "t.bpmn")
    assert root is not None, errors
    normalize(root)
    return [(p.element, p.rule, p.severity) for p in validation.check(root, "t.bpmn", "bpmn", profile)
            if p.rule.startswith("EXT")]


def _links(throw_targets: str, catch_sources: str) -> str:
    return f"""<process id="p" isExecutable="true">
      <startEvent id="s"><outgoing>f1</outgoing></startEvent>
      <sequenceFlow id="f1" sourceRef="s" targetRef="throw"/>
      <intermediateThrowEvent id="throw" name="L"><incoming>f1</incoming>
        <linkEventDefinition id="lt" name="L">{throw_targets}</linkEventDefinition></intermediateThrowEvent>
      <intermediateCatchEvent id="catch" name="L"><outgoing>f2</outgoing>
        <linkEventDefinition id="lc" name="L">{catch_sources}</linkEventDefinition></intermediateCatchEvent>
      <sequenceFlow id="f2" sourceRef="catch" targetRef="e"/>
      <endEvent id="e"><incoming>f2</incoming></endEvent>
    </process>"""


def test_linked_link_events_break_no_rule():
    assert _findings(_links("<target>lc</target>", "<source>lt</source>"), "strict") == []


def test_link_events_paired_by_name_only_are_warnings_under_standard_errors_under_strict():
    body = _links("", "")
    assert sorted(_findings(body, "strict")) == [("catch", "EXT124", "error"), ("throw", "EXT125", "error")]
    assert sorted(_findings(body, "standard")) == [("catch", "EXT124", "warning"),
                                                   ("throw", "EXT125", "warning")]


def test_a_throwing_link_with_two_targets_breaks_ext125():
    body = _links("<target>lc</target><target>lc</target>", "<source>lt</source>")
    assert ("throw", "EXT125", "error") in _findings(body, "strict")


def test_a_global_conversation_referencing_a_choreography_breaks_ext027():
    body = ('<choreography id="c"/><globalConversation id="g"><choreographyRef>c</choreographyRef>'
            '</globalConversation>' + _links("<target>lc</target>", "<source>lt</source>"))
    assert ("g", "EXT027", "error") in _findings(body, "standard")
