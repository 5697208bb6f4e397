"""MES screens in Chromium against a real server: the dispatch board and its machine panel update without a
reload when the machine's signals arrive over HTTP; start and confirm from the board; every MES page is
photographed (desktop and tablet). A make-item shortage shows its child work order on the parent, a machine
counting without a job is flagged, and e-stops and jams show as downtimes on the board and the machine page."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from taktflow.engine.store.db import Database
from tests.browser.conftest import Site, login, open_plant, shot

MODELS = ("work_order.bpmn", "quality_disposition.dmn", "order_to_cash.bpmn", "procure_to_pay.bpmn",
          "credit_check.dmn", "requisition_approval.dmn")
PEOPLE = {"cara": ("worker", ["operator_WC-CUT"]), "pia": ("worker", ["planner"])}


@pytest.fixture(scope="module")
def plant(site: Site, database: Database) -> Site:
    return open_plant(site, database, MODELS, PEOPLE, devices=True)


def _release(site: Site, quantity: int, priority: int = 50) -> str:
    r = site.api.post("/api/v1/work-orders", json={"itemCode": "FG-BRACKET", "quantity": quantity,
                                                   "priority": priority})
    assert r.status_code == 201, r.text
    return r.json()["number"]


def _signal(site: Site, device: str, *signals: dict) -> None:
    r = site.api.post(f"/api/v1/devices/{device}/signals", json=list(signals))
    assert r.status_code == 200, r.text


def test_dispatch_board_follows_the_machine_without_reload_and_an_operator_starts_and_confirms(page: Page,
                                                                                          plant: Site):
    number = _release(plant, 5, priority=70)
    login(page, "cara")
    page.get_by_role("link", name="MES").click()
    expect(page.get_by_role("heading", name=re.compile("Cutting"))).to_be_visible()  # an operator lands on the board
    card = page.locator("article.op-card", has_text=f"{number}/10")
    expect(card).to_contain_text("queued")
    card.get_by_role("button", name=f"Start {number}/10").click()  # htmx: the board swaps, no reload
    expect(page.get_by_role("status")).to_contain_text(f"Started: {number}/10")
    running = page.locator("section.board-col", has=page.get_by_role("heading", name=re.compile("^Running")))
    card = running.locator("article.op-card", has_text=f"{number}/10")
    expect(card).to_contain_text("Machine count 0 of 5")
    expect(page.locator("#job-CUT-01")).to_contain_text("0 of 5")

    # The machine speaks HTTP: it resumes, its counter (first reading: the baseline) counts up.
    _signal(plant, "CUT-01", {"kind": "state", "value": "Execute"}, {"kind": "processed", "value": 1000},
            {"kind": "defective", "value": 0})
    sent = time.monotonic()
    _signal(plant, "CUT-01", {"kind": "processed", "value": 1002})
    expect(page.locator("#state-CUT-01")).to_have_text("Execute", timeout=5_000)
    expect(card.locator("[id^=op-count-]")).to_have_text("2", timeout=5_000)
    expect(page.locator("#job-CUT-01")).to_contain_text("2 of 5", timeout=5_000)
    seen_after = time.monotonic() - sent
    assert seen_after < 5, seen_after
    shot(page, plant, "mes-board-running")

    _signal(plant, "CUT-01", {"kind": "processed", "value": 1005})  # 5 parts: the run is done
    confirm = card.get_by_role("button", name=f"Confirm {number}/10")
    expect(confirm).to_be_visible(timeout=5_000)
    expect(card.get_by_label("Good")).to_have_value("5")
    card.get_by_label("Good").fill("5")
    card.get_by_label("Scrap").fill("1")  # 6 > 5 released: the booking sends it back, next to the field
    confirm.click()
    expect(card.locator(".field-error")).to_contain_text("is more than the 5 released", timeout=5_000)
    expect(card.get_by_label("Scrap")).to_have_value("1")  # nothing typed is lost
    shot(page, plant, "mes-board-refused")
    card.get_by_label("Good").fill("4")
    card.get_by_role("button", name=f"Confirm {number}/10").click()
    expect(page.get_by_role("status")).to_contain_text(f"Confirmed: {number}/10")
    expect(card).to_contain_text("Waiting for inspection")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # all of it without a reload
    expect(page.locator("#processed-CUT-01")).to_have_text("5")


def test_a_planner_sees_every_board_read_only_and_every_mes_page(page: Page, plant: Site, browser: Browser):
    number = _release(plant, 3)
    login(page, "pia")
    page.goto("/mes/work-centers")
    expect(page.locator("article.wc-card")).to_have_count(3)
    shot(page, plant, "mes-boards")
    page.goto("/mes/work-centers/WC-CUT")
    card = page.locator("article.op-card", has_text=f"{number}/10")
    expect(card).to_contain_text("Start operation is for operator_WC-CUT")
    expect(card.get_by_role("button")).to_have_count(0)
    _signal(plant, "CUT-01", {"kind": "stop_reason", "value": "blade change"}, {"kind": "state", "value": "Held"})
    expect(page.locator("#state-CUT-01")).to_have_text("Held", timeout=5_000)
    expect(page.locator("#downtime-CUT-01")).to_contain_text("held Down since")  # the stop is a downtime
    expect(page.locator("#downtime-CUT-01")).to_contain_text("blade change")
    shot(page, plant, "mes-board-planner")

    page.goto("/mes/work-orders")
    expect(page.locator(f"#wo-{number}")).to_contain_text("FG-BRACKET")
    shot(page, plant, "mes-work-orders")
    page.locator(f"#wo-{number}").get_by_role("link", name=number).click()
    expect(page.locator("#op-10")).to_contain_text("queued")
    shot(page, plant, "mes-work-order")
    page.goto("/mes/machines")
    expect(page.locator("article.machine")).to_have_count(3)
    shot(page, plant, "mes-machines")
    page.goto("/mes/machines/CUT-01")
    expect(page.locator("#state-log")).to_contain_text("Held")
    shot(page, plant, "mes-machine")
    page.goto("/mes/oee")
    expect(page.locator("#oee-WC-CUT [data-kpi=availability]")).to_have_text(re.compile(r"\d+\.\d %"))
    shot(page, plant, "mes-oee")
    page.goto("/mes/genealogy")
    page.get_by_label("Lot number").fill("OPEN-STEEL-1")
    page.get_by_role("button", name="Trace").click()
    expect(page.get_by_role("heading", name=re.compile("Lot OPEN-STEEL-1"))).to_be_visible()
    shot(page, plant, "mes-lot")

    tablet = browser.new_context(base_url=plant.url, viewport={"width": 800, "height": 1180}, has_touch=True,
                                 is_mobile=True, java_script_enabled=False)
    try:
        t = tablet.new_page()
        login(t, "cara")
        t.goto("/mes/work-centers/WC-CUT")  # without JavaScript the board still shows everything
        expect(t.locator("#state-CUT-01")).to_have_text("Held")
        expect(t.locator("article.op-card", has_text=f"{number}/10")).to_be_visible()
        shot(t, plant, "mes-board-tablet")
    finally:
        tablet.close()


def test_a_child_work_order_for_a_short_make_item_shows_on_its_parent(page: Page, plant: Site):
    # 101 frames need 202 brackets; fewer are free (200 seeded, less what earlier tests shipped or reserved):
    # a child work order makes exactly the shortfall.
    brackets = [level for level in plant.api.get("/api/v1/stock").json()
                if (level["item"], level["location"]) == ("FG-BRACKET", "WH1/STOCK")]
    free = sum(float(level["quantity"]) - float(level["reserved"]) for level in brackets)
    assert 0 < free < 202, brackets
    r = plant.api.post("/api/v1/work-orders", json={"itemCode": "FG-FRAME", "quantity": 101})
    assert r.status_code == 201, r.text
    parent = r.json()["number"]
    [child] = plant.api.get(f"/api/v1/work-orders/{parent}").json()["children"]
    login(page, "pia")
    page.goto(f"/mes/work-orders/{parent}")
    expect(page.locator("#wo-state")).to_contain_text("waiting_material")
    expect(page.get_by_role("heading", name="Child work orders")).to_be_visible()
    row = page.locator("#children tr", has_text=child["number"])
    expect(row).to_contain_text("FG-BRACKET")
    assert float(child["quantity"]) == 202 - free, (child["quantity"], free, brackets)
    expect(row.locator("td").nth(2)).to_have_text(f"{202 - free:g}")
    shot(page, plant, "mes-work-order-child")
    row.get_by_role("link", name=child["number"]).click()
    expect(page.get_by_role("heading", name=re.compile(child["number"]))).to_be_visible()
    expect(page.locator("#wo-parent")).to_contain_text(parent)


def test_a_machine_counting_without_a_job_is_flagged_live_and_left_out_of_oee(page: Page, plant: Site):
    login(page, "pia")
    page.goto("/mes/machines")
    expect(page.locator("#machine-ASSY-01")).to_contain_text("No job")
    _signal(plant, "ASSY-01", {"kind": "state", "value": "Execute"}, {"kind": "processed", "value": 70})
    _signal(plant, "ASSY-01", {"kind": "processed", "value": 73})  # 3 parts, no operation runs on ASSY-01
    flag = page.locator("#unassigned-ASSY-01")
    expect(flag).to_contain_text("Counting without a job: 3 parts", timeout=5_000)  # pushed, no reload
    expect(flag).to_contain_text("not in OEE")
    shot(page, plant, "mes-machine-unassigned")
    page.goto("/mes/oee?wc=WC-ASSY")
    expect(page.locator("#unassigned-WC-ASSY")).to_contain_text("3 parts were counted without a job")
    expect(page.locator("#oee-WC-ASSY [data-kpi=counts]")).to_have_text("0 / 0")


def test_an_e_stop_and_a_jam_show_on_the_operators_board_and_the_downtimes_panel(page: Page, plant: Site):
    _signal(plant, "CUT-01", {"kind": "state", "value": "Execute"})
    login(page, "cara")
    page.goto("/mes/work-centers/WC-CUT")
    expect(page.locator("#state-CUT-01")).to_have_text("Execute")
    _signal(plant, "CUT-01", {"kind": "stop_reason", "value": {"ID": 17, "Value": "E-stop pressed"}},
            {"kind": "state", "value": "Aborted"})
    down = page.locator("#downtime-CUT-01")
    expect(down).to_contain_text("e-stop", timeout=5_000)  # the operator's board shows it without a reload
    expect(down).to_contain_text("17: E-stop pressed")
    shot(page, plant, "mes-board-estop")
    for state in ("Clearing", "Stopped", "Resetting", "Idle", "Starting", "Execute"):
        _signal(plant, "CUT-01", {"kind": "state", "value": state})
    expect(down).to_have_count(0, timeout=5_000)  # running again: the downtime ended
    _signal(plant, "CUT-01", {"kind": "state", "value": "Held"})
    _signal(plant, "CUT-01", {"kind": "stop_reason", "value": "Material jam at infeed"})  # the fault code follows
    expect(down).to_contain_text("jam", timeout=5_000)
    expect(down).to_contain_text("Material jam at infeed")
    page.reload()
    board = page.locator("#board-downtimes")
    expect(board.locator("li").first).to_contain_text("jam")
    expect(board).to_contain_text("e-stop")
    page.goto("/mes/machines/CUT-01")
    panel = page.locator("#downtimes")
    expect(panel.locator("li", has_text="E-stop pressed")).to_contain_text("e-stop")
    expect(panel.locator("li", has_text="Material jam at infeed")).to_contain_text("open")
    shot(page, plant, "mes-machine-downtimes")
