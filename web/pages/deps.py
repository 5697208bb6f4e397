"""What every page route needs: the logged-in person, a permission check, CSRF, and template rendering.

Pages are server-rendered; htmx asks for parts of the same templates (a named block), never for JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from taktflow.engine.core import Engine
from taktflow.handlers.erp.documents import company_currency, money_text
from taktflow.web.auth.service import LoginSession, Principal, same_secret, session_for

SESSION_COOKIE = "taktflow_session"
LOGIN_CSRF_COOKIE = "taktflow_login_csrf"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def _num(value: Decimal | float | int | None) -> str:
    """A quantity without trailing zeros (1000, 2.5), as people write it."""
    if value is None:
        return ""
    text = f"{Decimal(str(value)).normalize():f}"
    return text


templates.env.filters["when"] = _when
templates.env.filters["num"] = _num
templates.env.filters["money"] = money_text  # 1,071.00 EUR: the books' currency on every amount
templates.env.globals["quote"] = quote
templates.env.globals["currency"] = company_currency


class LoginRequired(Exception):  # noqa: N818 - a redirect, not an error
    """Raised by page dependencies when nobody is logged in: answered with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def current_login(request: Request) -> LoginSession | None:
    """The session of the cookie, looked up once per request."""
    if "login" not in request.state._state:
        token = request.cookies.get(SESSION_COOKIE)
        login = None
        if token:
            engine = get_engine(request)
            with engine.db.read() as session:
                login = session_for(session, token, engine.clock.now())
        request.state.login = login
    return request.state.login


def page_login(request: Request) -> LoginSession:
    login = current_login(request)
    if login is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return login


def require_page(permission: str) -> Callable[..., Principal]:
    def check(login: LoginSession = Depends(page_login)) -> Principal:
        if not login.principal.may(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"your role ({login.principal.role}) may not {permission}")
        return login.principal

    return check


async def csrf_protect(request: Request, login: LoginSession = Depends(page_login)) -> None:
    """Every state-changing page request echoes the session's form token (hidden field or htmx header)."""
    given = request.headers.get("X-CSRF-Token")
    if given is None:
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not same_secret(given, login.csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "the form's security token is missing or stale: reload the page and try again")


def render(
    request: Request, name: str, context: Mapping[str, Any] | None = None, *, block: str | None = None,
    status_code: int = 200, headers: Mapping[str, str] | None = None,
) -> Response:
    """Render a page, or only one of its blocks (for an htmx swap) from the same template."""
    login = current_login(request)
    ctx: dict[str, Any] = {
        "request": request,
        "user": login.principal if login else None,
        "csrf_token": login.csrf_token if login else "",
        **(context or {}),
    }
    if block is None:
        return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=dict(headers or {}))
    template = templates.env.get_template(name)
    html = "".join(template.blocks[block](template.new_context(ctx)))
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


def see_other(url: str) -> RedirectResponse:
    """After a POST: the browser GETs the next page (and reloading it does not post again)."""
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


def navigate(request: Request, url: str) -> Response:
    """Go to another page after a POST: a redirect, or for htmx (which would swap the next page into the
    form) an HX-Redirect that makes the browser load it."""
    if is_htmx(request):
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": url})
    return see_other(url)
