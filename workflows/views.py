"""Task pages of the grant process."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View


class TaskView(View):
    """viewflow's entry for a human task: sends the person to our scoped task page."""

    def get(self, request: HttpRequest, *args: object, task_pk: int, **kwargs: object) -> HttpResponse:
        return HttpResponseRedirect(reverse("workflows:task", args=[task_pk]))
