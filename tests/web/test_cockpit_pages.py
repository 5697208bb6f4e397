"""Cockpit search by business key, state, process and variable value, on both databases."""

from __future__ import annotations

import re

from taktflow.engine import instances
from tests.support import deploy_models


def _ids(html: str) -> list[str]:
    return re.findall(r'name="ids" value="([^"]+)"', html)


def test_instance_search_by_business_key_state_process_and_variable(pages, engine):
    deploy_models(engine, "user_task_flow.bpmn", "message_flow.bpmn")
    a = instances.start(engine, "user_task_flow", business_key="SO-100", variables={"customer": "ACME", "qty": 3})
    b = instances.start(engine, "user_task_flow", business_key="SO-101", variables={"customer": "Nord", "qty": 30})
    c = instances.start(engine, "message_flow", business_key="PO-1", variables={"orderId": "PO-1"})
    instances.cancel(engine, b.instance.id, actor="t")
    olga = pages.login("olga")
    assert sorted(_ids(olga.get("/cockpit/instances?business_key=SO-10").text)) == sorted(
        [a.instance.id, b.instance.id])
    assert _ids(olga.get("/cockpit/instances?state=active&process=user_task_flow").text) == [a.instance.id]
    assert _ids(olga.get("/cockpit/instances?variable=customer&value=ACME").text) == [a.instance.id]
    assert _ids(olga.get("/cockpit/instances?variable=qty&value=3").text) == [a.instance.id]  # a number as text
    assert _ids(olga.get("/cockpit/instances?variable=orderId").text) == [c.instance.id]
    overview = olga.get("/cockpit").text
    assert "user_task_flow" in overview and "v1 (1)" in overview
    page = olga.get(f"/cockpit/instances/{a.instance.id}").text
    assert '"active": ["review"]' in page and "SO-100" in page
