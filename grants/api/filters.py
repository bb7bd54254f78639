"""Filters of the application list: state, community, category, and created/submitted date ranges."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ..models import GrantApplication
from ..states import State
from .serializers import DATE_RANGE


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """An id: a whole number (django-filter's NumberFilter would take decimals)."""

    field_class = forms.IntegerField


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class DayFilter(filters.DateFilter):
    """A day in the foundation's time zone, compared as the time range of that day (the column stays indexable)."""

    def __init__(self, *, field_name: str, until: bool, **kwargs: object) -> None:
        super().__init__(field_name=field_name, validators=DATE_RANGE, **kwargs)
        self.until = until

    def filter(self, qs: QuerySet, value: dt.date | None) -> QuerySet:
        if value is None:
            return qs
        if self.until:  # up to and including that day
            return qs.filter(**{f"{self.field_name}__lt": _day_start(value + dt.timedelta(days=1))})
        return qs.filter(**{f"{self.field_name}__gte": _day_start(value)})


class ApplicationFilter(filters.FilterSet):
    """Every filter is optional, but one that is sent needs a value; ids the caller cannot see match nothing."""

    # Not DISTINCT (django-filter's default for this filter): the filter joins nothing that could repeat a row,
    # and DISTINCT over every selected column made PostgreSQL sort all the matching rows before the page.
    state = filters.MultipleChoiceFilter(field_name="status", choices=State.choices, distinct=False,
                                         help_text=_("One or more states (repeat the parameter)."))
    community = IdFilter(field_name="community_id", help_text=_("Id of the applying community."))
    category = IdFilter(field_name="category_id", help_text=_("Id of the service category."))
    created_from = DayFilter(field_name="created_at", until=False, help_text=_("Created on or after this day."))
    created_to = DayFilter(field_name="created_at", until=True, help_text=_("Created on or before this day."))
    submitted_from = DayFilter(field_name="submitted_at", until=False,
                               help_text=_("Submitted on or after this day."))
    submitted_to = DayFilter(field_name="submitted_at", until=True, help_text=_("Submitted on or before this day."))

    def get_form_class(self) -> type[forms.Form]:
        # No filter here depends on the request, so the form class (which django-filter builds anew for every
        # request, a third of a filtered request's filter cost) is built once; each form copies its fields anyway.
        built = type(self).__dict__.get("_form_class")
        if built is None:
            built = super().get_form_class()
            type(self)._form_class = built
        return built

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters:
            if name in self.data and "" in self.data.getlist(name) and name not in self.form.errors:
                self.form.add_error(name, forms.ValidationError(
                    _("Give a value, or leave the parameter out."), code="blank"))
                valid = False
        return valid

    class Meta:
        model = GrantApplication
        fields = ["state", "community", "category", "created_from", "created_to", "submitted_from",
                  "submitted_to"]
