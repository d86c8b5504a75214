"""One pagination helper for every list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass
class Page:
    """A page of results with the total count of matching rows."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        """How many pages the matching rows fill (at least one)."""
        return max(1, -(-self.total // self.per_page))


def paginate(session: Session, statement: Select, page: int, per_page: int) -> Page:
    """Run ``statement`` for one page (1-based) and count every matching row."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), total or 0, page, per_page)
