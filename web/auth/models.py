"""Who may do what: API tokens for systems; users, their groups and login sessions for people."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taktflow.engine.store.models import Base


class ApiToken(Base):
    """A bearer token for a system; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Candidate groups whose tasks the token may list, claim and complete.
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class UserAccount(Base):
    """A person who logs in. The role decides deploy/operate/work; groups decide which tasks they see."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))  # argon2id, never the password
    role: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    groups: Mapped[list[UserGroup]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def group_names(self) -> list[str]:
        return sorted(g.name for g in self.groups)


class UserGroup(Base):
    """Membership of a user in a group; group names are the candidate groups models name."""

    __tablename__ = "user_group"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class WebSession(Base):
    """A login: the cookie carries a random token, only its SHA-256 is stored, with the form (CSRF) token."""

    __tablename__ = "web_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
