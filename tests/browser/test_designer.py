"""Designer: change a deployed model in the modeler's properties panel, deploy it, see the new version;
a model that breaks a rule is refused with the problem shown on its element."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import login, shot


def _open_assess(page):
    page.goto("/designer/processes/maintenance_request")
    expect(page.locator('#canvas[data-ready="true"]')).to_be_visible()
    page.locator('.djs-element[data-element-id="assess"]').click()
    expect(page.locator(".bio-properties-panel-header-label")).to_have_text("Assess request")


def _panel_input(page, group: str, name: str):
    """An input of the properties panel, opening its (collapsible) group first."""
    field = page.locator(f"#bio-properties-panel-{name}")
    if not field.is_visible():
        page.locator(".bio-properties-panel-group-header", has_text=group).first.click()
    expect(field).to_be_visible()
    return field


def test_deploy_a_changed_model_from_the_modeler_and_see_the_new_version(page, site):
    login(page, "dora")
    page.get_by_role("link", name="Designer").click()
    page.get_by_role("link", name="Maintenance request").click()
    expect(page.locator('#canvas[data-ready="true"]')).to_be_visible()
    versions_before = [d["version"] for d in site.api.get("/api/v1/process-definitions").json()
                       if d["key"] == "maintenance_request"]
    _open_assess(page)
    groups = _panel_input(page, "User assignment", "candidateGroups")
    groups.fill("maintenance, quality")
    groups.press("Tab")
    shot(page, site, "designer-properties")
    page.get_by_role("button", name="Deploy as new version").click()

    new_version = max(versions_before) + 1
    expect(page.locator("#deploy-message")).to_contain_text(f"Deployed maintenance_request as version {new_version}.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"version {new_version}")
    expect(page.locator('#canvas[data-ready="true"]')).to_be_visible()
    assert max(d["version"] for d in site.api.get("/api/v1/process-definitions").json()
               if d["key"] == "maintenance_request") == new_version
    started = site.start("maintenance_request", "MR-DESIGN-1", {"machine": "CNC-01"})
    [task] = site.api.get("/api/v1/tasks", params={"processInstanceId": started["id"]}).json()
    assert task["candidateGroups"] == ["maintenance", "quality"]


def test_a_model_breaking_a_rule_is_refused_and_the_problem_is_shown_on_its_element(page, site):
    login(page, "dora")
    _open_assess(page)
    versions_before = len(site.api.get("/api/v1/process-definitions").json())
    # A second blank start event, drawn through the modeler's API: ambiguous, so the engine refuses it.
    second = page.evaluate("""() => {
        const m = window.taktflowModeler, root = m.get('canvas').getRootElement();
        return m.get('modeling').createShape({type: 'bpmn:StartEvent'}, {x: 170, y: 420}, root).id; }""")
    page.get_by_role("button", name="Deploy as new version").click()

    problems = page.locator("#model-problem-list")
    expect(problems).to_contain_text("The model was not deployed")
    expect(problems).to_contain_text("[single-blank-start-event]")
    expect(page.locator('#canvas[data-ready="true"]')).to_be_visible()
    expect(page.locator(f'.djs-element.tf-lint-error[data-element-id="{second}"]')).to_have_count(1)
    expect(page.locator(".tf-lint", has_text="blank start events")).to_have_count(1)
    shot(page, site, "designer-lint-error")
    assert len(site.api.get("/api/v1/process-definitions").json()) == versions_before
    # The edited model is still open, the new element included: removing it and deploying again works.
    page.evaluate("""(id) => { const m = window.taktflowModeler;
        m.get('modeling').removeShape(m.get('elementRegistry').get(id)); }""", second)
    page.get_by_role("button", name="Deploy as new version").click()
    expect(page.locator("#deploy-message")).to_contain_text("maintenance_request")


def test_decision_tables_open_in_the_dmn_modeler(page, site):
    login(page, "dora")
    page.goto("/designer")
    page.get_by_label("Key").fill("approval_rule")
    page.get_by_label("Kind").select_option("dmn")
    page.get_by_role("button", name="Create").click()
    expect(page.locator('#canvas[data-ready="true"]')).to_be_visible()
    expect(page.locator(".tjs-table")).to_be_visible()
    page.get_by_role("button", name="Deploy as new version").click()
    expect(page.locator("#deploy-message")).to_have_text("Deployed approval_rule as version 1.")
    shot(page, site, "designer-dmn")
