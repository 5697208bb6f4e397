"""Starting work in Chromium: each person lands on the page of their role; a maintenance technician starts a
request from the inbox with its start form and goes on to its first task; sales places an order and a planner
releases a work order through their forms (an error is said on the form, with what was typed kept)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from taktflow.engine.store.db import Database
from tests.browser.conftest import Site, login, open_plant, shot

MODELS = ("maintenance_request.bpmn", "order_to_cash.bpmn", "procure_to_pay.bpmn", "credit_check.dmn",
          "requisition_approval.dmn", "work_order.bpmn", "quality_disposition.dmn")
PEOPLE = {"mia": ("worker", ["maintenance"]), "pat": ("worker", ["planner"])}


@pytest.fixture(scope="module")
def plant(site: Site, database: Database) -> Site:
    return open_plant(site, database, MODELS, PEOPLE)


def test_each_person_lands_on_the_page_of_their_role(page: Page, plant: Site):
    for name, path in (("sally", "/erp/sales"), ("pat", "/erp/mrp"), ("olga", "/cockpit"), ("mia", "/inbox")):
        login(page, name)
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_label("User name")).to_be_visible()


def test_a_request_is_started_from_the_inbox_and_its_first_task_opens(page: Page, plant: Site):
    login(page, "mia")
    page.goto("/inbox")
    page.get_by_role("link", name="Start process").click()
    # Processes started by their document are not offered here; their document forms are.
    expect(page.locator("#startable-processes")).not_to_contain_text("Order to cash")
    expect(page.get_by_role("link", name="New sales order")).to_be_visible()
    page.locator("#startable-processes").get_by_role("link", name="Maintenance request").click()
    page.get_by_label("Business key").fill("MR-BROWSER-1")
    page.get_by_label("Machine").fill("CNC-01")
    page.get_by_role("button", name="Start").click()  # htmx: the form comes back with the error
    expect(page.locator("#error-summary")).to_contain_text("What is wrong: is required")
    expect(page.get_by_label("Machine")).to_have_value("CNC-01")
    shot(page, plant, "start-form-error")
    page.get_by_label("What is wrong").fill("coolant leaking at the spindle")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name=re.compile("Assess request"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("MR-BROWSER-1"))).to_be_visible()
    started = plant.api.get("/api/v1/process-instances",
                            params={"businessKey": "MR-BROWSER-1"}).json()
    assert [(i["processKey"], i["state"]) for i in started] == [("maintenance_request", "active")]
    variables = started[0]["variables"]
    assert {k: variables[k] for k in ("machine", "symptom")} == {"machine": "CNC-01",
                                                                 "symptom": "coolant leaking at the spindle"}


def test_sales_places_an_order_through_its_form(page: Page, plant: Site):
    login(page, "sally")
    page.get_by_role("link", name="New sales order").click()
    page.get_by_label("Item of line 1").select_option("FG-BRACKET")
    page.get_by_label("Quantity of line 1").fill("3")
    page.get_by_role("button", name="Place sales order").click()
    expect(page.get_by_role("alert")).to_contain_text("choose the customer")
    expect(page.get_by_label("Quantity of line 1")).to_have_value("3")  # kept
    page.get_by_role("combobox", name="Customer", exact=True).select_option("C-ACME")
    page.get_by_role("button", name="Add line").click()
    expect(page.get_by_label("Item of line 4")).to_be_visible()
    page.get_by_label("Item of line 2").select_option("MR-GLOVES")
    page.get_by_label("Quantity of line 2").fill("12")
    shot(page, plant, "new-sales-order")
    page.get_by_role("button", name="Place sales order").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Created: SO-\d+"))
    number = re.search(r"SO-\d+", page.get_by_role("status").inner_text()).group(0)
    expect(page).to_have_url(re.compile(rf"/erp/sales/{number}"))
    order = next(o for o in plant.api.get("/api/v1/sales-orders").json() if o["number"] == number)
    assert [line["quantity"] for line in order["lines"]] == [3, 12] and order["processInstanceId"]


def test_a_planner_releases_a_work_order_through_its_form(page: Page, plant: Site):
    login(page, "pat")
    page.goto("/mes/work-orders")
    page.get_by_role("link", name="New work order").click()
    page.get_by_label("Item to make").select_option("FG-BRACKET")
    page.get_by_label("Quantity").fill("0")
    page.get_by_role("button", name="Release work order").click()
    expect(page.get_by_role("alert")).to_contain_text("greater than zero")
    page.get_by_label("Quantity").fill("6")
    page.get_by_role("button", name="Release work order").click()
    expect(page).to_have_url(re.compile(r"/mes/work-orders/WO-\d+$"))
    number = page.url.rsplit("/", 1)[1]
    released = plant.api.get(f"/api/v1/work-orders/{number}").json()
    assert (released["itemCode"], released["quantity"]) == ("FG-BRACKET", 6) and released["processInstanceId"]
    assert released["state"] in ("released", "in_progress")  # its process runs: material is staged at once
