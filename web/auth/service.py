"""Tokens, users and sessions. A role is a set of permissions; every route names the permission it needs.

Systems call the API with bearer tokens; people log in with a password (argon2id) and get a session
cookie whose row also holds the token every form must echo (CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from taktflow.web.auth.models import ApiToken, UserAccount, UserGroup, WebSession

DEPLOY, OPERATE, WORK, FINANCE = "deploy", "operate", "work", "finance"
ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({DEPLOY, OPERATE, WORK, FINANCE}),
    "designer": frozenset({DEPLOY, WORK}),
    "operator": frozenset({OPERATE, WORK}),
    # The ledger and payments are the books: read and booked by finance, not by every worker.
    "accountant": frozenset({WORK, FINANCE}),
    "worker": frozenset({WORK}),
}
SESSION_LIFETIME = timedelta(hours=12)
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,200}$")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    groups: frozenset[str] = field(default_factory=frozenset)
    display_name: str | None = None

    def may(self, permission: str) -> bool:
        return permission in ROLES.get(self.role, frozenset())

    @property
    def permissions(self) -> frozenset[str]:
        return ROLES.get(self.role, frozenset())

    @property
    def sees_all_tasks(self) -> bool:
        """Admins look into every inbox (to reassign stuck work); everybody else sees their own."""
        return self.role == "admin"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- API tokens ------------------------------------------------------------------------------------------


def create_token(
    session: Session, name: str, role: str, now: datetime, token: str | None = None, groups: Iterable[str] = (),
) -> str:
    """Store a new token and return it; it is shown once and only its hash is kept.

    Its groups decide which tasks it sees, as a person's do: a system that works a group's tasks is given
    that group.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(sorted(ROLES))}")
    if not name.strip():
        raise ValueError("a token needs a name")
    token = token or "tf_" + secrets.token_urlsafe(32)
    if principal_for(session, token) is not None:
        return token
    session.add(ApiToken(name=name.strip(), role=role, token_sha256=_digest(token), created_at=now,
                         groups=sorted({g.strip() for g in groups if g.strip()})))
    return token


def principal_for(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token), ApiToken.revoked_at.is_(None)))
    return Principal(row.name, row.role, frozenset(row.groups or ())) if row is not None else None


# --- users ---------------------------------------------------------------------------------------------


def create_user(
    session: Session, name: str, password: str, groups: list[str], role: str, now: datetime,
    display_name: str | None = None,
) -> UserAccount:
    """Add a user; refuses an unknown role, a bad name, a short password or a name that is taken."""
    name = name.strip()
    if not _NAME.match(name):
        raise ValueError("a user name is 1-200 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(sorted(ROLES))}")
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    if session.scalar(select(UserAccount.id).where(UserAccount.name == name)) is not None:
        raise ValueError(f"a user named {name!r} exists already")
    user = UserAccount(name=name, display_name=display_name, password_hash=_hasher.hash(password), role=role,
                       active=True, created_at=now)
    user.groups = [UserGroup(name=g) for g in sorted({g.strip() for g in groups if g.strip()})]
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, name: str, password: str) -> UserAccount | None:
    user = session.scalar(select(UserAccount).where(UserAccount.name == name.strip()))
    if user is None:
        _hasher.hash(password)  # same work for unknown names: no user enumeration by timing
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def principal_of(user: UserAccount) -> Principal:
    return Principal(user.name, user.role, frozenset(user.group_names), user.display_name)


# --- sessions ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginSession:
    principal: Principal
    csrf_token: str


def open_session(session: Session, user: UserAccount, now: datetime) -> str:
    """Start a login; returns the cookie value (shown once, only its hash is stored)."""
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_sha256=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                           created_at=now, expires_at=now + SESSION_LIFETIME))
    return token


def session_for(session: Session, token: str, now: datetime) -> LoginSession | None:
    row = session.get(WebSession, _digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.active:
        return None
    return LoginSession(principal_of(user), row.csrf_token)


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == _digest(token)))


def same_secret(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
