"""The API's pagination (its own module: the REST_FRAMEWORK setting imports it while views are loading)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class Pagination(PageNumberPagination):
    """`?page=` and `?page_size=` (1 to 100); a page past the end is 404, a malformed size 400."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if len(values) > 1 or not values[0].isascii() or not values[0].isdigit() \
                or not 1 <= int(values[0]) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: _("Give a whole number from 1 to %(largest)s.")
                                   % {"largest": self.max_page_size}}, code="invalid")
        return int(values[0])
