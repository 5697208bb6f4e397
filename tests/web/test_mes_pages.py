"""MES screens read what the real work-order process and the machines' signals left in the database:
work orders, the dispatch board with its actions for a work center's operators, live machine panels
(server-sent events), OEE per work center and shift, lot genealogy. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import taktflow.handlers  # noqa: F401 - registers the ERP, MES and device handlers
from taktflow.engine.core import Engine
from taktflow.engine.handlers import HandlerRegistry
from taktflow.engine.handlers import registry as global_registry
from taktflow.handlers.devices import service as devices
from taktflow.handlers.devices.service import Signal, ingest, register_device
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.mes.demo import WORK_CENTERS, seed_plant
from taktflow.handlers.mes.work_order import process
from taktflow.web.auth.service import create_user
from taktflow.web.pages import mes as mes_pages
from tests.mes.conftest import ERP_MODELS, MES_MODELS, Plant, reconcile_with_production
from tests.web.conftest import PASSWORD

OPERATORS = {"cara": ["operator_WC-CUT"], "pia": ["planner"], "asha": ["operator_WC-ASSY"]}


@pytest.fixture
def registry() -> HandlerRegistry:
    return global_registry  # the MES and device handlers the work-order process calls


@pytest.fixture
def plant(engine: Engine, pages: Any) -> Iterator[Plant]:
    """ERP master data, the demo plant with its machines (10 s ideal cycle), the work-order process, and the
    operators of the cutting and assembly work centers plus a planner."""

    def seed(session: Any) -> None:
        seed_master_data(session, engine.clock.now())
        seed_plant(session)
        for work_center, _, _, machine in WORK_CENTERS:
            register_device(session, machine, work_center, ideal_cycle_seconds=10)
        for name, groups in OPERATORS.items():
            create_user(session, name, PASSWORD, groups, "worker", engine.clock.now())

    engine.command(seed)
    p = Plant(engine)
    p.deploy(*MES_MODELS, *ERP_MODELS)
    yield p
    with engine.db.read() as session:
        reconcile_with_production(session)


def _text(fragment: str) -> str:
    """What a person reads: tags dropped, whitespace folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _element(page: str, element_id: str) -> str:
    """The text of the element with this id (up to its closing tag of the same name)."""
    m = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert m, f"no element #{element_id} on the page"
    tag, start = m.group(1), m.end()
    depth, pos = 1, start
    for t in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start:]):
        depth += -1 if t.group(1) else 1
        if depth == 0:
            pos = start + t.start()
            break
    return _text(page[start:pos])


def _signals(plant: Plant, device: str, *values: tuple[str, Any], seconds: float = 10) -> None:
    """The machine reports, one reading at a time with the plant clock moving on (sequence numbers rise)."""
    for kind, value in values:
        plant.engine.clock.advance(seconds=seconds)
        ingest(plant.engine, [Signal(device, kind, value, plant.engine.clock.now())])


def _run_bracket_order(plant: Plant, quantity: int = 10) -> str:
    """A planner's order for brackets, through cutting (9 good, 1 scrap, inspected), assembly and packing."""
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=quantity, actor="pia",
                         due_date=(plant.engine.clock.now() + timedelta(days=3)).date())
    plant.run_operation("WC-CUT", "CUT-01", quantity, good=quantity - 1, scrap=1, measured=100.0)
    plant.run_operation("WC-ASSY", "ASSY-01", quantity - 1, good=quantity - 1)
    plant.run_operation("WC-PACK", "PACK-01", quantity - 1, good=quantity - 1)
    return wo.number


def test_work_order_list_and_detail_show_operations_consumed_lots_and_the_produced_lot(pages, plant):
    done = _run_bracket_order(plant)
    late = process.release(plant.engine, item_code="FG-FRAME", quantity=5, priority=80, actor="pia",
                           due_date=(plant.engine.clock.now() - timedelta(days=1)).date())
    pia = pages.login("pia")

    listing = pia.get("/mes/work-orders").text
    assert _element(listing, f"wo-{done}").split()[:8] == [done, "FG-BRACKET", "10", "9", "/", "1", "closed", "—"]
    row = _element(listing, f"wo-{late.number}")
    assert row.startswith(f"{late.number} FG-FRAME 5 0 / 0 in_progress 10 Cut · WC-CUT (queued) 80 overdue")
    assert f'id="wo-{late.number}" class="is-overdue"' in listing
    closed = pia.get("/mes/work-orders?state=closed").text
    assert f"wo-{done}" in closed and f"wo-{late.number}" not in closed

    page = pia.get(f"/mes/work-orders/{done}").text
    assert _element(page, "wo-state") == "closed" and _element(page, "wo-output") == "9 / 1"
    ops = [_element(page, f"op-{seq}").split()[:8] for seq in (10, 20, 30)]
    assert ops == [["10", "Cut", "WC-CUT", "done", "10", "10", "9", "1"],
                   ["20", "Assemble", "WC-ASSY", "done", "9", "9", "9", "0"],
                   ["30", "Pack", "WC-PACK", "done", "9", "9", "9", "0"]]
    assert "CUT-01 / op-anna" in _element(page, "op-10")
    consumed = _element(page, "consumed-lots")
    assert "RM-STEEL OPEN-STEEL-1 5" in consumed  # 10 blanks × 0.5 kg, backflushed at cutting
    assert "RM-BOLT not tracked by lot 36" in consumed  # 9 assembled × 4
    lot = re.search(r'<dd id="wo-lot"><a href="/mes/lots/(\d+)">([^<]+)</a>', page)
    assert lot and lot.group(2) == done

    waiting = pia.get(f"/mes/work-orders/{late.number}").text
    assert _element(waiting, "wo-lot") == "not yet"
    assert _element(waiting, "op-10").split()[:4] == ["10", "Cut", "WC-CUT", "queued"]
    assert pia.get("/mes/work-orders/WO-99999").status_code == 404


def test_lot_genealogy_traces_a_produced_lot_back_and_a_raw_material_lot_forward(pages, plant):
    done = _run_bracket_order(plant)
    quinn = pages.login("sally")  # anybody who works may trace a lot

    found = quinn.get(f"/mes/genealogy?lot={done.lower()}")
    assert found.status_code == 303
    page = quinn.get(found.headers["location"]).text
    made_by = _element(page, "made-by")
    assert "10 Cut WC-CUT CUT-01 op-anna 9 / 1" in made_by and "30 Pack WC-PACK PACK-01 op-anna 9 / 0" in made_by
    assert "pass length_mm = 100" in _element(page, "inspections")
    backward = _element(page, "backward")
    assert "Lot tree OPEN-STEEL-1 RM-STEEL · 5" in backward

    hits = quinn.get("/mes/genealogy?lot=OPEN-STEEL").text
    steel = re.search(r'<a href="(/mes/lots/\d+)">OPEN-STEEL-1</a>', hits)
    assert steel, hits
    forward = _element(quinn.get(steel.group(1)).text, "forward")
    assert f"{done} FG-BRACKET · made by {done} (closed) using 5" in forward
    assert "Not delivered to a customer." in forward
    assert "No lot numbered like “NOPE-1”" in _text(quinn.get("/mes/genealogy?lot=NOPE-1").text)
    assert quinn.get("/mes/lots/999999").status_code == 404
    assert quinn.get("/mes/lots/99999999999").status_code == 422  # past any row id: refused, not a database error


def _board(client: Any, code: str = "WC-CUT") -> str:
    r = client.get(f"/mes/work-centers/{code}")
    assert r.status_code == 200, r.text
    return r.text


def _cards(page: str, column: str) -> list[str]:
    """The operation numbers in one board column, top to bottom."""
    col = re.search(rf'aria-labelledby="{column}-h">(.*?)</section>', page, re.S).group(1)
    return re.findall(r'<h3 id="op-\d+-h"><a [^>]+>([^<]+)</a>', col) or re.findall(r"<h3><a [^>]+>([^<]+)</a>", col)


def test_dispatch_board_by_priority_with_start_and_confirm_for_the_work_centers_operators_only(pages, plant):
    normal = process.release(plant.engine, item_code="FG-BRACKET", quantity=4, priority=40, actor="pia")
    urgent = process.release(plant.engine, item_code="FG-BRACKET", quantity=4, priority=90, actor="pia")
    cara, pia, sally, asha = (pages.login(n) for n in ("cara", "pia", "sally", "asha"))

    board = _board(cara)
    assert _cards(board, "queued") == [f"{urgent.number}/10", f"{normal.number}/10"]
    assert board.count('aria-label="Start ') == 2
    planner = _board(pia)
    assert _cards(planner, "queued") == _cards(board, "queued")
    assert 'aria-label="Start ' not in planner and "Start operation is for operator_WC-CUT" in planner
    assert sally.get("/mes/work-centers/WC-CUT").status_code == 403
    assert asha.get("/mes/work-centers/WC-CUT").status_code == 403
    assert asha.get("/mes", follow_redirects=False).headers["location"] == "/mes/work-centers/WC-ASSY"
    assert "WC-CUT" not in _element(asha.get("/mes/work-centers").text, "main")

    op_id = re.search(rf'id="op-(\d+)" aria-labelledby="op-\d+-h">\s*<h3 id="op-\d+-h"><a [^>]+>{urgent.number}/10',
                      board).group(1)
    refused = pia.post(f"/mes/operations/{op_id}/start", data={"csrf_token": pia.csrf})
    assert refused.status_code == 403 and "this step is for operator_WC-CUT" in refused.text
    assert cara.post(f"/mes/operations/{op_id}/start", data={}).status_code == 403  # no form token
    started = cara.post(f"/mes/operations/{op_id}/start", data={"csrf_token": cara.csrf})
    assert started.status_code == 303
    board = cara.get(started.headers["location"]).text
    assert f"Started: {urgent.number}/10" in board
    assert _cards(board, "running") == [f"{urgent.number}/10"] and _cards(board, "queued") == [f"{normal.number}/10"]
    assert _element(board, f"op-count-{op_id}") == "0"
    assert "Waiting for machine" in _element(board, f"op-{op_id}")

    # The machine runs: its counters start at 500 and 7 (first readings: the baselines), then 501 ... 503 with
    # one reject.
    _signals(plant, "CUT-01", ("state", "Execute"), ("processed", 500), ("defective", 7), ("processed", 501),
             ("processed", 502), ("defective", 8), ("processed", 503))
    board = _board(cara)
    assert _element(board, f"op-count-{op_id}") == "3"
    assert (_element(board, "processed-CUT-01"), _element(board, "good-CUT-01"),
            _element(board, "rejects-CUT-01")) == ("3", "2", "1")
    assert _element(board, "state-CUT-01") == "Execute"
    assert _element(board, "job-CUT-01").split() == ["Job", f"{urgent.number}/10", ":", "3", "of", "4"]
    _signals(plant, "CUT-01", ("processed", 504))  # 4 parts: the operation's quantity, the run ends
    board = _board(cara)
    assert 'aria-label="Confirm ' in board and f'id="good-{op_id}"' in board
    assert re.search(rf'id="good-{op_id}"[^>]* value="4"', board)  # the machine's count

    htmx = {"HX-Request": "true", "X-CSRF-Token": cara.csrf}
    bad = cara.post(f"/mes/operations/{op_id}/confirm", data={"goodQuantity": "-1", "scrapQuantity": "1"},
                    headers=htmx)
    assert bad.status_code == 422
    assert re.search(rf'<p class="field-error" id="good-{op_id}-err">[^<]*at least 0', bad.text), bad.text
    assert 'value="-1"' in bad.text and 'hx-swap-oob="true"' in bad.text
    # The form is valid, but 4 good and 1 scrap are more than the 4 released: the booking sends it back.
    over = cara.post(f"/mes/operations/{op_id}/confirm", data={"goodQuantity": "4", "scrapQuantity": "1"},
                     headers=htmx)
    assert over.status_code == 422 and "is more than the 4 released to it" in _element(over.text, f"op-{op_id}")
    assert "Sent back: " in _element(_board(cara), f"op-{op_id}")  # still there after a reload
    ok = cara.post(f"/mes/operations/{op_id}/confirm", data={"goodQuantity": "3", "scrapQuantity": "1"},
                   headers=htmx)
    assert ok.status_code == 200 and f"Confirmed: {urgent.number}/10" in ok.text
    assert "Waiting for inspection" in _element(ok.text, f"op-{op_id}")
    again = cara.post(f"/mes/operations/{op_id}/confirm", data={"goodQuantity": "4", "csrf_token": cara.csrf})
    assert again.status_code == 409 and "has no open “confirm quantities” step" in again.text

    plant.complete("inspect", {"measuredValue": 100.2}, actor="qa-ben", instance_id=urgent.instance_id)
    board = _board(cara)
    assert _cards(board, "done") == [f"{urgent.number}/10"]
    assert "good 3, scrap 1" in _element(board, f"op-{op_id}")
    assembly = _board(asha, "WC-ASSY")  # the next step is queued there; the other order's waits for cutting
    assert _cards(assembly, "queued") == [f"{urgent.number}/20", f"{normal.number}/20"]
    assert assembly.count('aria-label="Start ') == 1 and "Waiting for previous operation" in assembly


def test_live_stream_sends_the_machine_panel_and_board_when_a_signal_changes_them(pages, plant, monkeypatch):
    wo = process.release(plant.engine, item_code="FG-BRACKET", quantity=4, actor="pia")
    plant.complete("start_operation", actor="cara")
    _signals(plant, "CUT-01", ("state", "Execute"), ("processed", 70))
    cara = pages.login("cara")
    monkeypatch.setattr(mes_pages, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(mes_pages, "STREAM_SECONDS", 2.0)  # the stream ends; the browser would reconnect

    machine_sends = threading.Timer(0.8, _signals, (plant, "CUT-01", ("processed", 72)), {"seconds": 1})
    machine_sends.start()
    stream = cara.get("/mes/work-centers/WC-CUT/live")
    machine_sends.join()
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = _events(stream.text)
    machine = [_text(data) for name, _, data in events if name == "machine-CUT-01"]
    assert len(machine) == 2  # once when connected, once when the counter moved; nothing while unchanged
    assert "Processed 0 Good 0" in machine[0] and "Processed 2 Good 2" in machine[1]
    boards = [data for name, _, data in events if name == "board"]
    assert len(boards) == 2
    assert re.search(r'id="op-count-\d+">0<', boards[0]) and re.search(r'id="op-count-\d+">2<', boards[1])
    assert f"{wo.number}/10" in boards[1] and 'name="csrf_token"' not in boards[1]  # running: nothing to post yet

    # Reconnecting with the last event id: nothing changed, so nothing is sent again.
    resumed = _events(cara.get("/mes/work-centers/WC-CUT/live", headers={"Last-Event-ID": events[-1][1]}).text)
    assert resumed == []
    assert pages.login("asha").get("/mes/work-centers/WC-CUT/live").status_code == 403


def _events(body: str) -> list[tuple[str, str, str]]:
    """(event name, id, HTML) of each server-sent event."""
    found = []
    for block in body.split("\n\n"):
        lines = block.split("\n")
        name = next((x[7:] for x in lines if x.startswith("event: ")), None)
        if name:
            found.append((name, next((x[4:] for x in lines if x.startswith("id: ")), ""),
                          "\n".join(x[6:] for x in lines if x.startswith("data: "))))
    return found


def test_machines_page_and_one_machine_with_its_state_log(pages, plant):
    _signals(plant, "ASSY-01", ("state", "Execute"), ("processed", 10), ("processed", 12), ("stop_reason", "jam"),
             ("state", "Held"))
    pia, cara = pages.login("pia"), pages.login("cara")
    machines = pia.get("/mes/machines").text
    assert [m for m in re.findall(r'id="machine-([A-Z0-9-]+)"', machines)] == ["ASSY-01", "CUT-01", "PACK-01"]
    assert _element(machines, "state-ASSY-01") == "Held"
    # The stop is a downtime, a jam by its reason; the parts came with no job: the machine is flagged.
    assert _element(machines, "downtime-ASSY-01") == "jam Down since 2026-01-05 08:00 UTC: jam"
    assert _element(machines, "unassigned-ASSY-01").startswith("Counting without a job: 2 parts")
    assert 'class="machine-card tone-stopped"' in machines
    assert re.findall(r'id="machine-([A-Z0-9-]+)"', cara.get("/mes/machines").text) == ["CUT-01"]
    one = pia.get("/mes/machines/ASSY-01").text
    assert _element(one, "state-log").split()[:3] == ["State", "From", "To"]
    assert "Held" in _element(one, "state-log") and "Execute" in _element(one, "state-log")
    assert _element(one, "downtimes") == "jam Held: jam · 2026-01-05 08:00 UTC – open"
    assert cara.get("/mes/machines/ASSY-01").status_code == 403


def test_oee_per_work_center_and_shift_with_loss_categories(pages, plant):
    """CUT-01 (10 s ideal cycle) runs 100 s, makes 8 parts of which 1 is a reject, then stands 20 s held:
    availability 100/120, performance 80/100, quality 7/8."""
    clock = plant.engine.clock
    # An operation runs on the machine: parts counted with no job would be unassigned and not in OEE.
    plant.engine.command(lambda s: devices.start_job(s, "WC-CUT", "OP-1", 1000, now=clock.now()))
    ingest(plant.engine, [Signal("CUT-01", "processed", 0, clock.now()), Signal("CUT-01", "defective", 0, clock.now()),
                          Signal("CUT-01", "state", "Execute", clock.now())])
    for n in range(1, 9):
        clock.advance(seconds=12.5)
        batch = [Signal("CUT-01", "processed", n, clock.now())]
        if n == 8:
            batch += [Signal("CUT-01", "defective", 1, clock.now()), Signal("CUT-01", "state", "Held", clock.now())]
        ingest(plant.engine, batch)
    clock.advance(seconds=20)
    ingest(plant.engine, [Signal("CUT-01", "state", "Execute", clock.now())])
    day = clock.now().date().isoformat()

    pia = pages.login("pia")
    page = pia.get(f"/mes/oee?day={day}").text
    cut = _element(page, "oee-WC-CUT")
    kpis = {k: _text(v) for k, v in re.findall(r'data-kpi="(\w+)">(.*?)</dd>', page.split('id="oee-WC-CUT"')[1])[:6]}
    assert kpis == {"oee": "58.3 %", "availability": "83.3 %", "performance": "80.0 %", "quality": "87.5 %",
                    "counts": "7 / 8", "time": "0:01:40 / 0:02:00"}
    # All of it happened in the early shift; the rest of the day has no data from the machine (not planned).
    assert _element(page, "oee-WC-CUT-0600") == "early 06:00–14:00 83.3 % 80.0 % 87.5 % 58.3 % 7 / 8 0:01:40 / 0:02:00"
    assert _element(page, "oee-WC-CUT-1400") == "late 14:00–22:00 — — — — 0 / 0 0:00:00 / 0:00:00"
    losses = {key: _element(page, f"loss-WC-CUT-{key}").split()[-5:] for key in (
        "no_loss", "reject_rework", "reduced_speed", "unplanned_downtime", "setup", "not_scheduled")}
    assert losses == {  # night 00-06, early, late, night 22-24, the day
        "no_loss": ["—", "0:01:10", "—", "—", "0:01:10"], "reject_rework": ["—", "0:00:10", "—", "—", "0:00:10"],
        "reduced_speed": ["—", "0:00:20", "—", "—", "0:00:20"],
        "unplanned_downtime": ["—", "0:00:20", "—", "—", "0:00:20"], "setup": ["—", "—", "—", "—", "—"],
        "not_scheduled": ["6:00:00", "7:58:00", "8:00:00", "2:00:00", "23:58:00"]}
    assert "Unplanned downtime 16.7 %" in cut and "Value-adding (good parts) 58.3 %" in cut
    assert "No production time recorded on this day." in _element(page, "oee-WC-ASSY")
    only = pia.get(f"/mes/oee?day={day}&wc=WC-ASSY").text
    assert 'id="oee-WC-CUT"' not in only and 'id="oee-WC-ASSY"' in only
    assert 'id="oee-WC-ASSY"' not in pages.login("cara").get(f"/mes/oee?day={day}").text
