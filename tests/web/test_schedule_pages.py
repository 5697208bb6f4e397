"""Schedule screens: the Gantt per work center (server-rendered SVG), the reschedule banner on the schedule and
the dispatch board, plan vs actual per operation. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select

from taktflow.handlers.devices.service import Signal, ingest, register_device
from taktflow.handlers.mes.operation import service as operations
from taktflow.handlers.mes.operation.models import Operation
from taktflow.handlers.mes.scheduling.job_shop import load_job_shop


def _plant(engine) -> list[str]:
    def seed(session):
        orders = load_job_shop(session, prefix="G", now=engine.clock.now(),
                               jobs=[[("WC-A", 30), ("WC-B", 20)], [("WC-B", 40), ("WC-A", 10)]])
        for wc in ("WC-A", "WC-B"):
            register_device(session, f"{wc}-M1", wc, ideal_cycle_seconds=10)
        return [wo.number for wo in orders]

    return engine.command(seed)


def test_gantt_per_work_center_after_making_a_schedule(pages, engine):
    first, second = _plant(engine)
    ada, sally = pages.login("ada"), pages.login("sally")
    empty = ada.get("/mes/schedule")
    assert empty.status_code == 200 and "No schedule yet" in empty.text
    assert 'href="/mes/schedule"' in empty.text  # in the MES nav

    made = ada.post("/mes/schedule", data={"objective": "makespan", "timeLimitSeconds": "5"},
                    headers={"HX-Request": "true", "X-CSRF-Token": ada.csrf})
    assert made.status_code == 200 and "<html" not in made.text  # the block only
    assert re.search(r"Schedule \d+ made", made.text)
    for wc in ("WC-A", "WC-B"):
        svg = re.search(rf'id="gantt-{wc}".*?<svg(.*?)</svg>', made.text, re.S).group(1)
        assert len(re.findall(r"<rect ", svg)) == 2  # one bar per operation at this work center
        assert f"{wc}-M1" in svg
    assert f"{first}/10" in made.text and f"{second}/20" in made.text
    assert 'data-kpi="makespan">60 min' in made.text  # WC-B has 60 minutes of work: the optimum

    board = ada.get("/mes/work-centers/WC-B").text  # the dispatch board shows where the schedule puts each card
    assert re.search(rf'{second}/10</a>.*?Planned [^<]* – \d\d:\d\d on WC-B-M1', board, re.S)
    page = sally.get("/mes/schedule")  # a worker reads it but cannot make one
    assert 'id="gantt-WC-A"' in page.text and "Make a schedule" not in page.text
    assert sally.post("/mes/schedule", data={"csrf_token": sally.csrf}).status_code == 403

    ingest(engine, [Signal("WC-A-M1", "state", "Held", engine.clock.now())])
    for url in ("/mes/schedule", "/mes/work-centers/WC-A"):
        text = ada.get(url).text
        assert "The schedule no longer holds" in text and "machine WC-A-M1 is Held" in text, url
        assert 'hx-post="/mes/schedule"' in text and ">Reschedule</button>" in text
    assert "machine WC-A-M1" not in ada.get("/mes/work-centers/WC-B").text  # WC-B's board: not its machine


def test_plan_vs_actual_shows_lateness_and_adherence(pages, engine, clock):
    first, _ = _plant(engine)
    ada = pages.login("ada")
    ada.post("/mes/schedule", data={"objective": "makespan", "timeLimitSeconds": "5", "csrf_token": ada.csrf})
    clock.advance(minutes=5)

    def run_first(session):
        op = session.scalar(select(Operation).where(Operation.work_order.has(number=first), Operation.seq == 10))
        operations.dispatch_next(session, op.work_order, engine.clock.now())
        operations.start(session, op, operator="anna", now=engine.clock.now())
        return op.id

    op_id = engine.command(run_first)
    clock.advance(minutes=40)  # planned 30 minutes
    engine.command(lambda s: operations.confirm(s, s.get(Operation, op_id), good=1, scrap=0, operator="anna",
                                                now=engine.clock.now(), key="page:confirm"))
    page = ada.get("/mes/schedule/adherence")
    row = re.search(rf'<tr id="adherence-{op_id}">(.*?)</tr>', page.text, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    planned_start_at = cells.index("confirmed") + 1
    start_late, end_late, adherence = cells[planned_start_at + 2], cells[planned_start_at + 5], cells[-1]
    assert start_late == "+5" and adherence == "75.0 %"  # 30 planned ÷ 40 actual
    assert int(end_late.lstrip("+")) > 0
    assert "0 of 1 finished operations ended on time" in page.text
