"""MRP in Chromium against a real server: a planner runs MRP, reads a proposal pegged to the forecast it
serves, and firms it with one click; the requisition's procure-to-pay starts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from taktflow.engine.clock import SystemClock
from taktflow.engine.core import Engine
from taktflow.engine.store.db import Database
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.mes.demo import seed_plant
from tests.browser.conftest import Site, login, shot

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
MODELS = ("mrp_run.bpmn", "work_order.bpmn", "quality_disposition.dmn", "order_to_cash.bpmn",
          "procure_to_pay.bpmn", "credit_check.dmn", "requisition_approval.dmn")


@pytest.fixture(scope="module")
def plant(site: Site, database: Database) -> Iterator[tuple[Site, str]]:
    engine = Engine(database, clock=SystemClock())
    engine.command(lambda s: (seed_master_data(s, engine.clock.now()), seed_plant(s)))
    files = [("files", (name, (PROCESSES / name).read_bytes())) for name in MODELS]
    site.api.post("/api/v1/deployments", files=files).raise_for_status()
    due = (engine.clock.now().date() + timedelta(days=60)).isoformat()
    # An item of its own: the browser tests share one database, and other tests sell and buy the seeded items.
    supplier = next(p["id"] for p in site.api.get("/api/v1/partners").json() if p["code"] == "S-PARTS")
    r = site.api.post("/api/v1/items", json={"code": "MR-GOGGLES", "name": "Safety goggles", "kind": "merchandise",
                                             "procurement": "buy", "standardCost": "4.00",
                                             "defaultSupplierId": supplier})
    assert r.status_code == 201, r.text
    assert site.api.put("/api/v1/mrp/items/MR-GOGGLES", json={"leadTimeDays": 10, "lotMultiple": 100}).is_success
    r = site.api.post("/api/v1/mrp/forecasts", json={"itemCode": "MR-GOGGLES", "quantity": 450, "dueDate": due})
    assert r.status_code == 201, r.text
    yield site, due


def test_a_planner_runs_mrp_and_firms_a_proposal(page: Page, plant: tuple[Site, str]):
    site, due = plant
    login(page, "ada")
    page.goto("/erp/sales")
    page.get_by_role("link", name="MRP", exact=True).click()
    page.get_by_role("button", name="Run MRP").click()  # htmx: the MRP block swaps in
    expect(page.locator("#mrp-message")).to_contain_text(re.compile(r"MRP-\d+ planned \d+ proposals"))
    # None on hand against 450 forecast: 450 short, rounded up to the multiple of 100.
    row = page.locator("tr[data-proposal]", has_text="MR-GOGGLES")
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label=Quantity]")).to_have_text("500")
    expect(row.locator("td[data-label=Due]")).to_have_text(due)
    expect(row.locator("td[data-label=Serves]")).to_have_text(f"forecast {due} (450)")
    shot(page, site, "mrp-proposals")
    number = row.get_attribute("data-proposal")
    row.get_by_role("button", name=f"Firm {number}").click()
    expect(page.locator("#mrp-message")).to_contain_text(re.compile(rf"{number} firmed as REQ-\d+"))
    firmed = page.locator(f"tr[data-proposal='{number}'] td[data-label=State]")
    expect(firmed).to_contain_text(re.compile(r"firmed: REQ-\d+"))
    expect(page.locator(f"tr[data-proposal='{number}']").get_by_role("button")).to_have_count(0)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload
    started = site.api.get("/api/v1/process-instances", params={"key": "procure_to_pay", "businessKey": number})
    assert [i["businessKey"] for i in started.json()] == [number]
