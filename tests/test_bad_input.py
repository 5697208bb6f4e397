"""Inputs the fuzz test (test_fuzz_api.py) and issue 14 named: each is a clear 4xx or an incident, never a 500.

Run on SQLite and PostgreSQL: the overflows differ (SQLite binds at most 64-bit integers, PostgreSQL's INTEGER
is 32 bits and its text refuses NUL), the answers must not.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.engine.store.models import DeploymentResource, row_id
from taktflow.handlers.devices.demo import seed_devices
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.mes.demo import seed_plant
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token
from tests.support import MODELS

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(engine, database_url, tmp_path):
    engine.command(lambda s: seed_master_data(s, engine.clock.now()))
    engine.command(seed_plant)
    engine.command(seed_devices)
    token = engine.command(lambda s: create_token(s, "bad-input", "admin", engine.clock.now()))
    runtime = Runtime(Settings(database_url=database_url, processes_dir=tmp_path), engine.db, engine)
    # A server error must show as a 500 here, not as an exception the client re-raises.
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def deploy(api, name: str, content: bytes):
    return api.post("/api/v1/deployments", files=[("files", (name, content, "application/xml"))])


def start(api, key: str, variables: dict | None = None):
    response = api.post(f"/api/v1/process-definitions/{key}/start", json={"variables": variables or {}})
    assert response.status_code == 201, response.text
    return response.json()


def incident_message(api, instance: dict) -> str:
    assert instance["state"] == "incident", instance
    [incident] = api.get("/api/v1/incidents", params={"processInstanceId": instance["id"]}).json()
    assert api.get(f"/api/v1/process-instances/{instance['id']}").status_code == 200  # the state saved
    return incident["message"]


def script_model(key: str, script: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="{key}" name="Script" isExecutable="true">
    <bpmn:startEvent id="start" name="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="run" name="Run" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" name="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="run"/>
    <bpmn:sequenceFlow id="f2" sourceRef="run" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_integers_no_column_holds_are_422_in_ids_limits_and_bodies(api):
    for url in (f"/api/v1/partners/{2**70}", f"/api/v1/sales-orders/{2**64}", f"/api/v1/lots/{2**31}/genealogy",
                f"/api/v1/stock/moves?itemId={2**64}", f"/api/v1/tasks?offset={2**70}",
                f"/api/v1/process-instances?limit={10**30}"):
        response = api.get(url)
        assert response.status_code == 422, (url, response.text)
    assert api.get(f"/api/v1/partners/{2**31 - 1}").status_code == 404  # the largest id is merely unknown
    assert api.post(f"/api/v1/incidents/{2**64}/retry").status_code == 422
    response = api.post("/api/v1/partners", json={"code": "P-BIG", "name": "Big", "isCustomer": True,
                                                  "paymentTermsDays": 2**40})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "paymentTermsDays"]
    fetch = {"workerId": "w", "topics": [{"name": "t", "lockDuration": 10**12}]}
    assert api.post("/api/v1/external-tasks/fetch-and-lock", json=fetch).status_code == 422
    response = api.post("/api/v1/devices/ASSY-01/signals", json={"kind": "processed", "value": 10**30})
    assert response.status_code == 422 and "64-bit" in response.json()["detail"], response.text


def test_variables_must_be_numbers_a_client_and_a_column_can_hold(api):
    assert deploy(api, "user_task_flow.bpmn", (MODELS / "user_task_flow.bpmn").read_bytes()).status_code == 201
    url = "/api/v1/process-definitions/user_task_flow/start"
    response = api.post(url, json={"variables": {"order": {"lines": [1, -(2**70)]}}})
    assert response.status_code == 422
    assert "order.lines[1]: integer does not fit in 64 bits" in response.json()["detail"][0]["msg"]
    for raw in (b'{"variables": {"x": 1e400}}', b'{"variables": {"x": NaN}}', b'{"variables": {"x": -Infinity}}'):
        response = api.post(url, content=raw, headers=JSON)
        assert response.status_code == 422 and "x: " in response.text and "not a finite number" in response.text
    instance = start(api, "user_task_flow", {"x": 2**63 - 1})
    assert api.get(f"/api/v1/process-instances/{instance['id']}").json()["variables"]["x"] == 2**63 - 1


def test_huge_decimals_are_refused_with_a_message(api):
    response = api.post("/api/v1/items", headers=JSON, content=b'{"code": "X-1", "name": "x", "kind": "goods", '
                        b'"procurement": "buy", "standardCost": 1e400}')
    assert response.status_code == 422 and response.json()["detail"][0]["input"] == "inf"
    for line in ({"itemCode": "FG-FRAME", "quantity": 10**30}, {"itemCode": "FG-FRAME", "quantity": "1e400"},
                 {"itemCode": "FG-FRAME", "quantity": 1, "unitPrice": 10**15}):
        response = api.post("/api/v1/sales-orders", json={"customerCode": "C-ACME", "lines": [line]})
        assert response.status_code == 422, response.text
        assert "is too large: at most 14 digits before the decimal point" in response.json()["detail"]
    assert api.get("/api/v1/sales-orders").json() == []  # nothing half-booked


def test_unicode_digits_are_not_ids(api):
    assert row_id("123") == 123
    assert [row_id(t) for t in ("١٢٣", "²", "12345678901", "0", "", "-1")] == [None] * 6
    for ref in ("١٢٣", "²", "9" * 5000):
        response = api.get(f"/api/v1/work-orders/{ref}")
        assert response.status_code == 404, response.text
    assert api.get("/api/v1/partners/١٢٣").status_code == 422
    assert api.get("/api/v1/process-instances/١٢٣").status_code == 404


def test_dates_out_of_range_are_422(api):
    for value in ("0000-01-01T00:00:00Z", "99999-01-01T00:00:00Z"):
        assert api.post("/api/v1/schedules", json={"start": value}).status_code == 422
        assert api.post("/api/v1/devices/ASSY-01/signals",
                        json={"kind": "processed", "value": 1, "timestamp": value}).status_code == 422
    # A valid date whose plan would run past datetime.max: refused before solving, not an OverflowError after.
    response = api.post("/api/v1/schedules", json={"start": "9999-12-31T23:00:00Z"})
    assert response.status_code == 422 and "within 100 years" in response.json()["detail"]
    holiday = {"code": "CAL-X", "shifts": [{"weekday": 0, "start": "06:00", "end": "14:00"}],
               "holidays": [{"date": "0000-12-31"}]}
    assert api.post("/api/v1/calendars", json=holiday).status_code == 422


def test_models_are_read_in_their_own_encoding_and_stored_as_utf8(api, engine):
    """Betsy's models are WINDOWS-1252 and older tools write UTF-16: they deploy and are kept as UTF-8; bytes
    that are not in the declared encoding, or an encoding nobody knows, are refused naming the problem."""
    model = (MODELS / "user_task_flow.bpmn").read_bytes()
    named = model.replace(b'name="User task flow"', b'name="Caf\xe9"')
    latin1 = named.replace(b'encoding="UTF-8"', b'encoding="WINDOWS-1252"')
    utf16 = model.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').replace(
        b'process id="user_task_flow"', b'process id="utf16_flow"').decode().replace(
        "User task flow", "Stückliste").encode("utf-16")
    for name, content in (("latin1.bpmn", latin1), ("utf16.bpmn", utf16)):
        response = deploy(api, name, content)
        assert response.status_code == 201, (name, response.text)
    names = {d["key"]: d["name"] for d in api.get("/api/v1/process-definitions").json()}
    assert names == {"user_task_flow": "Café", "utf16_flow": "Stückliste"}
    stored = engine.command(lambda s: [r.content for r in s.scalars(select(DeploymentResource))])
    assert all(text.startswith('<?xml version="1.0" encoding="UTF-8"?>') for text in stored), stored
    assert start(api, "user_task_flow")["state"] == "active"

    unknown = model.replace(b'encoding="UTF-8"', b'encoding="X-KLINGON"')
    not_utf8 = f"byte {named.index(0xE9)} is not UTF-8"
    for name, content, message in (("bytes.bpmn", named, not_utf8),
                                   ("unknown.bpmn", unknown, "X-KLINGON, which is not a known")):
        response = deploy(api, name, content)
        assert response.status_code == 422, (name, response.text)
        [error] = response.json()["errors"]
        assert error["rule"] == "xml-encoding" and message in error["message"], error
        assert error["file"] == name


def test_doctype_is_refused_in_utf16_as_in_utf8(api):
    body = (MODELS / "user_task_flow.bpmn").read_text().split("?>", 1)[1]
    xxe = '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' + body.replace('name="User task flow"',
                                                                                    'name="&x;"')
    for encoding in ("utf-8", "utf-16", "utf-16-be", "utf-32"):
        content = f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n{xxe}'.encode(encoding)
        response = deploy(api, "xxe.bpmn", content)
        assert response.status_code == 422, (encoding, response.text)
        [error] = response.json()["errors"]
        assert (error["rule"], error["element"]) == ("xml-no-doctype", "line 2"), encoding


def test_class_statements_are_refused_at_deploy(api):
    response = deploy(api, "cls.bpmn", script_model("cls", "class Order(dict):\n    pass\nx = Order()"))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["element"], error["rule"]) == ("run", "restricted-script")
    assert "defines class Order" in error["message"]


@pytest.mark.parametrize("script, variable, kind", [
    ("lines = (n for n in range(3))", "lines", "generator"),
    ("def numbers():\n    yield 1\nlines = numbers()", "lines", "generator"),
    ("total = 1\npicked = map(str, [1, 2])", "picked", "map"),
    ("rows = [{'n': range(2)}]", "rows", "range"),
])
def test_a_script_leaving_what_data_cannot_store_is_an_incident_naming_the_variable(api, script, variable, kind):
    assert deploy(api, "gen.bpmn", script_model("gen", script)).status_code == 201
    message = incident_message(api, start(api, "gen"))
    assert f"variable {variable!r} holds a {kind}" in message


def test_sets_and_dates_from_scripts_are_still_stored(api):
    assert deploy(api, "ok.bpmn", script_model("ok", "s = {3}\nd = date(2026, 1, 2)")).status_code == 201
    instance = start(api, "ok")
    assert instance["state"] == "completed" and instance["variables"]["s"] == [3]


DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="big" name="Big" namespace="http://t">
  <decision id="doubled" name="Doubled"><variable name="doubled"/>
    <literalExpression id="e1"><text>text + text</text></literalExpression></decision>
  <decision id="power" name="Power"><variable name="power"/>
    <literalExpression id="e2"><text>base ** exponent</text></literalExpression></decision>
</definitions>"""


def decision_flow(key: str, decision: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://t">
  <bpmn:process id="{key}" name="Decide" isExecutable="true">
    <bpmn:startEvent id="start" name="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide" name="Decide" camunda:decisionRef="{decision}"
        camunda:resultVariable="result"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="end" name="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_decision_outputs_too_large_are_an_incident_naming_the_decision(api):
    files = [("files", ("big.dmn", DMN, "application/xml")),
             ("files", ("doubled.bpmn", decision_flow("doubled_flow", "doubled"), "application/xml")),
             ("files", ("power.bpmn", decision_flow("power_flow", "power"), "application/xml"))]
    assert api.post("/api/v1/deployments", files=files).status_code == 201, "deploy"
    assert start(api, "doubled_flow", {"text": "ab"})["variables"]["result"] == "abab"
    message = incident_message(api, start(api, "doubled_flow", {"text": "x" * 40_000}))
    assert "decision 'doubled': result is too large: more than 65536 characters" in message
    message = incident_message(api, start(api, "power_flow", {"base": 10, "exponent": 400}))
    assert "decision 'power': result is too large: a number does not fit in 64 bits" in message
    message = incident_message(api, start(api, "power_flow", {"base": 10, "exponent": 10**9}))
    assert "exponent 1000000000 is too large" in message


def test_text_with_nul_is_refused_at_the_door(api):
    for response in (api.get("/api/v1/process-instances/a%00b"),
                     api.get("/api/v1/tasks", params={"assignee": "a\x00b"}),
                     api.post("/api/v1/messages", json={"name": "pay\x00ment"}),
                     api.post("/api/v1/signals", json={"name": "s", "variables": {"note": "a\x00"}})):
        assert response.status_code == 422, response.text
        assert "must not contain NUL" in response.json()["detail"]
    # An escaped backslash before "u0000" is text, not NUL.
    assert api.post("/api/v1/signals", content=b'{"name": "s\\\\u0000"}', headers=JSON).status_code == 200


def test_a_counter_jump_beyond_32_bits_is_stored(api):
    # A 64-bit PLC counter may jump by more than INTEGER holds between two readings (first reading, reset).
    for value in (1, 4_000_000_000, 2**62):
        response = api.post("/api/v1/devices/ASSY-01/signals", json={"kind": "processed", "value": value})
        assert response.status_code == 200, response.text
