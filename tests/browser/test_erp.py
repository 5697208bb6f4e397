"""ERP pages in Chromium: lists page by number (htmx, and without JavaScript), a number opens the order,
next-step buttons change the order's state or say why not, amounts carry the currency, and the pick task
shows the pick list of the delivery's reserved stock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from taktflow.engine.clock import SystemClock
from taktflow.engine.core import Engine
from taktflow.engine.store.db import Database
from taktflow.handlers.erp.seed import seed_master_data
from tests.browser.conftest import Site, login, shot

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
MODELS = ("order_to_cash.bpmn", "procure_to_pay.bpmn", "credit_check.dmn", "requisition_approval.dmn")


@pytest.fixture(scope="module")
def erp(site: Site, database: Database) -> Iterator[Site]:
    engine = Engine(database, clock=SystemClock())
    engine.command(lambda session: seed_master_data(session, engine.clock.now()))
    files = [("files", (name, (PROCESSES / name).read_bytes())) for name in MODELS]
    site.api.post("/api/v1/deployments", files=files).raise_for_status()
    yield site


def _order(site: Site, *lines: tuple[str, int]) -> dict:
    r = site.api.post("/api/v1/sales-orders", json={"customerCode": "C-ACME", "lines": [
        {"itemCode": code, "quantity": qty} for code, qty in lines]})
    assert r.status_code == 201, r.text
    return r.json()


def _task(site: Site, order: dict, element: str) -> dict:
    tasks = site.api.get("/api/v1/tasks", params={"processInstanceId": order["processInstanceId"]}).json()
    [task] = [t for t in tasks if t["elementId"] == element]
    return task


def test_sales_orders_page_through_by_number_and_a_number_opens_the_order(page: Page, erp: Site):
    orders = [_order(erp, ("MR-GLOVES", 1)) for _ in range(26)]
    login(page, "sally")
    page.goto("/erp/sales")
    table = page.locator("#sales-orders")
    newest = orders[-1]["number"]
    expect(table.get_by_role("link", name=newest)).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(25)
    expect(table).to_contain_text("7.74 EUR")  # 6.50 + 19 % tax, with the currency
    first_page = table.locator("tbody tr").first.inner_text()
    page.get_by_role("link", name="Next").click()  # an htmx swap of the results, the URL follows
    expect(page).to_have_url(re.compile(r"/erp/sales\?page=2$"))
    expect(page.get_by_role("link", name="Previous")).to_be_visible()
    expect(table.get_by_role("link", name=newest)).to_have_count(0)
    assert table.locator("tbody tr").first.inner_text() != first_page
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    shot(page, erp, "erp-sales-page-2")

    page.get_by_role("link", name="Previous").click()
    page.get_by_label("Number").fill(newest)
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    table.get_by_role("link", name=newest).click()
    expect(page).to_have_url(re.compile(rf"/erp/sales/{newest}$"))
    expect(page.get_by_role("heading", name=re.compile(f"Sales order {newest}"))).to_be_visible()
    expect(page.locator("#order-total")).to_have_text("7.74 EUR")
    expect(page.locator("#order-lines")).to_contain_text("MR-GLOVES")
    expect(page.get_by_role("link", name="Pick and ship")).to_be_visible()  # the process's step is a link


def test_lists_page_without_javascript(browser: Browser, erp: Site):
    for _ in range(26):
        _order(erp, ("MR-GLOVES", 1))
    context = browser.new_context(base_url=erp.url, java_script_enabled=False)
    page = context.new_page()
    login(page, "sally")
    page.goto("/erp/deliveries")
    expect(page.locator("#deliveries tbody tr")).to_have_count(25)
    expect(page.locator("#deliveries").get_by_role("link", name=re.compile(r"^SO-\d{5}$")).first).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/erp/deliveries\?page=2$"))
    expect(page.get_by_text(re.compile(r"page 2 of \d+"))).to_be_visible()
    context.close()


def test_next_step_buttons_cancel_an_order_and_a_refused_payment_books_nothing(page: Page, erp: Site):
    draft = _order(erp, ("MR-GLOVES", 2))
    login(page, "fiona")  # an accountant: cancels like any worker, and records payments
    page.goto(f"/erp/sales/{draft['number']}")
    expect(page.get_by_role("heading", name=re.compile("Sales order"))).to_contain_text("confirmed")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("status")).to_have_text(f"Cancelled: {draft['number']}")
    expect(page.get_by_role("heading", name=re.compile("Sales order"))).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(page.locator("#order-deliveries")).to_contain_text("cancelled")  # the pick list is withdrawn

    shipped = _order(erp, ("FG-BRACKET", 4), ("MR-GLOVES", 10))  # 165.00 net + 31.35 tax
    pick = _task(erp, shipped, "pick_and_ship")
    erp.api.post(f"/api/v1/tasks/{pick['id']}/complete", json={"variables": {"shipAll": True}}).raise_for_status()
    page.goto(f"/erp/sales/{shipped['number']}")
    expect(page.locator("#open-amount")).to_have_text("196.35 EUR")
    expect(page.locator("#order-invoices")).to_contain_text("196.35 EUR")
    expect(page.get_by_label(re.compile("Amount"))).to_have_value("196.35")
    page.get_by_label(re.compile("Amount")).fill("500")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("alert")).to_contain_text("exceeds what")
    expect(page.locator("#open-amount")).to_have_text("196.35 EUR")  # nothing was booked
    expect(page.locator("#order-payments")).to_have_count(0)
    shot(page, erp, "erp-order-refused-payment")

    page.get_by_label(re.compile("Amount")).fill("196.35")
    page.get_by_label("Reference").fill("bank 4711")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("status")).to_have_text(f"Payment recorded: {shipped['number']}")
    expect(page.get_by_role("heading", name=re.compile("Sales order"))).to_contain_text("closed")
    expect(page.locator("#order-payments")).to_contain_text("196.35 EUR")
    expect(page.locator("#open-amount")).to_have_text("0.00 EUR")
    expect(page.get_by_role("button", name="Record payment")).to_have_count(0)
    shot(page, erp, "erp-order-paid")


def test_the_pick_task_shows_item_quantity_bin_and_lot(page: Page, erp: Site):
    order = _order(erp, ("FG-BRACKET", 3), ("MR-GLOVES", 5))
    login(page, "walter")  # the warehouse
    page.goto("/inbox")
    page.get_by_label("Search").fill(order["number"])  # the other tests left many pick tasks
    page.locator("tr", has_text=order["number"]).get_by_role("link", name="Pick and ship").click()
    picks = page.locator("#pick-list tbody tr")
    expect(picks).to_have_count(2)
    expect(picks.nth(0).locator("td")).to_have_text([re.compile("^FG-BRACKET"), "3 pcs", "WH1/STOCK", "OPEN-BRK-1"])
    expect(picks.nth(1).locator("td")).to_have_text([re.compile("^MR-GLOVES"), "5 pcs", "WH1/STOCK", "—"])
    expect(page.get_by_role("heading", name=re.compile(r"Pick list DN-\d{5}"))).to_be_visible()
    shot(page, erp, "erp-pick-task")
