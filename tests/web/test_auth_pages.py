"""Login, sessions, CSRF and roles on the pages; the CLI that adds people."""

from __future__ import annotations

from sqlalchemy import select

from taktflow.web.auth.models import UserAccount, WebSession
from taktflow.web.auth.service import authenticate
from tests.support.server import cli_env, run_cli
from tests.web.conftest import PASSWORD, csrf_of


def test_passwords_are_stored_as_argon2_hashes_and_checked(pages, engine):
    with engine.db.read() as session:
        user = session.scalar(select(UserAccount).where(UserAccount.name == "sally"))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert authenticate(session, "sally", PASSWORD).name == "sally"
        assert authenticate(session, "sally", "nope") is None
        assert authenticate(session, "nobody", PASSWORD) is None


def test_login_needs_the_login_forms_token_and_a_right_password(pages):
    from fastapi.testclient import TestClient

    client = TestClient(pages.app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"username": "sally", "password": PASSWORD}).status_code == 403
    r = client.post("/login", data={"username": "sally", "password": "wrong", "csrf_token": token})
    assert r.status_code == 401 and "wrong password" in r.text
    r = client.post("/login", data={"username": "sally", "password": PASSWORD, "csrf_token": token,
                                    "next": "https://evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect: home, by role
    assert "taktflow_session" in r.cookies


def test_logout_ends_the_session_on_the_server(pages, engine):
    client = pages.login("sally")
    cookie = client.cookies["taktflow_session"]
    assert client.post("/logout", data={}).status_code == 403  # no form token
    assert client.post("/logout", data={"csrf_token": client.csrf}).headers["location"] == "/login"
    with engine.db.read() as session:
        assert session.scalars(select(WebSession)).all() == []
    client.cookies.set("taktflow_session", cookie)  # a stolen cookie is worthless after logout
    assert client.get("/inbox").headers["location"] == "/login?next=%2Finbox"


def test_roles_limit_pages_and_htmx_requests_get_a_login_redirect(pages):
    worker = pages.login("sally")
    assert worker.get("/cockpit").status_code == 403
    assert worker.get("/designer").status_code == 403
    assert pages.login("olga").get("/cockpit").status_code == 200
    assert pages.login("olga").get("/designer").status_code == 403
    assert pages.login("dora").get("/designer").status_code == 200
    from fastapi.testclient import TestClient

    anonymous = TestClient(pages.app, follow_redirects=False)
    r = anonymous.get("/inbox", headers={"HX-Request": "true"})
    assert r.headers["HX-Redirect"] == "/login?next=%2Finbox"


def test_the_bearer_token_api_still_works_beside_sessions(pages, engine):
    from taktflow.web.auth.service import create_token

    token = engine.command(lambda s: create_token(s, "erp", "worker", engine.clock.now()))
    client = pages.login("sally")
    assert client.get("/api/v1/process-definitions").status_code == 401  # a session is not an API token
    assert client.get("/api/v1/process-definitions", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_user_create_cli_adds_a_person_who_can_log_in(database_url, engine, tmp_path):
    env = cli_env(database_url, TAKTFLOW_PROCESSES_DIR=str(tmp_path))
    r = run_cli(["user", "create", "petra", "--password", "s3cret-pass", "--group", "planner", "quality",
                 "--group", "sales", "--role", "operator"], env)
    assert r.returncode == 0, r.stderr
    assert "user petra created (role operator; groups planner, quality, sales)" in r.stdout
    again = run_cli(["user", "create", "petra", "--password", "s3cret-pass"], env)
    assert again.returncode == 2 and "exists already" in again.stderr
    bad = run_cli(["user", "create", "kurt", "--password", "short"], env)
    assert bad.returncode == 2 and "at least 8 characters" in bad.stderr
    with engine.db.read() as session:
        user = authenticate(session, "petra", "s3cret-pass")
        assert (user.role, user.group_names) == ("operator", ["planner", "quality", "sales"])
