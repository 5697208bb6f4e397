"""Login and logout pages; `/` sends people to the page of their role (or to the login page)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from taktflow.web.auth.access import landing_page
from taktflow.web.auth.service import authenticate, close_session, open_session, same_secret
from taktflow.web.pages.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_protect,
    current_login,
    get_engine,
    render,
    see_other,
)

router = APIRouter()


def _safe_next(next_url: str | None) -> str:
    """Only paths of this site: an open redirect would make the login page a phishing tool."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return "/"


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    login = current_login(request)
    return see_other(landing_page(login.principal) if login else "/login")


def _login_page(request: Request, next_url: str, *, error: str | None = None, name: str = "",
                status_code: int = 200) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", {"next": _safe_next(next_url), "error": error, "name": name,
                                               "login_csrf": token}, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    if current_login(request):
        return see_other(_safe_next(next))
    return _login_page(request, next)


@router.post("/login", include_in_schema=False)
def login(
    request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),  # noqa: A002
    csrf_token: str = Form(""),
) -> Response:
    if not same_secret(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE) or ""):
        return _login_page(request, next, error="The login form expired: please try again.", name=username,
                           status_code=403)
    engine = get_engine(request)

    def work(session: Session) -> str | None:
        user = authenticate(session, username, password)
        return open_session(session, user, engine.clock.now()) if user is not None else None

    token = engine.command(work)
    if token is None:
        return _login_page(request, next, error="Unknown user name or wrong password.", name=username,
                           status_code=401)
    response = see_other(_safe_next(next))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        get_engine(request).command(lambda session: close_session(session, token))
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
