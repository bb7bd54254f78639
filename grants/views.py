"""Pages of the grant domain; thin: check permission, call a service or selector, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import applications_visible_to


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in person's applications, scoped to their organisations."""
    applications = applications_visible_to(request.user)[:50]
    return render(request, "grants/home.html", {"applications": applications})
