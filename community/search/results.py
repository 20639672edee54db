"""What ``search()`` returns: the page of hits and enough to draw pagination."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup


@dataclass
class Hit:
    type: str
    id: int
    title: str
    url: str
    solved: bool
    score: float
    votes: int
    replies: int
    status: str
    category_id: int | None
    category_name: str
    tags: list[str]
    created: datetime | None
    activity: datetime | None
    #: Safe HTML: escaped text with ``<mark>`` around matched words.
    title_html: Markup
    snippet_html: Markup
    #: Where the snippet came from: "accepted" answer or the "question" / idea text.
    snippet_source: str


@dataclass
class SearchResults:
    query: str
    results: list[Hit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 20
    #: ``total`` is a lower bound: there are more matches (PostgreSQL counts up to a cap).
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge=1, left_current=2, right_current=2, right_edge=1):
        """Page numbers with ``None`` for gaps, like Flask-SQLAlchemy's pagination."""
        last = 0
        for num in range(1, self.pages + 1):
            if (num <= left_edge or self.page - left_current <= num <= self.page + right_current
                    or num > self.pages - right_edge):
                if last + 1 != num:
                    yield None
                yield num
                last = num
