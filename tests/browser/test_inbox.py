"""Inbox and task forms: claim, a validation error next to its field, complete; new work appears live."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import login, shot


def test_claim_and_complete_a_task_after_a_validation_error(page, site):
    instance = site.start("order_review", "SO-7001", {"customer": "ACME Tools"})
    login(page, "sally")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    row = page.locator("tr", has_text="SO-7001")
    expect(row).to_contain_text("Review order")
    expect(row).to_contain_text("unclaimed")
    row.get_by_role("button", name=re.compile("^Claim")).click()  # an htmx swap, no reload
    expect(row).to_contain_text("me")
    expect(page.get_by_role("status")).to_contain_text("Claimed: Review order")
    shot(page, site, "inbox")

    row.get_by_role("link", name="Review order").click()
    expect(page.get_by_role("heading", name=re.compile("Review order"))).to_be_visible()
    expect(page.get_by_text("ACME Tools")).to_be_visible()  # the case's details are shown with the form
    expect(page.get_by_label("Customer reference")).to_have_value("PO-")  # the model's default
    page.get_by_label("Quantity").fill("900")
    page.get_by_label("Customer reference").fill("PO-12")
    page.get_by_label("Delivery date").fill("2026-12-01")
    page.get_by_label("Expedite").check()
    page.get_by_role("button", name="Complete").click()

    expect(page.locator("#err-quantity")).to_have_text("Quantity must be at most 500")
    expect(page.locator("#err-customerRef")).to_have_text("Customer reference must match PO-[0-9]{4}")
    expect(page.locator("#err-incoterm")).to_have_text("Incoterm is required")
    expect(page.get_by_label("Quantity")).to_have_attribute("aria-invalid", "true")
    # Nothing typed is lost on an invalid submit.
    expect(page.get_by_label("Quantity")).to_have_value("900")
    expect(page.get_by_label("Delivery date")).to_have_value("2026-12-01")
    expect(page.get_by_label("Expedite")).to_be_checked()
    shot(page, site, "task-form-errors")

    page.get_by_label("Quantity").fill("12")
    page.get_by_label("Customer reference").fill("PO-1234")
    page.get_by_label("Incoterm").select_option("DAP")
    page.get_by_role("button", name="Complete").click()
    expect(page).to_have_url(re.compile(r"/inbox\?done="))
    expect(page.get_by_role("status")).to_contain_text("Completed: Review order (SO-7001)")
    expect(page.locator("tr", has_text="SO-7001")).to_have_count(0)

    done = site.api.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert done["activeElementIds"] == ["pick"]
    assert {k: done["variables"][k] for k in ("quantity", "customerRef", "incoterm", "deliveryDate", "expedite")} == {
        "quantity": 12, "customerRef": "PO-1234", "incoterm": "DAP", "deliveryDate": "2026-12-01", "expedite": True}


def test_a_worker_sees_only_their_groups_tasks_and_new_work_arrives_without_reload(page, site):
    site.start("order_review", "SO-7101")
    login(page, "walter")  # warehouse: the review task belongs to sales
    page.goto("/inbox")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.locator("tr", has_text="SO-7101")).to_have_count(0)
    review = page.evaluate("async () => (await fetch('/inbox?q=SO-7101&scope=everyone')).text()")
    assert "No open tasks match" in review  # "everyone" is an admin's scope

    page.get_by_label("Search").fill("SO-72")  # htmx filters as the person types
    expect(page.get_by_text("No open tasks match.")).to_be_visible()
    instance = site.start("order_review", "SO-7201")
    tasks = site.api.get("/api/v1/tasks", params={"processInstanceId": instance["id"]}).json()
    site.api.post(f"/api/v1/tasks/{tasks[0]['id']}/complete",
                  json={"variables": {"quantity": 3, "incoterm": "EXW"}}).raise_for_status()
    # The inbox polls; the warehouse's pick task shows up without a reload.
    expect(page.locator("tr", has_text="SO-7201")).to_contain_text("Pick goods", timeout=12_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_the_inbox_works_without_javascript_and_on_a_tablet(browser, site):
    context = browser.new_context(base_url=site.url, java_script_enabled=False,
                                  viewport={"width": 800, "height": 1180}, has_touch=True, is_mobile=True)
    page = context.new_page()
    site.start("order_review", "SO-7301")
    login(page, "sally")
    page.goto("/inbox")
    page.get_by_label("Search").fill("SO-7301")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tr", has_text="SO-7301")
    row.get_by_role("button", name=re.compile("^Claim")).click()  # a plain form post and redirect
    expect(page.locator("tr", has_text="SO-7301")).to_contain_text("me")
    shot(page, site, "inbox-tablet-nojs")
    context.close()
