"""Tokens and roles. A role is a set of permissions; every API route names the permission it needs."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.web.auth.models import ApiToken

DEPLOY, OPERATE, WORK = "deploy", "operate", "work"
ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({DEPLOY, OPERATE, WORK}),
    "designer": frozenset({DEPLOY, WORK}),
    "operator": frozenset({OPERATE, WORK}),
    "worker": frozenset({WORK}),
}


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in ROLES.get(self.role, frozenset())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, now: datetime, token: str | None = None) -> str:
    """Store a new token and return it; it is shown once and only its hash is kept."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(sorted(ROLES))}")
    if not name.strip():
        raise ValueError("a token needs a name")
    token = token or "tf_" + secrets.token_urlsafe(32)
    if principal_for(session, token) is not None:
        return token
    session.add(ApiToken(name=name.strip(), role=role, token_sha256=_digest(token), created_at=now))
    return token


def principal_for(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token), ApiToken.revoked_at.is_(None)))
    return Principal(row.name, row.role) if row is not None else None
