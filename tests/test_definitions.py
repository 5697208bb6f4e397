"""Deploying models: versions, refusals that name the element and the rule, hardened XML."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from taktflow.engine import history, instances
from taktflow.engine.definitions.service import ModelFile
from taktflow.engine.errors import InvalidModel
from taktflow.engine.store.models import ProcessDefinition, ProcessInstance
from tests.support import MODELS, deploy_models


def test_identical_content_is_not_a_new_version_and_changed_content_is(engine):
    first = deploy_models(engine, "user_task_flow.bpmn")
    assert [(d.key, d.version, d.new) for d in first] == [("user_task_flow", 1, True)]
    again = deploy_models(engine, "user_task_flow.bpmn")
    assert [(d.key, d.version, d.new) for d in again] == [("user_task_flow", 1, False)]

    running = instances.start(engine, "user_task_flow").instance
    changed = (MODELS / "user_task_flow.bpmn").read_bytes().replace(b'name="Review order"', b'name="Review the order"')
    second = deploy_models(engine, ModelFile("user_task_flow.bpmn", changed))
    assert [(d.key, d.version, d.new) for d in second] == [("user_task_flow", 2, True)]

    newer = instances.start(engine, "user_task_flow").instance
    with engine.db.read() as session:
        versions = {
            row.id: session.get(ProcessDefinition, row.definition_id).version
            for row in session.scalars(select(ProcessInstance))
        }
    assert versions == {running.id: 1, newer.id: 2}


def _refusal(engine, name: str, content: bytes) -> list[tuple[str | None, str]]:
    with pytest.raises(InvalidModel) as caught:
        deploy_models(engine, ModelFile(name, content))
    return [(p.element, p.rule) for p in caught.value.problems]


def test_broken_xml_is_refused_with_the_line(engine):
    problems = _refusal(engine, "broken.bpmn", b"<bpmn:definitions xmlns:bpmn='x'>\n<unclosed>\n</bpmn:definitions>")
    assert problems[0][1] == "xml-well-formed"
    assert problems[0][0].startswith("line ")


def test_external_entity_is_refused_and_never_read(engine, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="p" name="&xxe;" isExecutable="true"/>
</bpmn:definitions>""".encode()
    assert _refusal(engine, "xxe.bpmn", xxe) == [("line 2", "xml-no-doctype")]
    with engine.db.read() as session:
        assert session.scalar(select(ProcessDefinition)) is None


def test_entity_expansion_bomb_is_refused(engine):
    entities = "".join(f'<!ENTITY lol{i} "{"&lol" + str(i - 1) + ";" * 10 if i else "lol"}">' for i in range(10))
    bomb = f"""<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
<bpmn:process id="p" name="&lol9;" isExecutable="true"/></bpmn:definitions>""".encode()
    assert [rule for _, rule in _refusal(engine, "bomb.bpmn", bomb)] == ["xml-no-doctype"]


def test_service_task_without_a_handler_name_is_refused_naming_the_element(engine):
    content = (MODELS / "straight_service.bpmn").read_bytes().replace(
        b' camunda:type="external" camunda:topic="test.book"', b""
    )
    assert ("book", "bpmn-parse") in _refusal(engine, "no_handler.bpmn", content)


def test_ids_spiffworkflow_uses_itself_deploy_run_and_show_as_drawn(engine):
    content = (MODELS / "straight_service.bpmn").read_bytes().replace(b'"StartEvent_1"', b'"Start"').replace(
        b'"EndEvent_1"', b'"End"')
    deploy_models(engine, ModelFile("reserved.bpmn", content))
    instance = instances.start(engine, "straight_service").instance
    assert instance.active_elements == ["book"]
    with engine.db.read() as session:
        completed = [e.element_id for e in history.of_instance(session, instance.id) if e.kind == "element_completed"]
    assert completed == ["Start"]
    # The name the engine gives such an element internally is the one id a model cannot use.
    internal = content.replace(b'"book"', b'"Start__bpmn_element"')
    assert ("Start__bpmn_element", "reserved-id") in _refusal(engine, "internal.bpmn", internal)


def test_schema_violation_names_the_element(engine):
    content = (MODELS / "straight_service.bpmn").read_bytes().replace(
        b'<bpmn:endEvent id="EndEvent_1">', b'<bpmn:endEvent id="EndEvent_1" bogus="1">'
    )
    problems = _refusal(engine, "xsd.bpmn", content)
    assert ("EndEvent_1", "bpmn-xsd") in problems


def test_a_model_with_no_executable_process_is_refused(engine):
    content = (MODELS / "straight_service.bpmn").read_bytes().replace(b'isExecutable="true"', b'isExecutable="false"')
    assert ("straight_service", "executable-process-required") in _refusal(engine, "draft.bpmn", content)


def test_a_refused_deployment_stores_nothing_of_its_other_files(engine):
    bad = (MODELS / "straight_service.bpmn").read_bytes().replace(
        b'<bpmn:endEvent id="EndEvent_1">', b'<bpmn:endEvent id="EndEvent_1" bogus="1">')
    with pytest.raises(InvalidModel):
        deploy_models(engine, "user_task_flow.bpmn", ModelFile("bad.bpmn", bad))
    with engine.db.read() as session:
        assert session.scalar(select(ProcessDefinition)) is None


def test_call_activity_resolves_a_process_deployed_earlier(engine):
    deploy_models(engine, "called_child.bpmn")
    [caller] = deploy_models(engine, "caller.bpmn")
    row = instances.start(engine, "caller", variables={"x": 21}).instance
    assert row.active_elements == ["check"] and row.variables["childResult"] == 42
    # Redeploying the caller unchanged is no new version; after the child changed, it is.
    assert deploy_models(engine, "caller.bpmn")[0].new is False
    child = (MODELS / "called_child.bpmn").read_bytes().replace(b"x * 2", b"x * 3")
    deploy_models(engine, ModelFile("called_child.bpmn", child))
    [again] = deploy_models(engine, "caller.bpmn")
    assert (again.new, again.version) == (True, caller.version + 1)
    assert instances.start(engine, "caller", variables={"x": 1}).instance.variables["childResult"] == 3


def test_call_activity_to_an_unknown_process_is_refused(engine):
    problems = _refusal(engine, "caller.bpmn", (MODELS / "caller.bpmn").read_bytes())
    assert problems == [("call_child", "called-element-exists")]
