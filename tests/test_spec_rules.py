"""Specification rules the betsy constraint models do not exercise (EXT027, EXT068, EXT124, EXT125), and how
the validation profiles weigh them."""

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


def _multi_instance(io: str, collection: str) -> str:
    return f"""<process id="p" isExecutable="true">
      <startEvent id="s"><outgoing>f1</outgoing></startEvent>
      <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
      <task id="t"><incoming>f1</incoming><outgoing>f2</outgoing>{io}
        <multiInstanceLoopCharacteristics><loopDataInputRef>{collection}</loopDataInputRef>
        </multiInstanceLoopCharacteristics></task>
      <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
      <endEvent id="e"><incoming>f2</incoming></endEvent>
    </process>"""


_TASK_INPUT = ('<ioSpecification><dataInput id="items"/><inputSet><dataInputRefs>items</dataInputRefs></inputSet>'
               '<outputSet/></ioSpecification>')


def test_a_loop_data_input_of_the_task_breaks_no_rule():
    assert _findings(_multi_instance(_TASK_INPUT, "items"), "strict") == []


def test_a_loop_data_input_naming_no_data_input_of_the_task_breaks_ext068_a_warning_under_standard():
    for io, collection in (("", "items"), (_TASK_INPUT, "s")):  # a variable name; an element of another kind
        body = _multi_instance(io, collection)
        assert ("t", "EXT068", "error") in _findings(body, "strict"), collection
        assert ("t", "EXT068", "warning") in _findings(body, "standard"), collection
        assert ("t", "EXT068", "error") not in _findings(body, "standard")


def test_a_sequence_flow_to_a_non_standard_artifact_is_refused_by_the_reference_rules():
    """EXT005 has no rule of its own (docs/bpmn-support.md): the reference rules enforce it."""
    body = _links("<target>lc</target>", "<source>lt</source>").replace(
        '<sequenceFlow id="f2" sourceRef="catch" targetRef="e"/>',
        '<sequenceFlow id="f2" sourceRef="catch" targetRef="e"/><sequenceFlow id="f3" sourceRef="s" targetRef="x"/>'
        '<extensionElements><x:artifact xmlns:x="http://example.com/x" id="x"/></extensionElements>')
    root, errors = parse_model_xml(f"{HEAD}{body}</definitions>".encode(), "t.bpmn")
    assert root is not None, errors
    found = [(p.element, p.rule) for p in validation.check(root, "t.bpmn", "bpmn", "standard")]
    assert ("f3", "REF-EXISTENCE") in found
