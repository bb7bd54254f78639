"""API views of the grant domain: thin, like the pages (grants.views): scope, one service or selector, serialize.

Scope first: an application or fund outside what the caller may see is 404, whatever the method, so its
existence is never revealed; in scope but not allowed is 403 (the services decide, grants.api.errors answers).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from .. import services
from ..actions import ACTIONS, action_perform, available_actions
from ..models import Attachment, GrantApplication
from ..selectors import applications_visible_to, fund_statement, funds_visible_to, ledger_entries
from ..views import visible_application
from .filters import ApplicationFilter
from .pagination import Pagination
from .serializers import (
    ActionRequestSerializer,
    ActionSerializer,
    ApplicationCreateSerializer,
    ApplicationDetailSerializer,
    ApplicationSerializer,
    ApplicationWriteSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    LedgerEntrySerializer,
    PeriodSerializer,
    StatementSerializer,
    TotalsSerializer,
)


class TokenRequestThrottle(SimpleRateThrottle):
    """Password guesses for one account from one address are limited (API_TOKEN_RATE, e.g. 10/min)."""

    scope = "auth_token"

    def get_cache_key(self, request: Any, view: Any) -> str:
        data = request.data if isinstance(request.data, Mapping) else {}
        who = f"{self.get_ident(request)}|{data.get('username', '')}"  # any text: hashed into a safe cache key
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(who.encode()).hexdigest()}


@extend_schema_view(post=extend_schema(summary="The caller's API token, from their username and password"))
class TokenView(ObtainAuthToken):
    """Exchange a username and password for the caller's API token (send it as `Authorization: Token <key>`)."""

    parser_classes = (parsers.JSONParser, parsers.FormParser)
    throttle_classes = (TokenRequestThrottle,)


def _with_details(queryset: QuerySet[GrantApplication]) -> QuerySet[GrantApplication]:
    return queryset.prefetch_related("budget_lines", "beneficiary_groups",
                                     Prefetch("attachments", queryset=Attachment.objects.order_by("uploaded_at", "pk")))


@extend_schema_view(
    list=extend_schema(summary="Applications the caller may see", description=(
        "Scoped to the caller: their community's applications (drafts included), their street's or their "
        "foundation's once the community confirmed them. Newest first, paginated.")),
    retrieve=extend_schema(summary="One application with its budget, beneficiaries and documents"),
    create=extend_schema(summary="Start a draft for a community the caller applies for",
                         request=ApplicationCreateSerializer, responses={201: ApplicationDetailSerializer}),
    partial_update=extend_schema(summary="Edit a draft or an application returned for revision",
                                 request=ApplicationWriteSerializer, responses=ApplicationDetailSerializer),
)
class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Grant applications: list, read, draft, edit, documents, and the actions of their life."""

    queryset = GrantApplication.objects.none()  # the model, for the schema; requests use get_queryset()
    serializer_class = ApplicationSerializer
    filterset_class = ApplicationFilter
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "head", "options"]
    # The drafting services name the beneficiary groups `beneficiaries`; the API's input is `beneficiary_groups`.
    error_fields = {"beneficiaries": "beneficiary_groups"}

    def get_queryset(self) -> QuerySet[GrantApplication]:
        # Lists are newest first by id (grants.api.pagination): the primary key's index serves each page.
        visible = applications_visible_to(self.request.user)
        # A list page reads plain rows of the columns it shows, not model instances (ApplicationSerializer).
        return visible.values(*ApplicationSerializer.row_columns) if self.action == "list" else visible

    def filter_queryset(self, queryset: QuerySet[GrantApplication]) -> QuerySet[GrantApplication]:
        # Building the filter form costs about as much as the page's query: skipped when no filter is asked for.
        if not any(name in self.request.query_params for name in ApplicationFilter.base_filters):
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self) -> type:
        return ApplicationSerializer if self.action == "list" else ApplicationDetailSerializer

    def get_object(self) -> GrantApplication:
        return visible_application(self.request.user, self.kwargs["pk"], queryset=self.get_queryset())

    def _detail(self, application: GrantApplication, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The application as stored now, with its budget, beneficiaries and documents."""
        fresh = _with_details(self.get_queryset()).filter(pk=application.pk).first() or application
        return Response(ApplicationDetailSerializer(fresh, context=self.get_serializer_context()).data,
                        status=status_code)

    def retrieve(self, request: Request, pk: int) -> Response:
        application = visible_application(request.user, pk, queryset=_with_details(self.get_queryset()))
        return Response(ApplicationDetailSerializer(application, context=self.get_serializer_context()).data)

    def create(self, request: Request) -> Response:
        incoming = ApplicationCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        application = services.application_create(actor=request.user, **incoming.service_arguments())
        return self._detail(application, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        application = self.get_object()
        incoming = ApplicationWriteSerializer(data=request.data, partial=True,
                                              context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        services.application_update(actor=request.user, application=application, **incoming.service_arguments())
        return self._detail(application)

    @extend_schema(methods=["GET"], summary="The application's documents", responses=AttachmentSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Add a document (multipart/form-data)",
                   request={"multipart/form-data": AttachmentUploadSerializer}, responses={201: AttachmentSerializer})
    @action(detail=True, methods=["get", "post"], url_path="attachments", pagination_class=None,
            filter_backends=[], parser_classes=[parsers.MultiPartParser, parsers.FormParser])
    def attachments(self, request: Request, pk: int) -> Response:
        application = self.get_object()
        if request.method == "GET":
            return Response(AttachmentSerializer(application.attachments.all(), many=True,
                                                 context=self.get_serializer_context()).data)
        incoming = AttachmentUploadSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        attachment = services.attachment_add(actor=request.user, application=application,
                                             kind=incoming.validated_data["kind"],
                                             file=incoming.validated_data["file"])
        return Response(AttachmentSerializer(attachment, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="The actions the caller may take on the application now, with their inputs",
                   responses=ActionSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="actions", pagination_class=None, filter_backends=[])
    def actions(self, request: Request, pk: int) -> Response:
        application = self.get_object()
        context = {**self.get_serializer_context(), "application": application}
        return Response(ActionSerializer(available_actions(application, request.user), many=True,
                                         context=context).data)

    @extend_schema(
        summary="Take an action (the same services as the web pages)",
        description=("Send the inputs the action declares (see the actions list). Refusals: 400 (missing input, "
                     "a rule not met), 403 (not the caller's to take), 409 (someone changed the application "
                     "first, `expected_state` no longer true, or the fund lacks the money)."),
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(ACTIONS))],
        request=ActionRequestSerializer, responses=ApplicationDetailSerializer)
    @action(detail=True, methods=["post"], url_path="actions/<slug:name>", url_name="take-action",
            filter_backends=[])
    def take_action(self, request: Request, pk: int, name: str) -> Response:
        application = self.get_object()
        if name not in ACTIONS:
            raise Http404(_("Unknown action."))
        incoming = ActionRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        expected = data.pop("expected_state", None)
        action_perform(action=name, actor=request.user, application=application, data=data, expected_state=expected)
        return self._detail(application)


class FundStatementView(APIView):
    """The fund's statement for a period, for staff of its foundation (anyone else: 404)."""

    cursor_ordering = "seq"  # the period's entries, oldest first

    @extend_schema(summary="A fund's statement: opening and closing totals, movements, and the period's entries",
                   parameters=[PeriodSerializer, OpenApiParameter("cursor", str), OpenApiParameter("page_size", int)],
                   responses=StatementSerializer)
    def get(self, request: Request, pk: int) -> Response:
        fund = funds_visible_to(request.user).filter(pk=pk).first()
        if fund is None:
            raise Http404(_("No such fund."))
        period = PeriodSerializer(data=request.query_params)
        period.is_valid(raise_exception=True)
        # As on the statement page: the year so far by default; a lone start runs to today (or to itself).
        start, end = period.validated_data.get("start"), period.validated_data.get("end")
        end = end or max(timezone.localdate(), start or dt.date.min)
        start = start or dt.date(end.year, 1, 1)
        statement = fund_statement(fund, start=start, end=end)
        paginator = Pagination()
        page = paginator.paginate_queryset(ledger_entries(fund, start=start, end=end), request, view=self)
        entries = paginator.get_paginated_response(LedgerEntrySerializer(page, many=True).data).data
        return Response({
            "fund": {"id": fund.pk, "name": str(fund)},
            "start": start.isoformat(), "end": end.isoformat(),
            "opening": TotalsSerializer(statement.opening).data,
            "movements": TotalsSerializer(statement.movements).data,
            "closing": TotalsSerializer(statement.closing).data,
            "entries": entries,
        })



class AttachmentFileView(APIView):
    """A document's file, for callers who may see its application (404 otherwise), as the web page serves it."""

    @extend_schema(summary="Download a document's file", responses={(200, "*/*"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        from ..attachment_views import attachment_file

        return attachment_file(request.user, pk)
