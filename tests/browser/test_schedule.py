"""The schedule in Chromium against a real server: a planner makes a schedule and reads the Gantt per work
center (server-rendered SVG); a machine is held, the page offers a reschedule, and one click makes it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from taktflow.engine.clock import SystemClock
from taktflow.engine.core import Engine
from taktflow.engine.store.db import Database
from taktflow.handlers.devices.service import register_device
from taktflow.handlers.mes.scheduling.job_shop import load_job_shop
from tests.browser.conftest import Site, login, shot


@pytest.fixture(scope="module")
def shop(site: Site, database: Database) -> Iterator[list[str]]:
    engine = Engine(database, clock=SystemClock())

    def seed(session: object) -> list[str]:
        orders = load_job_shop(session, prefix="BR", now=engine.clock.now(), jobs=[
            [("BR-SAW", 45), ("BR-MILL", 30)], [("BR-MILL", 60), ("BR-SAW", 20)], [("BR-SAW", 25), ("BR-MILL", 15)]])
        for wc in ("BR-SAW", "BR-MILL"):
            register_device(session, f"{wc}-M1", wc, ideal_cycle_seconds=10)
        return [wo.number for wo in orders]

    yield engine.command(seed)


def test_a_planner_makes_a_schedule_reads_the_gantt_and_reschedules_after_a_machine_stops(page: Page, site: Site,
                                                                                           shop: list[str]):
    login(page, "ada")
    page.goto("/mes/work-centers")
    page.get_by_role("link", name="Schedule", exact=True).click()
    expect(page.get_by_text("No schedule yet")).to_be_visible()
    page.get_by_label("Time limit (s)").fill("3")
    page.get_by_role("button", name="Make a schedule").click()  # htmx: the schedule block swaps in
    expect(page.locator("#schedule-message")).to_contain_text(re.compile(r"Schedule \d+ made"))
    for wc in ("BR-SAW", "BR-MILL"):
        chart = page.locator(f"#gantt-{wc} svg.gantt-chart")
        expect(chart).to_be_visible()
        expect(chart.locator("g.bar")).to_have_count(3)
        expect(chart.locator("text.machine-label")).to_have_text([f"{wc}-M1"])
    bar = page.locator(f"#gantt-BR-MILL g.bar:has(title:text-matches('{shop[1]}/10'))")
    expect(bar.locator("title")).to_contain_text("BR-MILL-M1")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload
    shot(page, site, "schedule-gantt")

    r = site.api.post("/api/v1/devices/BR-SAW-M1/signals", json=[{"kind": "state", "value": "Stopped"}])
    assert r.status_code == 200, r.text
    page.reload()
    banner = page.locator("#reschedule")
    expect(banner).to_contain_text("machine BR-SAW-M1 is Stopped")
    shot(page, site, "schedule-reschedule")
    banner.get_by_role("button", name="Reschedule").click()
    expect(page.locator("#schedule-message")).to_contain_text(re.compile(r"Schedule \d+ made"))

    bar.locator("xpath=..").click()  # a bar links to its work order
    expect(page).to_have_url(re.compile(f"/mes/work-orders/{shop[1]}$"))
