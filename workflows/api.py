"""The task API (/api/v1/tasks/): the caller's inbox and queue, and taking or giving back a task.

It lives here, not in grants.api, because grants never imports workflows.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from viewflow.workflow.models import Task

from grants.selectors import applications_visible_to
from grants.states import State

from . import services
from .selectors import tasks_inbox, tasks_inbox_and_queue, tasks_queue

BOXES = ("inbox", "queue")


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
            return tasks_inbox(user)
        if boxes == ["queue"]:
            return tasks_queue(user)
        if boxes:
            raise serializers.ValidationError({"box": _("Choose inbox or queue, or leave the parameter out.")},
                                              code="invalid_choice")
        return tasks_inbox_and_queue(user)

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
