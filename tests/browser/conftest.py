"""Browser tests: a real `taktflow serve` process (SQLite and PostgreSQL) driven by Debian's Chromium.

They run in their own pytest process (scripts/test.sh): sync Playwright owns an event loop that would
break asyncio tests sharing the process.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from taktflow.engine.clock import SystemClock
from taktflow.engine.core import Engine
from taktflow.engine.store.db import Database
from taktflow.handlers.devices.demo import seed_devices
from taktflow.handlers.erp.seed import seed_master_data
from taktflow.handlers.mes.demo import seed_plant
from taktflow.web.auth.service import create_token, create_user
from tests.support.server import REPO, Server, cli_env

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MODELS = Path(__file__).resolve().parent / "models"
SCREENSHOTS = REPO / "test-output" / "screenshots"
PASSWORD = "correct-horse-42"
ADMIN_TOKEN = "tf_browser_admin"  # noqa: S105 - a throwaway test database
USERS = {  # name: (role, groups)
    "sally": ("worker", ["sales"]),
    "walter": ("worker", ["warehouse"]),
    "olga": ("operator", ["operations"]),
    "dora": ("designer", ["designer"]),
    "ada": ("admin", ["admin"]),
    "fiona": ("accountant", ["accounts_payable"]),
}


@dataclass
class Site:
    url: str
    backend: str
    stock_online: Path
    api: httpx.Client

    def start(self, key: str, business_key: str, variables: dict | None = None) -> dict:
        r = self.api.post(f"/api/v1/process-definitions/{key}/start",
                          json={"businessKey": business_key, "variables": variables or {}})
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="session")
def site(backend: str, database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp(f"site-{backend}")
    engine = Engine(database, clock=SystemClock())

    def seed(session: object) -> None:
        for name, (role, groups) in USERS.items():
            create_user(session, name, PASSWORD, groups, role, engine.clock.now())
        create_token(session, "browser-tests", "admin", engine.clock.now(), token=ADMIN_TOKEN)

    engine.command(seed)
    env = cli_env(database.url, TAKTFLOW_PROCESSES_DIR=str(MODELS),
                  TAKTFLOW_HANDLER_MODULES="tests.browser.handlers",
                  TAKTFLOW_TEST_STOCK_ONLINE=str(tmp / "stock-online"))
    server = Server(env, tmp / "server.log")
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                          timeout=30) as api:
            yield Site(server.url, backend, tmp / "stock-online", api)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs the Debian chromium package")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session", autouse=True)
def screenshots_dir() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def shot(page: Page, site: Site, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{site.backend}-{name}.png"), full_page=True)


def login(page: Page, name: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


PROCESSES = REPO / "processes"


def open_plant(site: Site, database: Database, models: tuple[str, ...], people: dict[str, tuple[str, list[str]]],
               *, devices: bool = False) -> Site:
    """The demo plant in the server's database (ERP master data, work centers, optionally machines), the
    given people as (role, groups) and the given models from processes/ deployed through the API."""
    engine = Engine(database, clock=SystemClock())

    def seed(session: object) -> None:
        seed_master_data(session, engine.clock.now())
        seed_plant(session)
        if devices:
            seed_devices(session)
        for name, (role, groups) in people.items():
            create_user(session, name, PASSWORD, groups, role, engine.clock.now())

    engine.command(seed)
    files = [("files", (name, (PROCESSES / name).read_bytes())) for name in models]
    site.api.post("/api/v1/deployments", files=files).raise_for_status()
    return site
