"""Reading ERP lists page by page, and looking up the records a list refers to (numbers, codes, names)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
PER_PAGE = 25
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    number: int  # 1-based, clamped to the pages there are
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _clamp(page: int, per_page: int) -> tuple[int, int]:
    return max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)


def page_of(session: Session, stmt: Select[Any], page: int = 1, per_page: int = PER_PAGE) -> Page[Any]:
    """One page of a statement's rows with the total count; a page past the end shows the last page."""
    page, per_page = _clamp(page, per_page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = min(page, max(1, -(-total // per_page)))
    rows = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(rows, total, page, per_page)


def page_of_list(rows: Sequence[T], page: int = 1, per_page: int = PER_PAGE) -> Page[T]:
    """Paging for lists computed in Python (stock levels are sums over moves, not rows)."""
    page, per_page = _clamp(page, per_page)
    page = min(page, max(1, -(-len(rows) // per_page)))
    return Page(list(rows[(page - 1) * per_page: page * per_page]), len(rows), page, per_page)


def by_id(session: Session, model: type[T], ids: Iterable[int | None]) -> dict[int, T]:
    """The rows of `model` with these ids, by id: one query for a page's references, not one per row."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}  # type: ignore[attr-defined]
