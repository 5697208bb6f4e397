"""People and access: login with a password, roles deciding what each person may open."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import login, shot


def test_login_rejects_wrong_password_and_keeps_the_page_asked_for(page, site):
    page.goto("/cockpit/instances")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fcockpit%2Finstances"))
    page.get_by_label("User name").fill("olga")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Unknown user name or wrong password.")
    expect(page.get_by_label("User name")).to_have_value("olga")
    shot(page, site, "login-error")
    page.get_by_label("Password").fill("correct-horse-42")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/cockpit/instances$"))
    expect(page.get_by_role("heading", name="Process instances")).to_be_visible()


def test_roles_decide_what_each_person_may_open(page, site):
    login(page, "sally")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Inbox")).to_be_visible()
    expect(nav.get_by_role("link", name="Cockpit")).to_have_count(0)
    expect(nav.get_by_role("link", name="Designer")).to_have_count(0)
    for path in ("/cockpit", "/designer"):
        response = page.goto(path)
        assert response.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shot(page, site, "worker-forbidden")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert page.goto("/inbox").url.endswith("/login?next=%2Finbox")

    login(page, "dora")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Designer")).to_be_visible()
    expect(nav.get_by_role("link", name="Cockpit")).to_have_count(0)
    assert page.goto("/cockpit").status == 403


def test_a_form_posted_without_the_session_token_is_refused(page, site):
    login(page, "olga")
    instance = site.start("order_review", "CSRF-1")
    # A forged cross-site form carries the session cookie but not the form token.
    status = page.evaluate("""async (id) => {
        const body = new URLSearchParams({});
        const r = await fetch(`/cockpit/instances/${id}/cancel`, {method: 'POST', body});
        return r.status; }""", instance["id"])
    assert status == 403
    assert site.api.get(f"/api/v1/process-instances/{instance['id']}").json()["state"] == "active"
