"""Pages of long lists that count their rows only as far as a page total needs."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

PAGE_SIZE = 25


class CappedPaginator(Paginator):
    """Counts no further than `cap` rows: past it the pages say "at least N" (`capped`) instead of the total.

    A total over every row costs as much as reading them all (the queue of a street: 16,000 tasks); the
    count is `COUNT(*)` over a `LIMIT cap + 1` subquery of ids, without the list's ordering or columns.
    """

    def __init__(self, object_list: QuerySet, per_page: int, *, cap: int) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by().values("pk")[:self.cap + 1].count()

    @property
    def capped(self) -> bool:
        """There are more rows than were counted (`count` is `cap` + 1, `num_pages` a lower bound)."""
        return self.count > self.cap


# Lists count at most this many rows for their page total (or up to the page asked for, if further).
COUNT_CAP = 1000


def paginate(request: HttpRequest, queryset: QuerySet, size: int | None = None) -> Page:
    """The page asked for, its total counted no further than COUNT_CAP rows or the end of that page."""
    size = size or PAGE_SIZE
    try:
        number = max(int(request.GET.get("page", 1)), 1)
    except (TypeError, ValueError):
        number = 1
    # Far pages count up to their own end, so that "next" shows whenever one more row exists.
    cap = max(COUNT_CAP, min(number, 10**6) * size)
    return CappedPaginator(queryset, size, cap=cap).get_page(request.GET.get("page"))
