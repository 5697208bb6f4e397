"""`make run` in Chromium: `taktflow serve --demo --simulate-plant` on a fresh SQLite database shows a plant day
in progress to each demo person (README's logins): sales sees orders at every stage, credit control the
order on hold, the planner a schedule of the work orders, the cutting operator the queue on their board."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from taktflow.web.auth.demo import DEMO_PASSWORD
from tests.support.server import Server, cli_env


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("demo")
    server = Server(cli_env(f"sqlite:///{tmp / 'taktflow.db'}"), tmp / "server.log",
                    args=["--demo", "--simulate-plant"])
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def demo(browser: Browser, demo_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=demo_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _login(page: Page, name: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_sales_sees_orders_at_every_stage_and_credit_control_the_one_on_hold(demo: Page):
    _login(demo, "sales")
    expect(demo).to_have_url(re.compile(r"/erp/sales$"))  # sales lands on its orders
    table = demo.locator("#sales-orders")
    for number, state in (("SO-00001", "credit_hold"), ("SO-00002", "confirmed"), ("SO-00003", "delivered"),
                          ("SO-00004", "closed"), ("SO-00005", "confirmed")):
        expect(table.locator("tr", has=demo.get_by_role("link", name=number, exact=True))).to_contain_text(state)
    table.get_by_role("link", name="SO-00003", exact=True).click()
    expect(demo.get_by_role("heading", name=re.compile("Sales order SO-00003"))).to_contain_text("delivered")
    demo.get_by_role("button", name="Log out").click()

    _login(demo, "credit")
    demo.goto("/inbox")
    expect(demo.locator("tr", has_text="SO-00001")).to_contain_text("Review credit block")


def test_the_planner_sees_the_work_orders_scheduled_and_the_cutting_operator_their_queue(demo: Page):
    _login(demo, "planner")
    demo.goto("/mes/schedule")
    for work_center in ("WC-CUT", "WC-ASSY", "WC-PACK"):
        expect(demo.locator(f"#gantt-{work_center} svg.gantt-chart g.bar")).to_have_count(3)
    demo.get_by_role("button", name="Log out").click()

    _login(demo, "operator-cut")
    expect(demo).to_have_url(re.compile(r"/mes/work-centers/WC-CUT$"))  # an operator lands on their board
    expect(demo.get_by_role("heading", name="Queued 3")).to_be_visible()
    for work_order in ("WO-00001", "WO-00002", "WO-00003"):  # each one's cutting operation, ready to start
        expect(demo.get_by_role("button", name=f"Start {work_order}/10")).to_be_enabled()
