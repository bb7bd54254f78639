"""The task API (/api/v1/tasks/): the caller's inbox and queue, and taking or giving back a task.

It lives here, not in grants.api, because grants never imports workflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from viewflow.workflow.models import Task

from grants.api.serializers import ListPage, local_moment
from grants.selectors import applications_visible_to
from grants.states import State

from . import services
from .selectors import APPLICATION, tasks_inbox, tasks_inbox_and_queue, tasks_queue

BOXES = ("inbox", "queue")
OWNER_NAME = f"owner__{get_user_model().USERNAME_FIELD}"  # what `get_username()` returns


class TaskApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.HyperlinkedIdentityField(view_name="api-application-detail")
    title = serializers.CharField()
    state = serializers.ChoiceField(source="status", choices=State.choices)
    state_label = serializers.CharField(source="get_status_display")
    community = serializers.CharField(source="community.name")


class TaskSerializer(serializers.Serializer):
    """An open task: which application, which step, who holds it, and its service-time deadline."""

    id = serializers.IntegerField(source="pk")
    box = serializers.SerializerMethodField(help_text="inbox: the caller holds it; queue: offered, nobody took it")
    step = serializers.SerializerMethodField()
    step_label = serializers.SerializerMethodField()
    status = serializers.CharField()
    owner = serializers.CharField(source="owner.get_username", allow_null=True, default=None)
    created = serializers.DateTimeField()
    deadline = serializers.DateTimeField(allow_null=True, default=None)
    overdue = serializers.SerializerMethodField()
    application = TaskApplicationSerializer(source="process.grantprocess.application")

    # What a list row reads: plain values (`QuerySet.values(*row_columns)`), not tasks with their owner,
    # process, application, community and category built as models (bench/api_latency.py).
    row_columns = ("pk", "flow_task", "status", "created", "deadline", "owner_id",
                   OWNER_NAME, f"{APPLICATION}_id", f"{APPLICATION}__title",
                   f"{APPLICATION}__status", f"{APPLICATION}__community__name")

    def to_representation(self, task: Task | Mapping[str, Any]) -> dict[str, Any]:
        """A task, or one row of `row_columns` written out by hand (the list's fast path; tests/api compare the
        two)."""
        if not isinstance(task, Mapping):
            return super().to_representation(task)
        page, row = self._page, task
        owner_id, step, deadline = row["owner_id"], row["flow_task"].name, row["deadline"]
        application_id, state = row[f"{APPLICATION}_id"], row[f"{APPLICATION}__status"]
        return {
            "id": row["pk"],
            "box": "inbox" if owner_id is not None and owner_id == page.user_id else "queue",
            "step": step,
            "step_label": page.state_labels[step] if step in page.state_labels else step.replace("_", " "),
            "status": str(row["status"]),
            "owner": None if owner_id is None else row[OWNER_NAME],
            "created": local_moment(row["created"], page.zone),
            "deadline": local_moment(deadline, page.zone),
            "overdue": bool(deadline and deadline < timezone.now()),
            "application": {
                "id": application_id,
                "url": f"{page.url_head}{application_id}{page.url_tail}",
                "title": row[f"{APPLICATION}__title"],
                "state": state,
                "state_label": page.state_labels.get(state, state),
                "community": row[f"{APPLICATION}__community__name"],
            },
        }

    @cached_property
    def _page(self) -> TaskPage:
        """What the rows of one response share (the serializer lives for one request)."""
        return TaskPage.start(self.context["request"])

    def get_box(self, task: Task) -> str:
        return "inbox" if task.owner_id is not None and task.owner_id == self.context["request"].user.pk else "queue"

    def get_step(self, task: Task) -> str:
        return task.flow_task.name

    def get_step_label(self, task: Task) -> str:
        name = task.flow_task.name
        return str(State(name).label) if name in State.values else name.replace("_", " ")

    def get_overdue(self, task: Task) -> bool:
        deadline = getattr(task, "deadline", None)
        return bool(deadline and deadline < timezone.now())


@dataclass
class TaskPage(ListPage):
    """What every task row of one response shares: the application URL pattern, time zone, labels, the caller."""

    user_id: int | None = None

    @classmethod
    def start(cls, request: Any) -> TaskPage:
        page = super().start(request)
        page.user_id = request.user.pk
        return page


@extend_schema_view(list=extend_schema(
    summary="The caller's tasks: their inbox (taken) and their queue (offered to their roles, not taken)",
    parameters=[OpenApiParameter("box", str, enum=list(BOXES),
                                 description="Only the inbox or only the queue; both when left out.")]))
class TaskViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Open tasks of the grant process, oldest first."""

    queryset = Task.objects.none()  # the model, for the schema; requests use get_queryset()
    serializer_class = TaskSerializer
    lookup_value_converter = "int"
    filter_backends: list[Any] = []
    cursor_ordering = "pk"  # oldest first, as the inbox and queue pages

    def get_queryset(self) -> Any:
        user = self.request.user
        boxes = self.request.query_params.getlist("box")
        if boxes == ["inbox"]:
            tasks = tasks_inbox(user)
        elif boxes == ["queue"]:
            tasks = tasks_queue(user)
        elif boxes:
            raise serializers.ValidationError({"box": _("Choose inbox or queue, or leave the parameter out.")},
                                              code="invalid_choice")
        else:
            tasks = tasks_inbox_and_queue(user)
        # A list page reads plain rows of the columns it shows, not model instances (TaskSerializer).
        return tasks.values(*TaskSerializer.row_columns)

    def _visible_task(self, pk: int) -> Task:
        """The task if its application is one the caller may see; otherwise 404."""
        task = (Task.objects.filter(pk=pk, flow_task_type="HUMAN", process__grantprocess__isnull=False)
                .select_related("owner", "process__grantprocess").first())
        if task is None or not applications_visible_to(self.request.user).filter(
                pk=task.process.grantprocess.application_id).exists():
            raise Http404(_("No such task."))
        return task

    def _row(self, task: Task) -> Response:
        fresh = tasks_inbox_and_queue(self.request.user).filter(pk=task.pk).first()
        return Response(TaskSerializer(fresh or task, context=self.get_serializer_context()).data)

    @extend_schema(summary="Take a task from the queue into the caller's inbox", request=None,
                   responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: int) -> Response:
        return self._row(services.task_claim(actor=request.user, task=self._visible_task(pk)))

    @extend_schema(summary="Give a task the caller took back to the queue", request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: int) -> Response:
        return self._row(services.task_release(actor=request.user, task=self._visible_task(pk)))
