"""The ERP REST API: an outside system can place orders and reconcile the books itself; bad input is a 4xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_token
from tests.erp.conftest import deploy_erp
from tests.erp.flow import complete


@pytest.fixture
def api(erp, database_url, tmp_path):
    deploy_erp(erp.engine)
    runtime = Runtime(Settings(database_url=database_url, processes_dir=tmp_path), erp.engine.db, erp.engine)
    # An order-entry system working the warehouse's tasks, and the finance system that reads the books.
    token = erp.command(lambda s: create_token(s, "erp-client", "worker", erp.engine.clock.now(), groups=["warehouse"]))
    books = erp.command(lambda s: create_token(s, "finance-client", "accountant", erp.engine.clock.now()))
    with TestClient(create_app(runtime)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        client.finance = {"Authorization": f"Bearer {books}"}
        yield client


def test_order_through_the_api_and_books_an_outsider_can_reconcile(api, erp):
    r = api.post("/api/v1/sales-orders", json={"customerCode": "C-ACME",
                                               "lines": [{"itemCode": "FG-FRAME", "quantity": 2}]})
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["state"], order["total"]) == ("confirmed", 214.2)
    complete(erp.engine, order["processInstanceId"], "pick_and_ship")
    entries = api.get("/api/v1/ledger/journal-entries",
                      params={"processInstanceId": order["processInstanceId"]}, headers=api.finance).json()
    assert [e["document"]["type"] for e in entries] == ["delivery", "customer_invoice"]
    assert entries[1]["lines"][0] == {"account": "1100", "debit": 214.2, "credit": 0.0,
                                      "partnerId": order["customerId"], "itemId": None, "label": None}
    tb = api.get("/api/v1/ledger/trial-balance", headers=api.finance).json()
    assert tb["totalDebit"] == tb["totalCredit"]
    stock = {(s["item"], s["location"]): (s["quantity"], s["reserved"]) for s in api.get("/api/v1/stock").json()}
    assert stock[("FG-FRAME", "WH1/STOCK")] == (48.0, 0.0)
    moves = api.get("/api/v1/stock/moves", params={"documentType": "delivery"}).json()
    assert [(m["quantity"], m["value"]) for m in moves] == [(2.0, 80.0)]
    r = api.post(f"/api/v1/sales-orders/{order['id']}/payments", json={"amount": 214.2}, headers=api.finance)
    assert r.status_code == 200
    assert api.get(f"/api/v1/sales-orders/{order['id']}").json()["state"] == "closed"


@pytest.mark.parametrize("body, status, message", [
    ({"customerCode": "C-ACME", "lines": [{"itemCode": "NOPE", "quantity": 1}]}, 422, "item NOPE does not exist"),
    ({"customerCode": "C-ACME", "lines": [{"itemCode": "FG-FRAME", "quantity": "x"}]}, 422, "must be a number"),
    ({"customerCode": "S-STEEL", "lines": [{"itemCode": "FG-FRAME", "quantity": 1}]}, 422, "not a customer"),
    ({"lines": [{"itemCode": "FG-FRAME", "quantity": 1}]}, 422, "name the customer"),
])
def test_bad_orders_are_refused_with_a_message_and_nothing_is_booked(api, body, status, message):
    before = api.get("/api/v1/ledger/journal-entries", params={"limit": 1000}, headers=api.finance).json()
    r = api.post("/api/v1/sales-orders", json=body)
    assert r.status_code == status and message in r.json()["detail"]
    assert api.get("/api/v1/sales-orders").json() == []
    assert api.get("/api/v1/ledger/journal-entries", params={"limit": 1000}, headers=api.finance).json() == before


def test_master_data_and_document_lists(api):
    suppliers = api.get("/api/v1/partners", params={"role": "supplier"}).json()
    assert {p["code"] for p in suppliers} == {"S-STEEL", "S-PARTS"}
    assert "WH1/WIP" in {loc["code"] for loc in api.get("/api/v1/locations").json()}
    r = api.post("/api/v1/requisitions", json={"supplierCode": "S-PARTS", "lines": [{"itemCode": "RM-BOLT",
                                                                                      "quantity": 100}]})
    assert r.status_code == 201 and r.json()["state"] == "ordered"
    [po] = api.get("/api/v1/purchase-orders").json()
    assert po["allowedActions"] == ["cancel", "receive_fully", "receive_partially"]
    bill = {"lines": [{"itemCode": "RM-BOLT", "quantity": 100}]}
    assert api.post(f"/api/v1/purchase-orders/{po['id']}/vendor-bills", json=bill).status_code == 403  # worker
    r = api.post(f"/api/v1/purchase-orders/{po['id']}/vendor-bills", json=bill, headers=api.finance)
    assert r.status_code == 422 and "unit price" in r.json()["detail"]
    assert api.get("/api/v1/sales-orders/999").status_code == 404
    assert api.post("/api/v1/partners", json={"code": "X", "name": "X"}).status_code == 403  # worker role


def test_a_task_takes_only_the_variables_its_form_declares(api, erp):
    """Completing order A's pick task with order B's deliveryId must not ship or invoice order B."""
    a, b = (api.post("/api/v1/sales-orders", json={"customerCode": "C-ACME",
                                                   "lines": [{"itemCode": "FG-FRAME", "quantity": q}]}).json()
            for q in (1, 2))
    b_delivery = api.get(f"/api/v1/process-instances/{b['processInstanceId']}").json()["variables"]["deliveryId"]
    books = api.get("/api/v1/ledger/journal-entries", params={"limit": 1000}, headers=api.finance).json()
    [task] = api.get("/api/v1/tasks", params={"processInstanceId": a["processInstanceId"]}).json()
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"deliveryId": b_delivery}})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "deliveryId", "message": "is not a variable this task's form declares"}]
    assert api.get("/api/v1/stock/moves", params={"documentType": "delivery"}).json() == []
    assert api.get("/api/v1/ledger/journal-entries", params={"limit": 1000}, headers=api.finance).json() == books
    assert [t["id"] for t in api.get("/api/v1/tasks", params={"processInstanceId": a["processInstanceId"]}).json()] \
        == [task["id"]]
    # The declared field still works: A ships with the quantities the picker entered, B stays unshipped.
    r = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})
    assert r.status_code == 200, r.text
    assert [api.get(f"/api/v1/sales-orders/{o['id']}").json()["state"] for o in (a, b)] == ["delivered", "confirmed"]


def test_the_books_and_payments_are_for_finance(api):
    """A worker token books orders but neither reads the ledger nor records payments; finance does both."""
    order = api.post("/api/v1/sales-orders", json={"customerCode": "C-ACME",
                                                   "lines": [{"itemCode": "FG-FRAME", "quantity": 1}]}).json()
    for path in ("/api/v1/ledger/accounts", "/api/v1/ledger/journal-entries", "/api/v1/ledger/trial-balance",
                 "/api/v1/ledger/accounts/1100/lines", "/api/v1/payments"):
        r = api.get(path)
        assert r.status_code == 403 and r.json()["detail"] == "role 'worker' may not finance", path
        assert api.get(path, headers=api.finance).status_code == 200, path
    r = api.post(f"/api/v1/sales-orders/{order['id']}/payments", json={"amount": 107.1})
    assert r.status_code == 403
    assert api.get("/api/v1/payments", headers=api.finance).json() == []
