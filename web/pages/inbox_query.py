"""The inbox: which open user tasks a person sees, filtered, searched and paged from the task table.

It reads only `user_task` / `task_candidate` (the engine's task table); no workflow is loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, false, func, or_, select
from sqlalchemy.orm import Session

from taktflow.engine import tasks
from taktflow.engine.store.models import TaskCandidate, UserTask
from taktflow.web.auth.access import visible_to
from taktflow.web.auth.service import Principal

PER_PAGE = 25
SCOPES = {"open": "All my open work", "mine": "Claimed by me", "groups": "Unclaimed in my groups",
          "everyone": "Everyone's tasks"}
DUE = {"overdue": "Overdue", "today": "Due within 24 h", "week": "Due within 7 days", "none": "No due date"}
PRIORITY = {"high": "High (70+)", "normal": "Normal (31-69)", "low": "Low (30 or less)"}
HIGH_PRIORITY, LOW_PRIORITY = 70, 30


@dataclass
class InboxFilter:
    scope: str = "open"
    process: str = ""
    due: str = ""
    priority: str = ""
    q: str = ""
    page: int = 1

    def normalized(self, principal: Principal) -> InboxFilter:
        scope = self.scope if self.scope in SCOPES else "open"
        if scope == "everyone" and not principal.sees_all_tasks:
            scope = "open"
        return InboxFilter(scope, self.process.strip(), self.due if self.due in DUE else "",
                           self.priority if self.priority in PRIORITY else "", self.q.strip()[:200],
                           max(self.page, 1))

    def query_string(self, **changes: Any) -> str:
        from urllib.parse import urlencode

        values = {"scope": self.scope, "process": self.process, "due": self.due, "priority": self.priority,
                  "q": self.q, "page": self.page, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1) or k == "scope"})


@dataclass
class InboxPage:
    tasks: list[UserTask]
    total: int
    filter: InboxFilter
    processes: list[str]
    now: datetime
    fingerprint: str
    per_page: int = PER_PAGE
    groups: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _filtered(principal: Principal, f: InboxFilter, now: datetime) -> Select[tuple[UserTask]]:
    stmt = tasks.query(process_key=f.process or None)
    if f.scope == "mine":
        stmt = stmt.where(UserTask.assignee == principal.name)
    elif f.scope == "groups":
        stmt = stmt.where(UserTask.assignee.is_(None),
                          exists().where(TaskCandidate.task_id == UserTask.id, TaskCandidate.kind == "group",
                                         TaskCandidate.value.in_(sorted(principal.groups)))
                          if principal.groups else false())
    elif f.scope == "open":
        stmt = stmt.where(visible_to(principal))
    if f.due == "overdue":
        stmt = stmt.where(UserTask.due_at < now)
    elif f.due == "today":
        stmt = stmt.where(UserTask.due_at < now + timedelta(days=1))
    elif f.due == "week":
        stmt = stmt.where(UserTask.due_at < now + timedelta(days=7))
    elif f.due == "none":
        stmt = stmt.where(UserTask.due_at.is_(None))
    if f.priority == "high":
        stmt = stmt.where(UserTask.priority >= HIGH_PRIORITY)
    elif f.priority == "low":
        stmt = stmt.where(UserTask.priority <= LOW_PRIORITY)
    elif f.priority == "normal":
        stmt = stmt.where(UserTask.priority > LOW_PRIORITY, UserTask.priority < HIGH_PRIORITY)
    if f.q:
        needle = f.q.lower()
        stmt = stmt.where(or_(*(func.lower(column).contains(needle, autoescape=True) for column in
                                (UserTask.name, UserTask.business_key, UserTask.process_key))))
    return stmt


def inbox(session: Session, principal: Principal, wanted: InboxFilter, now: datetime) -> InboxPage:
    f = wanted.normalized(principal)
    stmt = _filtered(principal, f, now)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    f.page = min(f.page, pages)
    rows = list(session.scalars(stmt.limit(PER_PAGE).offset((f.page - 1) * PER_PAGE)))
    scope = visible_to(principal) if not principal.sees_all_tasks else None
    keys = select(UserTask.process_key).distinct().order_by(UserTask.process_key)
    processes = list(session.scalars(keys.where(scope) if scope is not None else keys))
    # What the person sees, condensed: a poll that finds the same fingerprint swaps nothing.
    seen = "|".join(f"{r.id}:{r.assignee}" for r in rows) + f"#{total}"
    fingerprint = hashlib.sha1(seen.encode()).hexdigest()[:16]
    return InboxPage(rows, total, f, processes, now, fingerprint, groups=sorted(principal.groups))
