"""What the API reads and writes: applications with their budgets, documents and actions, and fund statements.

Output serializers only read what the selectors loaded (no query per row). Input serializers check shapes
and types; the rules are the services' (grants.services), whose refusals become JSON errors (grants.api.errors).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from ..models import (
    Attachment,
    BeneficiaryGroup,
    BudgetLine,
    Community,
    Fund,
    GrantApplication,
    LedgerEntry,
    ServiceCategory,
    StreetOffice,
)
from ..services import BeneficiaryData, BudgetLineData
from ..states import State

MONEY = {"max_digits": 14, "decimal_places": 2}
CENT = Decimal("0.01")
# Dates a person can mean; outside them a date cannot be turned into a time of day in every time zone.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
DATE_RANGE = [MinValueValidator(EARLIEST), MaxValueValidator(LATEST)]
LARGEST_COUNT = 2_147_483_647  # the largest count every database stores


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT))


def local_moment(value: dt.date | dt.datetime | None, zone: dt.tzinfo | None = None) -> str | None:
    """A date, or a time in `zone` (default: the current time zone), as DRF writes them (ISO 8601, `Z` for UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, zone)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class NamedSerializer(serializers.Serializer):
    """An organisation or category: its id and its name in the caller's language."""

    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj: Any) -> str:
        return str(obj)


class CategorySerializer(NamedSerializer):
    code = serializers.CharField()


class BudgetLineSerializer(serializers.ModelSerializer):
    """One line of the budget."""

    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))

    class Meta:
        model = BudgetLine
        fields = ["category", "description", "amount"]


class BeneficiaryGroupSerializer(serializers.ModelSerializer):
    """How many people of one kind the project serves (counts, never names)."""

    planned_count = serializers.IntegerField(min_value=0, max_value=LARGEST_COUNT)

    class Meta:
        model = BeneficiaryGroup
        fields = ["kind", "planned_count"]


class AttachmentSerializer(serializers.ModelSerializer):
    """A document of the application; the file itself is downloaded from `download_url` (token or session)."""

    kind_label = serializers.CharField(source="get_kind_display")
    download_url = serializers.HyperlinkedIdentityField(view_name="api-attachment-file")

    class Meta:
        model = Attachment
        fields = ["id", "kind", "kind_label", "original_name", "size", "content_type", "uploaded_at",
                  "download_url"]


class AttachmentUploadSerializer(serializers.Serializer):
    """A document to add (multipart/form-data)."""

    kind = serializers.ChoiceField(choices=Attachment.Kind.choices)
    file = serializers.FileField(max_length=200)


# The dates and times of a list row, in the order the response gives them.
MOMENTS = ("start_date", "end_date", "created_at", "updated_at", "submitted_at", "approved_at", "publicity_ends_on",
           "agreement_signed_at", "closed_at")


@dataclass
class ListPage:
    """What every row of one list response shares, worked out once instead of once per row."""

    url_head: str  # an application's URL is url_head + id + url_tail
    url_tail: str
    zone: dt.tzinfo
    state_labels: dict[str, str]
    names: dict[tuple[type, int], str] = field(default_factory=dict)

    @classmethod
    def start(cls, request: Any) -> ListPage:
        marker = 987654321  # any id: the URL of one application tells where the id goes in all of them
        url = reverse("api-application-detail", args=[marker], request=request)
        head, _marker, tail = url.rpartition(str(marker))
        return cls(url_head=head, url_tail=tail, zone=timezone.get_current_timezone(),
                   state_labels={str(value): str(label) for value, label in State.choices})

    def name(self, model: type, pk: int, **fields: Any) -> str:
        """The organisation's or category's name in the caller's language: its model's `str()`, once per page."""
        found = self.names.get((model, pk))
        if found is None:
            found = self.names[model, pk] = str(model(pk=pk, **fields))
        return found


class ApplicationSerializer(serializers.ModelSerializer):
    """An application as the lists show it."""

    url = serializers.HyperlinkedIdentityField(view_name="api-application-detail")
    state = serializers.ChoiceField(source="status", choices=State.choices, read_only=True)
    state_label = serializers.CharField(source="get_status_display", read_only=True)
    fund = NamedSerializer(read_only=True)
    community = NamedSerializer(read_only=True)
    street_office = NamedSerializer(source="community.street_office", read_only=True)
    category = CategorySerializer(read_only=True)
    requested_amount = serializers.DecimalField(**MONEY, read_only=True)
    approved_amount = serializers.DecimalField(**MONEY, read_only=True, allow_null=True)

    class Meta:
        model = GrantApplication
        fields = ["id", "url", "title", "state", "state_label", "fund", "community", "street_office", "category",
                  "requested_amount", "approved_amount", "start_date", "end_date", "created_at", "updated_at",
                  "submitted_at", "approved_at", "publicity_ends_on", "agreement_signed_at", "closed_at"]
        read_only_fields = fields

    # What a list row reads: plain values (`QuerySet.values(*row_columns)`), not model instances. Building the
    # application, its fund, community, street office and category as models, with all their columns, was
    # the largest part of a list page's cost (bench/api_latency.py).
    row_columns = ("pk", "title", "status", "requested_amount", "approved_amount", *MOMENTS,
                   "fund_id", "fund__name", "community_id", "community__name", "community__street_office_id",
                   "community__street_office__name", "category_id", "category__name", "category__name_en",
                   "category__code")

    def to_representation(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The declared fields of one row of `row_columns`, written out by hand: a list page is the API's
        hottest path, and DRF's generic field-by-field walk costs several times more (tests/api compare the two)."""
        page, pk = self._page, row["pk"]
        return {
            "id": pk,
            "url": f"{page.url_head}{pk}{page.url_tail}",
            "title": row["title"],
            "state": row["status"],
            "state_label": page.state_labels.get(row["status"], row["status"]),
            "fund": {"id": row["fund_id"], "name": page.name(Fund, row["fund_id"], name=row["fund__name"])},
            "community": {"id": row["community_id"],
                          "name": page.name(Community, row["community_id"], name=row["community__name"])},
            "street_office": {"id": row["community__street_office_id"],
                              "name": page.name(StreetOffice, row["community__street_office_id"],
                                                name=row["community__street_office__name"])},
            "category": {"id": row["category_id"],
                         "name": page.name(ServiceCategory, row["category_id"], name=row["category__name"],
                                           name_en=row["category__name_en"]),
                         "code": row["category__code"]},
            "requested_amount": _money(row["requested_amount"]),
            "approved_amount": _money(row["approved_amount"]),
            **{name: local_moment(row[name], page.zone) for name in MOMENTS},
        }

    @cached_property
    def _page(self) -> ListPage:
        """What the rows of one response share (the serializer lives for one request)."""
        return ListPage.start(self.context.get("request"))

    def to_representation_generic(self, application: GrantApplication) -> dict[str, Any]:
        """DRF's own rendering of the declared fields (what `to_representation` must equal)."""
        return super().to_representation(application)


class ApplicationDetailSerializer(ApplicationSerializer):
    """One application with its budget, beneficiaries and documents."""

    def to_representation(self, application: GrantApplication) -> dict[str, Any]:
        return self.to_representation_generic(application)

    budget_lines = BudgetLineSerializer(many=True, read_only=True)
    beneficiary_groups = BeneficiaryGroupSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    editable = serializers.BooleanField(source="is_editable", read_only=True)
    returned_from = serializers.ChoiceField(choices=State.choices, allow_blank=True, read_only=True,
                                            help_text=gettext_lazy("The step that returned it for revision, if any."))

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "summary", "score", "conditions", "returned_from",
                  "editable", "budget_lines", "beneficiary_groups", "attachments"]
        read_only_fields = fields


class ApplicationWriteSerializer(serializers.Serializer):
    """The fields of a draft; `budget_lines` and `beneficiary_groups`, when given, replace the old ones whole."""

    title = serializers.CharField(max_length=200)
    category = serializers.PrimaryKeyRelatedField(queryset=ServiceCategory.objects.select_related("fund"))
    summary = serializers.CharField()
    start_date = serializers.DateField(validators=DATE_RANGE)
    end_date = serializers.DateField(validators=DATE_RANGE)
    requested_amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    budget_lines = BudgetLineSerializer(many=True, required=False)
    beneficiary_groups = BeneficiaryGroupSerializer(many=True, required=False)

    def service_arguments(self) -> dict[str, Any]:
        """The validated data as the drafting services take it (grants.services.drafting)."""
        data = dict(self.validated_data)
        if "budget_lines" in data:
            data["budget_lines"] = [BudgetLineData(**line) for line in data["budget_lines"]]
        if "beneficiary_groups" in data:
            data["beneficiaries"] = [BeneficiaryData(**group) for group in data.pop("beneficiary_groups")]
        return data


class ApplicationCreateSerializer(ApplicationWriteSerializer):
    """A new draft: the community it is for (the caller must be one of its applicants) and its fields."""

    community = serializers.PrimaryKeyRelatedField(queryset=Community.objects.all())


class ActionInputSerializer(serializers.Serializer):
    """One value an action asks for: send it under `name` when taking the action."""

    name = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "integer", "money"])
    required = serializers.BooleanField()


class ActionSerializer(serializers.Serializer):
    """An action the caller may take now, the inputs it takes, and where to POST it."""

    name = serializers.CharField()
    label = serializers.CharField()
    danger = serializers.BooleanField(help_text=gettext_lazy("Whether the action ends or cancels something."))
    inputs = ActionInputSerializer(many=True)
    url = serializers.SerializerMethodField()

    def get_url(self, action: Any) -> str:
        return reverse("api-application-take-action", args=[self.context["application"].pk, action.name],
                       request=self.context.get("request"))


class ActionRequestSerializer(serializers.Serializer):
    """The inputs of any action (each action uses those it declares, see GET .../actions/), and a guard.

    `expected_state`: the state the caller saw; if the application has moved on since, the action is
    refused with 409 `stale_state` instead of being taken on an application the caller has not seen.
    """

    comment = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True)
    score = serializers.IntegerField(required=False, min_value=0, max_value=100)
    recommended_amount = serializers.DecimalField(**MONEY, required=False, min_value=Decimal("0.01"))
    conditions = serializers.CharField(required=False, allow_blank=True)
    minutes = serializers.CharField(required=False, allow_blank=True)
    expected_state = serializers.ChoiceField(choices=State.choices, required=False)


class TotalsSerializer(serializers.Serializer):
    """The fund's running totals at one moment, or their movement over a period."""

    received_total = serializers.DecimalField(**MONEY)
    fees_total = serializers.DecimalField(**MONEY)
    committed_total = serializers.DecimalField(**MONEY)
    paid_total = serializers.DecimalField(**MONEY)
    returned_total = serializers.DecimalField(**MONEY)
    available = serializers.DecimalField(**MONEY)


class LedgerApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    community = NamedSerializer()


class LedgerEntrySerializer(serializers.ModelSerializer):
    """One movement of the fund's money; donations appear by receipt number only, never by donor."""

    kind_label = serializers.CharField(source="get_kind_display")
    application = LedgerApplicationSerializer(allow_null=True)
    donation_receipt_number = serializers.SerializerMethodField()
    amount = serializers.DecimalField(**MONEY)
    available = serializers.DecimalField(**MONEY)

    class Meta:
        model = LedgerEntry
        fields = ["seq", "created_at", "kind", "kind_label", "amount", "application", "donation_receipt_number",
                  "memo", "available"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_donation_receipt_number(self, entry: LedgerEntry) -> str | None:
        return entry.donation.receipt_number if entry.donation_id else None


class PeriodSerializer(serializers.Serializer):
    """The statement's period (query parameters); by default from the first of January to today."""

    start = serializers.DateField(required=False, validators=DATE_RANGE)
    end = serializers.DateField(required=False, validators=DATE_RANGE)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and end < start:
            raise serializers.ValidationError({"end": _("The period cannot end before it starts.")},
                                              code="period_reversed")
        return attrs


class PaginatedLedgerSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = LedgerEntrySerializer(many=True)


class StatementSerializer(serializers.Serializer):
    """A fund's statement for a period: totals at its start and end, what moved, and its entries (paginated)."""

    fund = NamedSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    opening = TotalsSerializer()
    movements = TotalsSerializer()
    closing = TotalsSerializer()
    entries = PaginatedLedgerSerializer()
