"""The inbox reads the task table: visibility by group, filters, search, paging, polling; task forms."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from sqlalchemy import select

from taktflow.engine import instances, tasks
from taktflow.engine.store.models import UserTask
from taktflow.handlers.erp.errors import ErpError
from taktflow.web.auth.service import create_user
from tests.support import deploy_models


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="task-([^"]+)"', html)


def _start(engine, n: int, prefix: str = "SO", **variables) -> list[str]:
    return [instances.start(engine, "user_task_flow", business_key=f"{prefix}-{i}", variables=variables).instance.id
            for i in range(n)]


def test_a_worker_sees_only_tasks_of_their_groups_or_assigned_to_them(pages, engine):
    deploy_models(engine, "user_task_flow.bpmn")  # review: lane "sales"; confirm: warehouse, shipping
    _start(engine, 2)
    sally, walter, ada = pages.login("sally"), pages.login("walter"), pages.login("ada")
    assert len(_rows(sally.get("/inbox").text)) == 2
    assert _rows(walter.get("/inbox").text) == []
    assert len(_rows(ada.get("/inbox?scope=everyone").text)) == 2
    assert _rows(walter.get("/inbox?scope=everyone").text) == []  # not an admin: scope falls back

    task_id = _rows(sally.get("/inbox").text)[0]
    assert walter.get(f"/tasks/{task_id}").status_code == 403
    r = walter.post(f"/tasks/{task_id}/complete", data={"csrf_token": walter.csrf, "amount": "3"})
    assert r.status_code == 403
    assert walter.post(f"/tasks/{task_id}/claim", data={"csrf_token": walter.csrf}).status_code == 403


def test_claim_unclaim_and_a_task_claimed_by_someone_else(pages, engine):
    deploy_models(engine, "user_task_flow.bpmn")
    _start(engine, 1)
    engine.command(lambda s: create_user(s, "sina", "correct-horse-42", ["sales"], "worker", engine.clock.now()))
    sally, sina = pages.login("sally"), pages.login("sina")
    task_id = _rows(sally.get("/inbox").text)[0]
    r = sally.post(f"/tasks/{task_id}/claim", data={"csrf_token": sally.csrf, "scope": "mine"},
                   headers={"HX-Request": "true", "HX-Target": "inbox-results"})
    assert r.status_code == 200 and "Claimed: Review order" in r.text and _rows(r.text) == [task_id]
    assert _rows(sina.get("/inbox?scope=groups").text) == []  # claimed: no longer offered to the group
    page = sina.get(f"/tasks/{task_id}")
    assert "claimed by sally" in page.text and 'action="/tasks/' + task_id + '/complete"' not in page.text
    r = sina.post(f"/tasks/{task_id}/complete", data={"csrf_token": sina.csrf, "amount": "3"})
    assert r.status_code == 409 and "claimed by sally" in r.text
    assert sina.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": sina.csrf}).status_code == 403
    r = sally.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": sally.csrf, "back": "/inbox?scope=groups"})
    assert r.status_code == 303 and r.headers["location"] == "/inbox?scope=groups"
    assert _rows(sina.get("/inbox?scope=groups").text) == [task_id]


def test_filters_search_paging_and_due_dates(pages, engine, clock):
    deploy_models(engine, "user_task_flow.bpmn", "message_flow.bpmn")
    ids = _start(engine, 30, prefix="SO")
    with engine.db.read() as session:  # move two on to the warehouse's "confirm" (priority 80, due in 1 h)
        first_two = session.scalars(select(UserTask.id).where(UserTask.instance_id.in_(ids[:2]))).all()
    for task_id in first_two:
        tasks.complete(engine, task_id, {"amount": 2})
    ada = pages.login("ada")
    first = ada.get("/inbox?scope=everyone")
    assert len(_rows(first.text)) == 25 and "30 tasks" in first.text and "page 1 of 2" in first.text
    assert len(_rows(ada.get("/inbox?scope=everyone&page=2").text)) == 5
    assert len(_rows(ada.get("/inbox?scope=everyone&q=so-1").text)) == 11  # SO-1, SO-10..SO-19
    high = ada.get("/inbox?scope=everyone&priority=high").text
    assert len(_rows(high)) == 2 and "Confirm shipment" in high
    assert len(_rows(ada.get("/inbox?scope=everyone&due=none").text)) == 25  # first page of 28
    assert _rows(ada.get("/inbox?scope=everyone&due=overdue").text) == []
    clock.advance(timedelta(hours=2))
    overdue = ada.get("/inbox?scope=everyone&due=overdue").text
    assert len(_rows(overdue)) == 2 and "overdue" in overdue
    assert _rows(ada.get("/inbox?scope=everyone&process=message_flow").text) == []


def test_polling_swaps_only_when_the_inbox_changed(pages, engine):
    deploy_models(engine, "user_task_flow.bpmn")
    _start(engine, 1)
    sally = pages.login("sally")
    hx = {"HX-Request": "true", "HX-Target": "inbox-results"}
    fragment = sally.get("/inbox", headers=hx)
    assert fragment.text.lstrip().startswith('<section id="inbox-results"') and "<html" not in fragment.text
    fingerprint = re.search(r"fp=([0-9a-f]+)", fragment.text).group(1)
    assert sally.get(f"/inbox?scope=open&fp={fingerprint}", headers=hx).status_code == 204
    _start(engine, 1, prefix="NEW")
    changed = sally.get(f"/inbox?scope=open&fp={fingerprint}", headers=hx)
    assert changed.status_code == 200 and "NEW-0" in changed.text


def test_invalid_form_keeps_input_and_shows_errors_by_field_then_completes(pages, engine):
    deploy_models(engine, "user_task_flow.bpmn")
    [instance_id] = _start(engine, 1)
    sally = pages.login("sally")
    task_id = _rows(sally.get("/inbox").text)[0]
    form = sally.get(f"/tasks/{task_id}").text
    assert 'type="number"' in form and 'min="1"' in form and 'max="100"' in form and 'maxlength="10"' in form
    assert '<option value="a"' in form and 'type="checkbox"' in form
    r = sally.post(f"/tasks/{task_id}/complete", data={
        "csrf_token": sally.csrf, "amount": "0", "note": "far too long a note", "kind": "a", "urgent": "true",
        "injected": "evil"})
    assert r.status_code == 422
    assert 'id="err-amount">Amount must be at least 1<' in r.text
    assert 'id="err-note">Note must be at most 10 characters<' in r.text
    assert 'value="far too long a note"' in r.text and 'value="a" selected' in r.text
    r = sally.post(f"/tasks/{task_id}/complete", data={
        "csrf_token": sally.csrf, "amount": "7", "note": "ok", "kind": "b", "urgent": "false", "injected": "evil"})
    assert r.status_code == 303 and r.headers["location"].startswith("/inbox?done=Review+order")
    with engine.db.read() as session:
        row = instances.get(session, instance_id)
        assert {k: row.variables.get(k) for k in ("amount", "note", "kind", "urgent")} == {
            "amount": 7, "note": "ok", "kind": "b", "urgent": False}
        assert "injected" not in row.variables  # only the model's form fields become variables
    assert sally.get(f"/tasks/{task_id}").status_code == 404


def test_a_step_after_the_task_refusing_the_input_is_shown_on_the_form_and_the_task_stays_open(
    pages, engine, registry
):
    @registry.handler("test.book")
    def book(ctx):
        if ctx.variables["quantity"] > 20:
            raise ErpError(f"only 20 are picked, {ctx.variables['quantity']} cannot be shipped")
        return {"booked": True}

    deploy_models(engine, "prepare_then_book.bpmn")
    instance_id = instances.start(engine, "prepare_then_book", variables={"quantity": 25}).instance.id
    ada = pages.login("ada")
    [task_id] = _rows(ada.get("/inbox?scope=everyone").text)
    r = ada.post(f"/tasks/{task_id}/complete", data={"csrf_token": ada.csrf})
    assert r.status_code == 422 and "only 20 are picked, 25 cannot be shipped" in r.text
    assert _rows(ada.get("/inbox?scope=everyone").text) == [task_id]
    with engine.db.read() as session:
        assert instances.get(session, instance_id).active_elements == ["prepare"]


def test_inbox_renders_fast_with_many_tasks(pages, engine):
    """Measured, not just asserted: the time is printed for the report (pytest -s)."""
    deploy_models(engine, "user_task_flow.bpmn")
    _start(engine, 300)
    sally = pages.login("sally")
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        assert sally.get("/inbox?q=so-2").status_code == 200
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(f"inbox with 300 visible tasks: median {timings[2] * 1000:.1f} ms")
    assert timings[2] < 2.0
