"""The API's pagination (its own module: the REST_FRAMEWORK setting imports it while views are loading).

Cursor pagination: `next` and `previous` links carry an opaque `cursor`; no total is counted. Counting the
rows a foundation may see costs more than the whole page at 100,000 applications, and a cursor walks the
primary key's index however deep the page (a page number's OFFSET reads every row before it).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class Pagination(CursorPagination):
    """Newest first by id unless the view sets `cursor_ordering`; `?page_size=` from 1 to 100 (default 25)."""

    ordering = "-pk"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return (getattr(view, "cursor_ordering", self.ordering),)

    def get_page_size(self, request: Request) -> int:
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if len(values) > 1 or not values[0].isascii() or not values[0].isdigit() \
                or not 1 <= int(values[0]) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: _("Give a whole number from 1 to %(largest)s.")
                                   % {"largest": self.max_page_size}}, code="invalid")
        return int(values[0])
