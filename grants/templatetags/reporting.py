"""Template tags of the reporting pages: the dashboard panel of overdue projects."""

from __future__ import annotations

from typing import Any

from django import template

from ..report_views import overdue_panel

register = template.Library()


@register.inclusion_tag("grants/reports/overdue_panel.html", takes_context=True)
def overdue_projects_panel(context: template.Context) -> dict[str, Any]:
    """The projects with an overdue report that the person may see (street office and foundation staff)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return overdue_panel(user) if user is not None and user.is_authenticated else {"overdue_rows": None}
