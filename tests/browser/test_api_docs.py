"""The API reference at /docs renders in a browser with no internet: Swagger UI comes from the server."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import expect

from tests.browser.conftest import shot


def test_api_reference_renders_offline_from_the_servers_own_assets(page, site):
    server = urlparse(site.url).netloc
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if urlparse(r.url).netloc != server else None)
    page.goto("/docs")
    start = page.locator(".opblock", has_text="/api/v1/process-definitions/{key}/start")
    expect(start.first).to_be_visible()
    start.first.locator(".opblock-summary").click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    shot(page, site, "api-docs")
    assert elsewhere == [], f"/docs fetched from outside the server: {elsewhere}"
