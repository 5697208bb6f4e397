"""ERP order pages act: lists page by number, amounts carry the currency, order pages offer the next steps their
state allows (and say a refusal on the page, booking nothing), and the pick task shows its pick list."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import taktflow.handlers.erp  # noqa: F401 - registers the ERP handlers
from taktflow.engine import instances
from taktflow.engine.handlers import registry as global_registry
from taktflow.handlers.erp.documents import money_text
from taktflow.handlers.erp.invoicing.models import Payment
from taktflow.handlers.erp.ledger.models import JournalEntry
from taktflow.handlers.erp.sales.models import Delivery, SalesOrder
from taktflow.handlers.erp.sales.service import place_sales_order
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.erp.stock import service as stock
from tests.erp.conftest import deploy_erp
from tests.erp.flow import complete

LINES = [{"itemCode": "FG-BRACKET", "quantity": 4}, {"itemCode": "MR-GLOVES", "quantity": 10}]  # 165 net + 19 %


@pytest.fixture
def registry():
    return global_registry  # the real ERP handlers run the order-to-cash service tasks


@pytest.fixture
def o2c(engine):
    engine.command(lambda s: seed_master_data(s, engine.clock.now()))
    deploy_erp(engine)
    return engine


def _task_id(engine, number: str, element: str) -> str:
    from taktflow.engine.store.models import UserTask

    with engine.db.read() as s:
        return s.scalar(select(UserTask.id).where(UserTask.business_key == number, UserTask.element_id == element))


def test_money_is_written_with_the_company_currency(monkeypatch):
    assert money_text("1071") == "1,071.00 EUR"
    monkeypatch.setenv("TAKTFLOW_CURRENCY", "chf")
    assert money_text("1234567.5") == "1,234,567.50 CHF"
    monkeypatch.setenv("TAKTFLOW_CURRENCY", "euro")
    with pytest.raises(ValueError, match="three-letter"):
        money_text("1")


def test_sales_orders_page_by_number_and_htmx_swaps_only_the_results(pages, o2c):
    numbers = [place_sales_order(o2c, customer="C-ACME", lines=[{"itemCode": "MR-GLOVES", "quantity": 1}])[1]
               for _ in range(27)]
    sally = pages.login("sally")
    first = sally.get("/erp/sales").text
    shown = re.findall(r'<a href="/erp/sales/(SO-\d{5})">\1</a>', first)
    assert shown == numbers[::-1][:25]  # newest first, 25 a page, by number
    assert "27 sales orders · page 1 of 2" in first and "7.74 EUR" in first  # 6.50 + 19 %
    assert 'href="/erp/sales?page=2" rel="next"' in first
    second = sally.get("/erp/sales?page=2").text
    assert re.findall(r'<a href="/erp/sales/(SO-\d{5})">', second) == numbers[1::-1]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    fragment = sally.get("/erp/sales?page=2", headers={"HX-Request": "true", "HX-Target": "erp-results"}).text
    assert fragment.lstrip().startswith("<section") and "<nav" not in fragment.split('id="erp-results"')[0]
    assert re.findall(r'/erp/sales/(SO-\d{5})"', fragment) == numbers[1::-1]
    found = sally.get(f"/erp/sales?q={numbers[3][-2:]}").text  # part of a number finds it
    assert numbers[3] in found
    for path in ("/erp/deliveries", "/erp/invoices", "/erp/purchasing", "/erp/requisitions",
                 "/erp/receipts", "/erp/vendor-bills", "/erp/stock", "/erp/moves"):
        r = sally.get(path)
        assert r.status_code == 200, path
    fiona = pages.login("fiona")
    for path in ("/erp/payments", "/erp/ledger"):  # the books are for finance
        assert sally.get(path).status_code == 403 and fiona.get(path).status_code == 200, path
    deliveries = sally.get("/erp/deliveries").text
    assert f'<a href="/erp/sales/{numbers[-1]}">{numbers[-1]}</a>' in deliveries  # the order's number, not its id
    assert "27 deliveries · page 1 of 2" in deliveries


def test_order_page_ships_through_the_pick_task_and_records_a_payment(pages, o2c):
    _, number, _ = place_sales_order(o2c, customer="C-ACME", lines=LINES)
    sally, walter = pages.login("sally"), pages.login("walter")
    page = sally.get(f"/erp/sales/{number}").text
    assert "196.35 EUR" in page and "25.00 EUR" in page and "FG-BRACKET" in page
    assert re.search(rf'<form method="post" action="/erp/sales/{number}/cancel"', page)
    pick = _task_id(o2c, number, "pick_and_ship")
    assert f'href="/tasks/{pick}">Pick and ship</a>' in page  # the process's step is a link to its task
    assert "Record payment" not in page  # nothing invoiced yet

    task = walter.get(f"/tasks/{pick}").text
    rows = re.findall(r'<td data-label="Item">([A-Z-]+) <small>.*?</small></td>\s*'
                      r'<td data-label="Quantity" class="num">([\d.]+) (\w+)</td>\s*'
                      r'<td data-label="Bin">([^<]+)</td>\s*<td data-label="Lot">([^<]+)</td>', task)
    assert rows == [("FG-BRACKET", "4", "pcs", "WH1/STOCK", "OPEN-BRK-1"), ("MR-GLOVES", "10", "pcs", "WH1/STOCK", "—")]

    with o2c.db.read() as s:
        iid = s.scalar(select(SalesOrder.instance_id).where(SalesOrder.number == number))
    complete(o2c, iid, "pick_and_ship")
    page = sally.get(f"/erp/sales/{number}").text
    assert "Cancel order" not in page  # delivered: the state no longer allows it
    assert "Record payment" not in page  # a worker does not book payments: finance does
    fiona = pages.login("fiona")
    assert sally.post(f"/erp/sales/{number}/pay", data={"amount": "196.35", "csrf_token": sally.csrf}
                      ).status_code == 403
    page = fiona.get(f"/erp/sales/{number}").text
    assert re.search(r'name="amount" value="196.35"', page) and "Record payment" in page
    assert re.search(r"JE-\d{5}", page)  # the goods issue and invoice entries, by number

    def paid() -> int:
        with o2c.db.read() as s:
            return s.scalar(select(func.count()).select_from(Payment))

    def entries() -> int:
        with o2c.db.read() as s:
            return s.scalar(select(func.count()).select_from(JournalEntry))
    before = entries()
    refused = fiona.post(f"/erp/sales/{number}/pay", data={"amount": "999", "csrf_token": fiona.csrf},
                         headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "exceeds what" in refused.text and 'role="alert"' in refused.text
    assert refused.text.lstrip().startswith('<div id="document-detail">')  # the fragment, re-rendered
    assert paid() == 0 and entries() == before
    bad = fiona.post(f"/erp/sales/{number}/pay", data={"amount": "lots", "csrf_token": fiona.csrf})
    assert bad.status_code == 422 and "must be a number" in bad.text
    done = fiona.post(f"/erp/sales/{number}/pay", data={"amount": "196.35", "reference": "bank 4711",
                                                      "csrf_token": fiona.csrf})
    assert done.status_code == 303 and done.headers["location"].startswith(f"/erp/sales/{number}?msg=")
    page = fiona.get(done.headers["location"]).text
    assert "Payment recorded" in page and "state-closed" in page and "bank 4711" in page
    assert paid() == 1 and entries() == before + 1


def test_cancel_gives_the_stock_back_and_ends_the_process_and_a_second_cancel_is_refused(pages, o2c):
    _, number, iid = place_sales_order(o2c, customer="C-ACME", lines=LINES)
    sally = pages.login("sally")

    def reserved() -> float:
        with o2c.db.read() as s:
            loc = stock.location_by_code(s, "WH1/STOCK").id
            return sum(float(r.reserved) for r in stock.stock_levels(s, location_id=loc))

    assert reserved() == 14
    r = sally.post(f"/erp/sales/{number}/cancel", data={"csrf_token": sally.csrf}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and f"Cancelled: {number}" in r.text and "state-cancelled" in r.text
    assert reserved() == 0
    with o2c.db.read() as s:
        assert instances.get(s, iid).state == "cancelled"
        assert s.scalar(select(Delivery.state).where(Delivery.number.is_not(None))) == "cancelled"
    again = sally.post(f"/erp/sales/{number}/cancel", data={"csrf_token": sally.csrf})
    assert again.status_code == 409 and f"sales order {number} is cancelled: cannot cancel" in again.text
    no_token = sally.post(f"/erp/sales/{number}/cancel")
    assert no_token.status_code == 403
    assert sally.get("/erp/sales/SO-99999").status_code == 404


def test_purchase_order_page_shows_receipts_by_number_and_cancel_only_while_nothing_arrived(pages, o2c):
    from taktflow.handlers.erp.purchasing.models import PurchaseOrder
    from taktflow.handlers.erp.purchasing.service import raise_requisition

    _, _, first = raise_requisition(o2c, supplier="S-STEEL", lines=[{"itemCode": "RM-STEEL", "quantity": 200}])
    _, _, second = raise_requisition(o2c, supplier="S-STEEL", lines=[{"itemCode": "RM-STEEL", "quantity": 100}])
    with o2c.db.read() as s:
        numbers = {o.instance_id: o.number for o in s.scalars(select(PurchaseOrder))}
    complete(o2c, first, "receive_goods", {"receiveAll": False, "receivedQuantities": {"RM-STEEL": 120}})
    sally = pages.login("sally")
    listing = sally.get("/erp/purchasing").text
    assert f'<a href="/erp/purchasing/{numbers[first]}">{numbers[first]}</a>' in listing
    received = sally.get(f"/erp/purchasing/{numbers[first]}").text
    assert re.search(r"GR-\d{5} .*?120 × RM-STEEL lot ", received) and "500.00 EUR" in received
    assert "Cancel order" not in received and "Receive goods</a>" in received  # partly received: the task remains
    receipts = sally.get("/erp/receipts").text
    assert f'<a href="/erp/purchasing/{numbers[first]}">{numbers[first]}</a>' in receipts

    r = sally.post(f"/erp/purchasing/{numbers[second]}/cancel", data={"csrf_token": sally.csrf})
    assert r.status_code == 303
    page = sally.get(r.headers["location"]).text
    assert f"Cancelled: {numbers[second]}" in page and "state-cancelled" in page
    with o2c.db.read() as s:
        assert instances.get(s, second).state == "cancelled"
    refused = sally.post(f"/erp/purchasing/{numbers[first]}/cancel", data={"csrf_token": sally.csrf},
                         headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "is partially_received: cannot cancel" in refused.text
