"""Task pages of the grant process: inbox, queue, one task, and the process chart of an application.

`workflows.flows` imports this module for `TaskView`, so everything that imports the flow (the selectors,
the services, `grants.views`) is imported inside the views, at call time, to avoid an import cycle.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST
from viewflow.workflow import chart
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from grants.errors import ActionForbidden, ApplicationConflict
from grants.permissions import step_permission
from grants.states import State
from notifications.context_processors import KNOWN_TASK_COUNTS

from .models import GrantProcess

if TYPE_CHECKING:
    from grants.forms import ActionForm
    from grants.models import GrantApplication

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)

# Chart and history labels of the nodes that are not a state of the application.
NODE_LABELS = {
    "start": gettext_lazy("submitted"),
    "end_publicity": gettext_lazy("publicity ended"),
    "remind": gettext_lazy("service-time reminder"),
    "escalate": gettext_lazy("escalation"),
    "reminded": gettext_lazy("reminder recorded"),
}


class TaskView(View):
    """viewflow's entry for a human task: sends the person to our scoped task page."""

    def get(self, request: HttpRequest, *args: object, task_pk: int, **kwargs: object) -> HttpResponse:
        return HttpResponseRedirect(reverse("workflows:task", args=[task_pk]))


def node_label(name: str) -> str:
    """A node's name for people: the state it waits in, or what the helper node does."""
    if name in State.values:
        return str(State(name).label)
    if name in NODE_LABELS:
        return str(NODE_LABELS[name])
    if name.startswith("after_"):
        return _("route on the decision")
    if name == "publicity__timeout":
        return _("publicity period over")
    if name.endswith("__timeout"):
        return _("service time passed")
    if name.endswith("__timeout_2"):
        return _("escalation due")
    return name.replace("_", " ")


# --- Loading tasks -----------------------------------------------------------------------------------------


def _human_task(task_pk: int) -> Task:
    from .flows import GrantFlow

    task = (Task.objects.filter(pk=task_pk, flow_task_type="HUMAN", process__flow_class=GrantFlow)
            .select_related("owner", "process__grantprocess__application").first())
    if task is None:
        raise Http404(_("No such task."))
    return task


def _task_and_application(request: HttpRequest, task_pk: int) -> tuple[Task, GrantApplication]:
    """The task and its application, or 404 when the person may not see the application at all."""
    from grants.views import visible_application

    task = _human_task(task_pk)
    return task, visible_application(request.user, task.process.grantprocess.application_id)


def task_of_application(task_pk: int, application: GrantApplication) -> Task | None:
    """The human task `task_pk` if it belongs to the application (to show a refused decision on its page)."""
    return (Task.objects.filter(pk=task_pk, flow_task_type="HUMAN", process__grantprocess__application=application)
            .select_related("owner", "process__grantprocess__application").first())


def _may_open(task: Task, application: GrantApplication, user: Any) -> str | None:
    """Why the person may not open the task, or None: its owner may; others must be able to decide the step."""
    if task.owner_id is not None and task.owner_id == user.pk:
        return None
    return step_permission(task.flow_task.name).denial(application, user)


# --- Pages -------------------------------------------------------------------------------------------------


def render_task_page(request: HttpRequest, task: Task, application: GrantApplication, *,
                     forms: list[ActionForm] | None = None, page_error: str = "", status: int = 200) -> HttpResponse:
    """The task page: the decision forms of the step on top of the whole application."""
    from grants.views import application_context, render_page, task_rows

    user = request.user
    is_open = task.status in OPEN and application.status == task.flow_task.name
    mine_or_free = task.owner_id in (None, user.pk)
    context = application_context(request, application, forms=forms, page_error=page_error)
    rows = {row.task.pk: row for row in context["open_tasks"]}
    context.update({
        "task": task,
        "task_row": rows.get(task.pk) or task_rows([task])[0],
        "task_open": is_open,
        "task_taken_by_other": is_open and not mine_or_free,
        "may_claim": is_open and task.status == STATUS.NEW,
        "may_release": is_open and task.status == STATUS.ASSIGNED and task.owner_id == user.pk,
    })
    if not (is_open and mine_or_free):
        context["action_forms"] = []
    return render_page(request, "workflows/task.html", context, status=status, active="inbox")


@login_required
def task_detail(request: HttpRequest, task_pk: int) -> HttpResponse:
    """One task: 404 if its application is out of sight, 403 if the person may not decide its step."""
    task, application = _task_and_application(request, task_pk)
    denial = _may_open(task, application, request.user)
    if denial:
        raise PermissionDenied(denial)
    return render_task_page(request, task, application)


def _task_list(request: HttpRequest, *, queue: bool, page_error: str = "", status: int = 200) -> HttpResponse:
    from grants.pagination import paginate
    from grants.views import render_page, task_rows

    from .selectors import tasks_inbox, tasks_queue

    tasks = tasks_queue(request.user) if queue else tasks_inbox(request.user)
    page = paginate(request, tasks)
    # The header's badge of this list shows the paginator's count instead of counting again.
    setattr(request, KNOWN_TASK_COUNTS, {"queue" if queue else "inbox": page.paginator.count})
    return render_page(request, "workflows/task_list.html", {
        "page": page, "rows": task_rows(page.object_list), "queue": queue, "page_error": page_error,
    }, status=status, active="queue" if queue else "inbox")


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Tasks the person has taken or was given, oldest first."""
    return _task_list(request, queue=False)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Tasks offered to the person's roles that nobody has taken yet."""
    return _task_list(request, queue=True)


@login_required
@require_POST
def task_claim(request: HttpRequest, task_pk: int) -> HttpResponse:
    """Take a task from the queue; it then waits in the person's inbox."""
    from grants.views import forbidden

    from . import services

    task, _application = _task_and_application(request, task_pk)
    try:
        services.task_claim(actor=request.user, task=task)
    except ActionForbidden as exc:
        return forbidden(request, exc.message)
    except ApplicationConflict as exc:
        return _task_list(request, queue=True, page_error=exc.message, status=exc.http_status)
    messages.success(request, _("You took this task."))
    return redirect("workflows:task", task_pk=task.pk)


@login_required
@require_POST
def task_release(request: HttpRequest, task_pk: int) -> HttpResponse:
    """Give a task back to everyone who may take it."""
    from grants.views import forbidden, safe_next

    from . import services

    task, _application = _task_and_application(request, task_pk)
    try:
        services.task_release(actor=request.user, task=task)
    except ActionForbidden as exc:
        return forbidden(request, exc.message)
    except ApplicationConflict as exc:
        return _task_list(request, queue=False, page_error=exc.message, status=exc.http_status)
    messages.success(request, _("You gave the task back to the queue."))
    return HttpResponseRedirect(safe_next(request, reverse("workflows:inbox")))


# --- The process and its chart -----------------------------------------------------------------------------


def _label_lines(label: str) -> list[str]:
    # The chart's boxes are 150 px wide: about 20 Latin or 10 Chinese characters at 12 px.
    if label.isascii():
        return textwrap.wrap(label, 20) or [label]
    return [label[i:i + 10] for i in range(0, len(label), 10)] or [label]


def _translate_chart(grid: Any) -> None:
    """Name the chart's nodes as the pages do (translated), instead of viewflow's English node titles."""
    for cell in grid.cells:
        label = node_label(cell.node.name)
        if not cell.shape.text:
            cell.title = label
            continue
        _text, css, font_size, x, _y = cell.shape.text[0]
        lines = _label_lines(label)
        top = int((cell.shape.height - (len(lines) - 1) * font_size * 1.2) / 2)
        cell.shape.text = [(line, css, font_size, x, top + n * font_size * 1.2) for n, line in enumerate(lines)]


def process_chart(process: GrantProcess) -> tuple[str, int]:
    """The flow chart with this process's position, as inline SVG (viewflow.workflow.chart), and its width."""
    from .flows import GrantFlow

    grid = chart.calc_layout_data(GrantFlow)
    chart.calc_cell_status(GrantFlow, grid, process.pk)
    _translate_chart(grid)
    return chart.grid_to_svg(grid), grid.width


@dataclass(frozen=True)
class HistoryRow:
    task: Task
    node: str
    owner: str


@login_required
def process_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the application stands in its process: the chart and every task so far."""
    from grants.views import person_name, render_page, visible_application

    application = visible_application(request.user, pk)
    process = GrantProcess.objects.filter(application=application).first()
    svg, width, history = "", 0, []
    if process is not None:
        svg, width = process_chart(process)
        history = [HistoryRow(task=task, node=node_label(task.flow_task.name), owner=person_name(task.owner))
                   for task in process.task_set.select_related("owner").order_by("created", "pk")]
    return render_page(request, "workflows/process.html", {
        # The SVG comes from viewflow's own template, which escapes every label it prints.
        "application": application, "process": process, "chart": mark_safe(svg), "chart_width": width,
        "history": history,
    })
