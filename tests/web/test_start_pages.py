"""Starting work from the pages: each person lands on the page of their role, starts a process from the inbox
with its start form (Camunda Tasklist's "Start process"), and places sales orders, requisitions and work
orders through forms that book the document and start its process, or say why not and book nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import taktflow.handlers.erp  # noqa: F401 - registers the ERP handlers
import taktflow.handlers.mes  # noqa: F401 - registers the MES handlers
from taktflow.engine.definitions.service import ModelFile, deploy
from taktflow.engine.handlers import registry as global_registry
from taktflow.engine.store.models import ProcessInstance, UserTask
from taktflow.handlers.erp.purchasing.models import Requisition
from taktflow.handlers.erp.sales.models import SalesOrder
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.mes.demo import seed_plant
from taktflow.handlers.mes.work_order.models import WorkOrder
from taktflow.web.auth.service import create_user
from tests.web.conftest import PASSWORD, csrf_of

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
MORE_PEOPLE = {"mia": ("worker", ["maintenance"]), "pat": ("worker", ["planner"]),
               "otto": ("worker", ["operator_WC-CUT", "production"]), "nobody": ("worker", [])}


@pytest.fixture
def registry():
    return global_registry  # the real ERP and MES handlers run the started processes' service tasks


@pytest.fixture
def plant(pages, engine):
    def seed(session):
        seed_master_data(session, engine.clock.now())
        seed_plant(session)
        for name, (role, groups) in MORE_PEOPLE.items():
            create_user(session, name, PASSWORD, groups, role, engine.clock.now())

    engine.command(seed)
    files = [ModelFile(p.name, p.read_bytes()) for p in sorted(PROCESSES.iterdir())
             if p.suffix in (".bpmn", ".dmn")]
    engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer))
    return pages


def _count(engine, model) -> int:
    with engine.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_each_person_lands_on_the_page_of_their_role(plant):
    expected = {"sally": "/erp/sales", "walter": "/erp/deliveries", "olga": "/cockpit", "dora": "/designer",
                "ada": "/cockpit", "fiona": "/erp/payments", "pat": "/erp/mrp", "otto": "/mes/work-centers/WC-CUT",
                "mia": "/inbox", "nobody": "/inbox"}
    for name, page in expected.items():
        client = plant.login(name)
        assert client.get("/").headers["location"] == page, name
        assert client.get(page).status_code == 200, name
    # Logging in without a page to return to goes to the landing page; with one, back to it.
    client = TestClient(plant.app, follow_redirects=True)
    form = client.get("/login")
    r = client.post("/login", data={"username": "pat", "password": PASSWORD, "csrf_token": csrf_of(form.text)})
    assert r.url.path == "/erp/mrp"


def test_a_process_is_started_from_the_inbox_with_its_start_form(plant, engine):
    mia = plant.login("mia")
    assert 'href="/start"' in mia.get("/inbox").text
    listing = mia.get("/start").text
    # Maintenance requests are started by hand; order-to-cash only by placing a sales order.
    assert 'href="/start/maintenance_request"' in listing
    assert "/start/order_to_cash" not in listing and 'href="/erp/sales/new"' in listing
    assert mia.get("/start/order_to_cash").status_code == 404

    form = mia.get("/start/maintenance_request").text
    assert 'name="machine"' in form and 'name="symptom"' in form
    r = mia.post("/start/maintenance_request", data={"csrf_token": mia.csrf, "machine": "CNC-01", "symptom": ""})
    assert r.status_code == 422 and "What is wrong: is required" in r.text
    assert 'value="CNC-01"' in r.text  # what was typed stays
    assert _count(engine, ProcessInstance) == 0

    r = mia.post("/start/maintenance_request", data={
        "csrf_token": mia.csrf, "business_key": "MR-2001", "machine": "CNC-01", "symptom": "coolant leak",
        "severity": "critical"})  # a field the start form does not declare is not a variable
    assert r.status_code == 303
    with engine.db.read() as session:
        run = session.scalars(select(ProcessInstance)).one()
        task = session.scalars(select(UserTask).where(UserTask.instance_id == run.id)).one()
    assert run.business_key == "MR-2001" and run.started_by == "mia"
    assert run.variables == {"machine": "CNC-01", "symptom": "coolant leak"}
    # The first task is offered to the starter's group: they go straight to it.
    assert r.headers["location"] == f"/tasks/{task.id}" and task.element_id == "assess"

    # Only the process's candidate starters may start it.
    sally = plant.login("sally")
    assert "/start/maintenance_request" not in sally.get("/start").text
    assert sally.get("/start/maintenance_request").status_code == 403
    r = sally.post("/start/maintenance_request", data={"csrf_token": sally.csrf, "machine": "X", "symptom": "y"})
    assert r.status_code == 403 and _count(engine, ProcessInstance) == 1


def test_a_sales_order_is_placed_from_its_form(plant, engine):
    sally = plant.login("sally")
    assert 'href="/erp/sales/new"' in sally.get("/erp/sales").text
    page = sally.get("/erp/sales/new").text
    assert len(re.findall(r'name="item"', page)) == 3 and 'value="C-ACME"' in page
    more = sally.post("/erp/sales/new", data={"csrf_token": sally.csrf, "partner": "C-ACME", "add_line": "1",
                                              "item": ["FG-BRACKET", "", ""], "quantity": ["4", "", ""]})
    assert more.status_code == 200 and len(re.findall(r'name="item"', more.text)) == 4
    assert _count(engine, SalesOrder) == 0  # adding a line books nothing

    for data, message in (({"item": "FG-BRACKET", "quantity": "4"}, "choose the customer"),
                          ({"partner": "C-ACME"}, "enter at least one line"),
                          ({"partner": "C-ACME", "item": "FG-BRACKET", "quantity": "lots"}, "quantity")):
        r = sally.post("/erp/sales/new", data={"csrf_token": sally.csrf, **data})
        assert r.status_code == 422 and message in r.text, (data, r.text[-800:])
    assert _count(engine, SalesOrder) == 0 and _count(engine, ProcessInstance) == 0

    r = sally.post("/erp/sales/new", data={"csrf_token": sally.csrf, "partner": "C-ACME",
                                           "customer_reference": "PO-77", "item": ["FG-BRACKET", "MR-GLOVES", ""],
                                           "quantity": ["4", "10", ""]})
    assert r.status_code == 303
    with engine.db.read() as session:
        order = session.scalars(select(SalesOrder)).one()
        run = session.get(ProcessInstance, order.instance_id)
        assert [(ln.quantity, ln.line_no) for ln in order.lines] == [(4, 1), (10, 2)]
    assert r.headers["location"].startswith(f"/erp/sales/{order.number}?")
    assert order.customer_reference == "PO-77" and run.process_key == "order_to_cash" and run.started_by == "sally"
    assert f"Created: {order.number}" in sally.get(r.headers["location"]).text


def test_a_requisition_is_raised_from_its_form(plant, engine):
    sally = plant.login("sally")
    r = sally.post("/erp/requisitions/new", data={"csrf_token": sally.csrf, "partner": "C-ACME", "item": "MR-GLOVES",
                                                  "quantity": "100"})
    assert r.status_code == 422 and "supplier" in r.text and _count(engine, Requisition) == 0
    page = sally.get("/erp/requisitions/new").text
    supplier = re.search(r'<option value="(S-[^"]+)"', page).group(1)
    r = sally.post("/erp/requisitions/new", data={"csrf_token": sally.csrf, "partner": supplier, "item": "MR-GLOVES",
                                                  "quantity": "100", "unit_price": "0.40"})
    assert r.status_code == 303
    with engine.db.read() as session:
        req = session.scalars(select(Requisition)).one()
        assert [(ln.quantity, ln.unit_price) for ln in req.lines] == [(100, Decimal("0.40"))]
        assert session.get(ProcessInstance, req.instance_id).process_key == "procure_to_pay"
    assert req.number in sally.get(r.headers["location"]).text


def test_a_planner_releases_a_work_order_from_its_form(plant, engine):
    pat = plant.login("pat")
    assert 'href="/mes/work-orders/new"' in pat.get("/mes/work-orders").text
    assert 'href="/mes/work-orders/new"' in pat.get("/start").text
    r = pat.post("/mes/work-orders/new", data={"csrf_token": pat.csrf, "item": "FG-BRACKET", "quantity": "0"})
    assert r.status_code == 422 and "greater than zero" in r.text and _count(engine, WorkOrder) == 0
    r = pat.post("/mes/work-orders/new", data={"csrf_token": pat.csrf, "item": "FG-BRACKET", "quantity": "5",
                                               "due_date": "2030-01-31", "priority": "70"})
    assert r.status_code == 303
    with engine.db.read() as session:
        wo = session.scalars(select(WorkOrder)).one()
        assert session.get(ProcessInstance, wo.instance_id).process_key == "work_order"
    assert r.headers["location"] == f"/mes/work-orders/{wo.number}" and wo.priority == 70

    # Releasing is for planners and operations, on the page and through the API alike.
    sally = plant.login("sally")
    assert 'href="/mes/work-orders/new"' not in sally.get("/mes/work-orders").text
    assert sally.get("/mes/work-orders/new").status_code == 403
    r = sally.post("/mes/work-orders/new", data={"csrf_token": sally.csrf, "item": "FG-BRACKET", "quantity": "5"})
    assert r.status_code == 403 and _count(engine, WorkOrder) == 1
