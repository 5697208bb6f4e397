"""Task forms: a required yes/no must be chosen (no silent No), and a No asks for its reason."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import login, shot


def _open_task(page, business_key: str) -> None:
    page.goto("/inbox")  # sales people land on their sales orders
    page.get_by_label("Search").fill(business_key)
    page.locator("tr", has_text=business_key).get_by_role("link", name="Decide on credit hold").click()
    expect(page.get_by_role("heading", name=re.compile("Decide on credit hold"))).to_be_visible()


def test_a_rejection_needs_a_choice_and_a_reason_and_the_reason_is_kept(page, site):
    instance = site.start("credit_decision", "SO-8001")
    login(page, "sally")
    _open_task(page, "SO-8001")
    decision = page.get_by_role("group", name=re.compile("Release the order"))
    yes, no = decision.get_by_role("radio", name="Yes"), decision.get_by_role("radio", name="No")
    expect(yes).not_to_be_checked()
    expect(no).not_to_be_checked()  # nobody answered yet: nothing is pre-chosen
    expect(page.get_by_label("Reason")).to_be_hidden()

    page.get_by_label("Note").fill("called the customer")
    page.get_by_role("button", name="Complete").click()
    expect(page.locator("#err-creditApproved")).to_have_text("Release the order? is required: choose yes or no")
    expect(page.get_by_label("Note")).to_have_value("called the customer")  # nothing typed is lost
    expect(no).not_to_be_checked()

    no.check()
    expect(page.get_by_label("Reason")).to_be_visible()  # a No asks for its reason
    yes.check()
    expect(page.get_by_label("Reason")).to_be_hidden()
    no.check()
    page.get_by_role("button", name="Complete").click()
    expect(page.locator("#err-creditApprovedReason")).to_have_text(
        "Reason is required for a No: give a reason for the rejection")
    expect(no).to_be_checked()
    expect(page.get_by_label("Reason")).to_be_visible()
    shot(page, site, "task-rejection-needs-reason")

    page.goto("/inbox?q=SO-8001")
    expect(page.locator("tr", has_text="SO-8001")).to_contain_text("Decide on credit hold")  # still open
    _open_task(page, "SO-8001")
    decision.get_by_role("radio", name="No").check()
    page.get_by_label("Reason").fill("two invoices 60 days overdue")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("Completed: Decide on credit hold (SO-8001)")
    expect(page.locator("tr", has_text="SO-8001")).to_have_count(0)

    # The operator sees the answer and its reason in the instance's variables and history.
    page.get_by_role("button", name="Log out").click()
    login(page, "olga")
    page.goto(f"/cockpit/instances/{instance['id']}")
    variables = page.locator("section", has=page.get_by_role("heading", name="Variables"))
    expect(variables.locator("tr", has_text="creditApprovedReason")).to_contain_text('"two invoices 60 days overdue"')
    expect(variables.locator("tr", has=page.locator("code", has_text=re.compile("^creditApproved$")))).to_contain_text(
        "false")
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    completed = history.locator("li", has_text="Decide on credit hold").filter(has_text="by sally")
    completed.first.locator("summary").click()
    expect(completed.first.locator("pre")).to_contain_text("two invoices 60 days overdue")


def test_the_reason_box_follows_the_choice_without_javascript(browser, site):
    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    page = context.new_page()
    site.start("credit_decision", "SO-8101")
    login(page, "sally")
    page.goto("/inbox?q=SO-8101")
    page.locator("tr", has_text="SO-8101").get_by_role("link", name="Decide on credit hold").click()
    expect(page.get_by_label("Reason")).to_be_hidden()
    page.get_by_role("radio", name="No").check()
    expect(page.get_by_label("Reason")).to_be_visible()
    page.get_by_role("button", name="Complete").click()  # a plain form post: the server asks for the reason
    expect(page.locator("#err-creditApprovedReason")).to_be_visible()
    page.get_by_label("Reason").fill("customer insolvent")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("Completed: Decide on credit hold (SO-8101)")
    done = site.api.get("/api/v1/process-instances", params={"businessKey": "SO-8101"}).json()
    assert [(i["state"], i["variables"].get("creditApprovedReason")) for i in done] == [
        ("completed", "customer insolvent")]
    context.close()
