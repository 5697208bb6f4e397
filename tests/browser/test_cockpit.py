"""Cockpit: an incident seen on the instance page, its error, and a retry that resolves it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import login, shot


def test_an_incident_is_retried_from_the_instance_page(page, site):
    site.stock_online.unlink(missing_ok=True)
    instance = site.start("stock_flow", "SO-8001")
    assert instance["state"] == "incident"
    login(page, "olga")
    page.get_by_role("link", name="Cockpit").click()
    row = page.locator("tr", has_text="Reserve stock")
    expect(row.locator("td").nth(5)).not_to_have_text("0")  # open incidents of the process
    shot(page, site, "cockpit-overview")
    page.goto("/cockpit/instances")
    page.get_by_label("State").select_option("incident")
    page.get_by_label("Business key starts with").fill("SO-80")
    result = page.locator("#instance-results tbody tr")
    expect(result).to_have_count(1)
    shot(page, site, "cockpit-instances")
    result.get_by_role("link").click()

    expect(page.locator("#instance-state")).to_have_text("incident")
    incident = page.locator("tr[id^=incident-]")
    expect(incident).to_contain_text("stock service offline: connection refused")
    expect(incident).to_contain_text("reserve")
    expect(page.locator('#diagram[data-ready="true"]')).to_be_visible()
    expect(page.locator('.djs-element.tf-incident[data-element-id="reserve"]')).to_have_count(1)
    expect(page.locator('.djs-element.tf-completed[data-element-id="StartEvent_1"]')).to_have_count(1)
    shot(page, site, "instance-incident")

    incident.get_by_role("button", name=re.compile("Retry")).click()  # still offline: a new incident
    expect(page.get_by_role("status")).to_contain_text("failed again: RuntimeError: stock service offline")
    site.stock_online.write_text("back")
    page.locator("tr[id^=incident-]", has_not_text="resolved").get_by_role("button", name=re.compile("Retry")).click()
    expect(page.get_by_role("status")).to_have_text("Retried: the incident is resolved.")
    expect(page.locator("#instance-state")).to_have_text("active")
    expect(page.locator('.djs-element.tf-active[data-element-id="ship"]')).to_have_count(1)
    expect(page.locator('.djs-element.tf-completed[data-element-id="reserve"]')).to_have_count(1)
    expect(page.locator("#vars-h + table")).to_contain_text("RES-SO-8001")
    shot(page, site, "instance-retried")
    now = site.api.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert now["state"] == "active" and now["activeElementIds"] == ["ship"]


def test_bulk_cancel_from_the_instance_list(page, site):
    first, second = site.start("order_review", "BULK-1"), site.start("order_review", "BULK-2")
    login(page, "olga")
    page.goto("/cockpit/instances?business_key=BULK-")
    page.get_by_label("Select BULK-1").check()
    page.get_by_label("Select BULK-2").check()
    page.get_by_role("button", name="Cancel selected").click()
    expect(page.get_by_role("status")).to_contain_text("Cancelled 2 of 2 selected instance(s).")
    for instance in (first, second):
        assert site.api.get(f"/api/v1/process-instances/{instance['id']}").json()["state"] == "cancelled"
