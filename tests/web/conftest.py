"""Page tests without a browser: a TestClient logged in as a person, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from taktflow.bootstrap import Runtime
from taktflow.config import Settings
from taktflow.web.app import create_app
from taktflow.web.auth.service import create_user

PASSWORD = "correct-horse-42"
PEOPLE = {"sally": ("worker", ["sales"]), "walter": ("worker", ["warehouse"]), "olga": ("operator", []),
          "dora": ("designer", []), "ada": ("admin", ["admin"]), "fiona": ("accountant", ["accounts_payable"])}


class Pages:
    """A browser stand-in: keeps cookies, logs in, and echoes the page's form token."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.clients: dict[str, TestClient] = {}

    def login(self, name: str, password: str = PASSWORD) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        form = client.get("/login")
        token = csrf_of(form.text)
        r = client.post("/login", data={"username": name, "password": password, "csrf_token": token})
        assert r.status_code == 303, r.text
        client.csrf = csrf_of(client.get("/inbox").text)
        return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def pages(engine, database_url, tmp_path):
    runtime = Runtime(Settings(database_url=database_url, processes_dir=tmp_path), engine.db, engine)
    engine.command(lambda s: [create_user(s, n, PASSWORD, g, r, engine.clock.now()) for n, (r, g) in PEOPLE.items()])
    app = create_app(runtime)
    with TestClient(app):
        yield Pages(app)
