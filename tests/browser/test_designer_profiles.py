"""Designer: a plain bpmn.io model (message event without operationRef) deploys with its warnings listed and
marked on the diagram; an error in the same model is refused and shown apart from the warnings."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import login, shot

PLAIN = Path(__file__).resolve().parents[1] / "models" / "foreign" / "bpmnio_order_message.bpmn"


def test_deploying_a_plain_model_shows_warnings_and_errors_apart(page, site):
    # Under the default standard profile the API deploys it and returns the warning; strict refuses it.
    files = [("files", (PLAIN.name, PLAIN.read_bytes(), "application/xml"))]
    strict = site.api.post("/api/v1/deployments?profile=strict", files=files)
    assert strict.status_code == 422 and "EXT128" in strict.text
    deployed = site.api.post("/api/v1/deployments", files=files)
    assert deployed.status_code in (200, 201), deployed.text
    assert [(w["element"], w["rule"], w["severity"]) for w in deployed.json()["warnings"]] == [
        ("wait_payment", "EXT128", "warning")]

    login(page, "dora")
    page.goto("/designer/processes/bpmnio_order")
    expect(page.locator('#canvas[data-ready="true"]')).to_be_visible()
    warnings = page.locator("#model-warning-list")
    expect(warnings).to_contain_text("1 warning")
    expect(warnings).to_contain_text("[EXT128]")
    expect(page.locator("#model-problem-list")).to_have_count(0)
    expect(page.locator('.djs-element.tf-lint-warning[data-element-id="wait_payment"]')).to_have_count(1)
    shot(page, site, "designer-warnings")

    # Deploying it again from the modeler: no change, and the warning is still listed, not an error.
    page.get_by_role("button", name="Deploy as new version").click()
    expect(page.locator("#deploy-message")).to_contain_text("bpmnio_order")
    expect(page.locator("#model-warning-list")).to_contain_text("[EXT128]")

    # An element that breaks an execution rule: refused, the error listed apart from the warning.
    second = page.evaluate("""() => {
        const m = window.taktflowModeler, root = m.get('canvas').getRootElement();
        return m.get('modeling').createShape({type: 'bpmn:StartEvent'}, {x: 170, y: 320}, root).id; }""")
    page.get_by_role("button", name="Deploy as new version").click()
    errors = page.locator("#model-problem-list")
    expect(errors).to_contain_text("The model was not deployed")
    expect(errors.locator(".severity.error").first).to_be_visible()
    expect(page.locator(f'.djs-element.tf-lint-error[data-element-id="{second}"]')).to_have_count(1)
    shot(page, site, "designer-errors-and-warnings")
