"""What every API route needs: the engine, and the caller with a permission check."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from taktflow.engine.core import Engine
from taktflow.web.auth.service import Principal, principal_for

_bearer = HTTPBearer(auto_error=False)


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    with get_engine(request).db.read() as session:
        principal = principal_for(session, credentials.credentials)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token is unknown or revoked",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def require(permission: str) -> Callable[[Principal], Principal]:
    def check(principal: Principal = Depends(get_principal)) -> Principal:
        if not principal.may(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {principal.role!r} may not {permission}")
        return principal

    return check
