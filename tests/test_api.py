"""The REST API: auth, status codes and bodies a client system relies on."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.handlers.erp.errors import ErpError
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token
from tests.support import MODELS
from tests.support.server import cli_env, run_cli


@pytest.fixture
def api(engine, database_url, tmp_path):
    runtime = Runtime(Settings(database_url=database_url, processes_dir=tmp_path), engine.db, engine)
    # The worker works the sales and clerks groups' tasks; the outsider is a worker of another department.
    groups = {"worker": ["sales", "clerks"], "outsider": ["purchasing"]}
    tokens = {
        role: engine.command(lambda s, role=role: create_token(
            s, f"{role}-client", "worker" if role == "outsider" else role, engine.clock.now(),
            groups=groups.get(role, ())))
        for role in ("admin", "designer", "operator", "worker", "outsider")
    }
    with TestClient(create_app(runtime)) as client:
        client.tokens = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
        yield client


def _deploy(api, *names, role="admin"):
    files = [("files", (n, (MODELS / n).read_bytes(), "application/xml")) for n in names]
    return api.post("/api/v1/deployments", files=files, headers=api.tokens[role])


def test_requests_without_a_valid_token_are_refused(api):
    assert api.get("/api/v1/process-definitions").status_code == 401
    r = api.get("/api/v1/process-definitions", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["detail"] == "the token is unknown or revoked"


def test_roles_decide_who_may_deploy_and_operate(api):
    r = _deploy(api, "user_task_flow.bpmn", role="worker")
    assert r.status_code == 403 and "may not deploy" in r.json()["detail"]
    assert _deploy(api, "user_task_flow.bpmn", role="designer").status_code == 201
    started = api.post("/api/v1/process-definitions/user_task_flow/start", headers=api.tokens["worker"]).json()
    r = api.post(f"/api/v1/process-instances/{started['id']}/cancel", headers=api.tokens["worker"])
    assert r.status_code == 403
    r = api.post(f"/api/v1/process-instances/{started['id']}/cancel", json={"reason": "test"},
                 headers=api.tokens["operator"])
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


def test_deploy_returns_keys_and_versions_and_422_names_element_and_rule(api):
    r = _deploy(api, "user_task_flow.bpmn", "message_flow.bpmn")
    assert r.status_code == 201
    assert sorted((d["key"], d["version"]) for d in r.json()["definitions"]) == [
        ("message_flow", 1), ("user_task_flow", 1)]
    r = _deploy(api, "user_task_flow.bpmn")
    assert r.status_code == 200 and r.json()["definitions"][0]["new"] is False
    r = _deploy(api, "evil_import.bpmn")
    assert r.status_code == 422
    assert {"element": "attack", "rule": "restricted-script"}.items() <= r.json()["errors"][0].items()
    listed = api.get("/api/v1/process-definitions", headers=api.tokens["worker"]).json()
    assert [(d["key"], d["version"]) for d in listed] == [("message_flow", 1), ("user_task_flow", 1)]


def test_start_query_complete_and_history(api):
    _deploy(api, "user_task_flow.bpmn")
    h = api.tokens["worker"]
    r = api.post("/api/v1/process-definitions/user_task_flow/start",
                 json={"businessKey": "SO-1", "variables": {"customer": "ACME"}}, headers={**h, "Idempotency-Key": "k"})
    assert r.status_code == 201
    instance = r.json()
    again = api.post("/api/v1/process-definitions/user_task_flow/start",
                     json={"businessKey": "SO-1", "variables": {"customer": "ACME"}},
                     headers={**h, "Idempotency-Key": "k"})
    assert again.status_code == 200 and again.json()["id"] == instance["id"]
    reused = api.post("/api/v1/process-definitions/user_task_flow/start",
                      json={"businessKey": "SO-1", "variables": {"customer": "Globex"}},
                      headers={**h, "Idempotency-Key": "k"})
    assert reused.status_code == 422 and "used with a different request body" in reused.json()["detail"]
    assert instance["state"] == "active" and instance["activeElementIds"] == ["review"]

    found = api.get("/api/v1/process-instances", params={"businessKey": "SO-1", "state": "active"}, headers=h).json()
    assert [i["id"] for i in found] == [instance["id"]]
    bad_state = api.get("/api/v1/process-instances", params={"state": "sleeping"}, headers=h)
    assert bad_state.status_code == 400

    [task] = api.get("/api/v1/tasks", params={"candidateGroup": "sales"}, headers=h).json()
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"amount": 0}}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "amount", "message": "must be at least 1"}]
    assert api.post(f"/api/v1/tasks/{task['id']}/claim", headers=h).json()["assignee"] == "worker-client"
    r = api.post(f"/api/v1/tasks/{task['id']}/claim", json={"userId": "carol"}, headers=api.tokens["admin"])
    assert r.status_code == 409 and r.json()["detail"].endswith("is claimed by worker-client")
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"amount": 3}}, headers=h)
    assert r.status_code == 200 and r.json()["activeElementIds"] == ["confirm"]
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"amount": 3}}, headers=h)
    assert r.status_code == 409 and "completed already" in r.json()["detail"]

    events = api.get(f"/api/v1/process-instances/{instance['id']}/history", headers=h).json()
    assert events[0]["kind"] == "instance_started"
    assert any(e["kind"] == "element_completed" and e["elementId"] == "review" and e["data"] == {"amount": 3}
               for e in events)
    assert api.get("/api/v1/process-instances/does-not-exist", headers=h).status_code == 404


def test_a_required_yes_no_and_the_reason_for_a_no_are_422_by_name(api):
    _deploy(api, "yes_no_decision.bpmn")
    h = api.tokens["worker"]
    instance = api.post("/api/v1/process-definitions/yes_no_decision/start", headers=h).json()
    [task] = api.get("/api/v1/tasks", params={"processInstanceId": instance["id"]}, headers=h).json()
    # The form says which field a No needs: the model's own qualityOkReason, the engine's creditApprovedReason.
    fields = {f["id"]: f for f in api.get(f"/api/v1/tasks/{task['id']}", headers=h).json()["form"]["fields"]}
    assert (fields["creditApproved"]["reasonField"], fields["qualityOk"]["reasonField"]) == (
        "creditApprovedReason", "qualityOkReason")
    assert fields["creditApprovedReason"] == {"id": "creditApprovedReason", "label": "Reason", "type": "string",
                                              "requiredWhen": {"creditApproved": False}}
    assert "requiredWhen" not in fields["qualityOkReason"] and "reasonField" not in fields["expedite"]
    complete = f"/api/v1/tasks/{task['id']}/complete"
    r = api.post(complete, json={"variables": {"qualityOk": True}}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "creditApproved", "message": "is required: choose yes or no"}]
    r = api.post(complete, json={"variables": {"creditApproved": False, "qualityOk": True}}, headers=h)
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "creditApprovedReason", "message": "is required for a No: give a reason for the rejection"}]
    after = api.get(f"/api/v1/process-instances/{instance['id']}", headers=h).json()
    assert after["activeElementIds"] == ["decide"] and "creditApproved" not in after["variables"]
    r = api.post(complete, json={"variables": {"creditApproved": False, "creditApprovedReason": "overdue invoices",
                                               "qualityOk": True}}, headers=h)
    assert r.status_code == 200 and r.json()["state"] == "completed"
    assert r.json()["variables"]["creditApprovedReason"] == "overdue invoices"


def test_input_a_handler_refuses_answers_422_and_the_task_stays_open(api, registry):
    @registry.handler("test.book")
    def book(ctx):
        if ctx.variables.get("amount", 0) > 10:
            raise ErpError(f"amount {ctx.variables['amount']} exceeds the open quantity 10")
        return {"booked": ctx.variables["amount"]}

    _deploy(api, "prepare_then_book.bpmn")
    h = api.tokens["worker"]
    instance = api.post("/api/v1/process-definitions/prepare_then_book/start", headers=h).json()
    [task] = api.get("/api/v1/tasks", params={"processInstanceId": instance["id"]}, headers=h).json()
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"amount": 11}}, headers=h)
    assert r.status_code == 422 and r.json()["detail"] == "amount 11 exceeds the open quantity 10"
    assert [t["id"] for t in api.get("/api/v1/tasks", params={"processInstanceId": instance["id"]},
                                      headers=h).json()] == [task["id"]]
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"amount": 7}}, headers=h)
    assert r.status_code == 200 and r.json()["state"] == "completed"


def test_messages_signals_external_tasks_and_incidents(api):
    _deploy(api, "message_flow.bpmn", "straight_service.bpmn", "script_flow.bpmn")
    h = api.tokens["worker"]
    inst = api.post("/api/v1/process-definitions/message_flow/start",
                    json={"businessKey": "SO-2", "variables": {"orderId": "SO-2"}}, headers=h).json()
    r = api.post("/api/v1/messages", json={"name": "payment_received", "correlationKeys": {"orderId": "SO-9"}},
                 headers=h)
    assert r.status_code == 404
    r = api.post("/api/v1/messages", json={"name": "payment_received", "businessKey": "SO-2",
                                           "variables": {"paid": True}}, headers=h)
    assert r.status_code == 200 and r.json()["reached"][0]["processInstanceId"] == inst["id"]
    r = api.post("/api/v1/signals", json={"name": "line_stop"}, headers=h)
    assert [x["processInstanceId"] for x in r.json()["reached"]] == [inst["id"]]

    ext = api.post("/api/v1/process-definitions/straight_service/start", headers=h).json()
    fetch = {"workerId": "w1", "maxTasks": 2, "topics": [{"name": "test.book", "lockDuration": 10000}]}
    [locked] = api.post("/api/v1/external-tasks/fetch-and-lock", json=fetch, headers=h).json()
    assert locked["processInstanceId"] == ext["id"]
    r = api.post(f"/api/v1/external-tasks/{locked['id']}/complete", json={"workerId": "other"}, headers=h)
    assert r.status_code == 409
    r = api.post(f"/api/v1/external-tasks/{locked['id']}/complete", json={"workerId": "w1", "variables": {"x": 1}},
                 headers=h)
    assert r.status_code == 200 and r.json()["state"] == "completed"
    r = api.post("/api/v1/external-tasks/fetch-and-lock", json={**fetch, "topics": [{"name": "t", "lockDuration": 0}]},
                 headers=h)
    assert r.status_code == 422

    failing = api.post("/api/v1/process-definitions/script_flow/start", json={"variables": {"price": 1}},
                       headers=h).json()
    assert failing["state"] == "incident"
    [incident] = api.get("/api/v1/incidents", params={"processInstanceId": failing["id"]}, headers=h).json()
    assert incident["elementId"] == "compute" and "qty" in incident["message"]
    assert api.post(f"/api/v1/incidents/{incident['id']}/retry", headers=h).status_code == 403
    r = api.post(f"/api/v1/incidents/{incident['id']}/retry", headers=api.tokens["operator"])
    assert r.status_code == 200 and r.json()["resolved"] is not None


def test_openapi_documents_the_api(api):
    spec = api.get("/openapi.json").json()
    assert "/api/v1/process-definitions/{key}/start" in spec["paths"]
    assert api.get("/docs").status_code == 200


def test_api_docs_load_only_local_assets(api):
    """/docs must work in a plant without internet: every script, stylesheet and icon comes from /static."""
    page = api.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), f"/docs loads {asset} from outside the server"
        assert api.get(asset).status_code == 200, asset
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert api.get("/redoc").status_code == 404  # ReDoc would need a CDN


def test_a_worker_token_sees_and_works_only_its_groups_tasks(api):
    _deploy(api, "user_task_flow.bpmn")
    h, outsider, admin = api.tokens["worker"], api.tokens["outsider"], api.tokens["admin"]
    instance = api.post("/api/v1/process-definitions/user_task_flow/start", json={"variables": {"secret": 42}},
                        headers=h).json()
    [task] = api.get("/api/v1/tasks", headers=h).json()
    assert task["candidateGroups"] == ["sales"]
    # Not offered to the purchasing department: not listed, not readable, not claimable, not completable.
    assert api.get("/api/v1/tasks", headers=outsider).json() == []
    assert api.get("/api/v1/tasks", params={"candidateGroup": "sales"}, headers=outsider).json() == []
    for method, path, body in (("get", "", None), ("post", "/claim", None), ("post", "/unclaim", None),
                               ("post", "/complete", {"variables": {"amount": 3}})):
        r = api.request(method.upper(), f"/api/v1/tasks/{task['id']}{path}", json=body, headers=outsider)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["detail"] == f"task {task['id']} is not offered to outsider-client or its groups"
    # Its instance, variables and history are not the outsider's either; an operator reads them.
    assert api.get("/api/v1/process-instances", headers=outsider).json() == []
    assert api.get(f"/api/v1/process-instances/{instance['id']}", headers=outsider).status_code == 403
    assert api.get(f"/api/v1/process-instances/{instance['id']}/history", headers=outsider).status_code == 403
    assert api.get(f"/api/v1/process-instances/{instance['id']}", headers=h).json()["variables"]["secret"] == 42
    operator = api.tokens["operator"]
    assert [i["id"] for i in api.get("/api/v1/process-instances", headers=operator).json()] == [instance["id"]]
    # Claiming in another person's name is an admin's reassignment.
    r = api.post(f"/api/v1/tasks/{task['id']}/claim", json={"userId": "alice"}, headers=h)
    assert r.status_code == 403 and "only an admin may claim a task in another's name" in r.json()["detail"]
    assert api.post(f"/api/v1/tasks/{task['id']}/claim", json={"userId": "alice"}, headers=admin).status_code == 200
    # Claimed by alice: the group's worker sees it is taken, and cannot complete or hand it back.
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"amount": 3}}, headers=h)
    assert r.status_code == 409 and r.json()["detail"].endswith("is claimed by alice")
    assert api.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=h).status_code == 403
    assert api.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=admin).json()["assignee"] is None
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"amount": 3}}, headers=h)
    assert r.status_code == 200 and r.json()["activeElementIds"] == ["confirm"]


def test_the_cli_creates_a_token_for_a_group(api, engine, database_url):
    created = run_cli(["token", "create", "pick-robot", "--role", "worker", "--group", "sales", "clerks"],
                      cli_env(database_url))
    assert created.returncode == 0, created.stderr
    assert "role worker, groups clerks, sales" in created.stdout
    robot = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    _deploy(api, "user_task_flow.bpmn")
    api.post("/api/v1/process-definitions/user_task_flow/start", headers=api.tokens["admin"])
    assert [t["elementId"] for t in api.get("/api/v1/tasks", headers=robot).json()] == ["review"]
    refused = run_cli(["token", "create", "x", "--role", "cashier"], cli_env(database_url))
    assert refused.returncode == 2 and "unknown role 'cashier'" in refused.stderr
