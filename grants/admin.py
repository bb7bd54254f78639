"""Django admin for the grant domain: organisations and settings are edited here, applications and money only read.

Applications move only through their services (one audited transition each), and money only through the
finance services and the append-only ledger, so the admin never writes an application's status, a donation,
a tranche or a ledger entry: those pages are for looking, not for changing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Field, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import (
    Attachment,
    AuditEntry,
    BeneficiaryGroup,
    BudgetLine,
    CalendarDay,
    Community,
    CommunityAllocation,
    ConflictDeclaration,
    Donation,
    Foundation,
    Fund,
    FundBalance,
    GrantApplication,
    LedgerEntry,
    Membership,
    Objection,
    Role,
    ServiceCategory,
    StreetOffice,
    Tranche,
)
from .permissions import role_keys

admin.site.site_header = _("Community grants administration")
admin.site.site_title = _("Community grants")
admin.site.index_title = _("Organisations, people, settings and records")


class ReadOnlyAdminMixin:
    """Records kept for the trail: visible to whoever may view them, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    # Loaded with the rows so that an inline costs one query however long it is.
    related: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return tuple(self.fields or ())

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.related) if self.related else queryset


# --- Organisations --------------------------------------------------------------------------------------


@admin.register(Foundation)
class FoundationAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "credit_code")
    search_fields = ("name", "short_name", "credit_code")


class ServiceCategoryInline(admin.TabularInline):
    model = ServiceCategory
    fields = ("position", "code", "name", "name_en", "is_active")
    ordering = ("position", "id")
    extra = 0


@admin.register(Fund)
class FundAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "foundation", "board_threshold", "tranche_template", "publicity_working_days",
                    "service_time_working_days", "escalation_working_days", "available")
    list_select_related = ("foundation", "balance")
    search_fields = ("name", "code")
    autocomplete_fields = ("foundation",)
    readonly_fields = ("available",)
    fieldsets = (
        (None, {"fields": ("foundation", "name", "code")}),
        (_("Decisions and payments"), {"fields": ("board_threshold", "publicity_working_days", "tranche_template",
                                                  "available")}),
        (_("Service times of tasks"), {"fields": ("service_time_working_days", "escalation_working_days")}),
        (_("Applications"), {"fields": ("required_documents",)}),
    )
    inlines = (ServiceCategoryInline,)

    @admin.display(description=_("available (yuan)"))
    def available(self, obj: Fund) -> object:
        # Changed only by ledger postings (grants.services.ledger); shown here for reference.
        balance = getattr(obj, "balance", None) if obj.pk else None
        return balance.available if balance is not None else "—"

    def formfield_for_dbfield(self, db_field: Field, request: HttpRequest,
                              **kwargs: Any) -> forms.Field | None:
        if db_field.name == "required_documents":
            # Ticked boxes of the known document kinds instead of raw JSON.
            return forms.MultipleChoiceField(
                label=db_field.verbose_name, help_text=db_field.help_text, choices=Attachment.Kind.choices,
                required=False, widget=forms.CheckboxSelectMultiple)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "code", "fund", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("fund", "is_active")
    list_select_related = ("fund",)
    ordering = ("fund", "position", "id")
    search_fields = ("name", "name_en", "code")
    autocomplete_fields = ("fund",)


class CommunityInline(admin.TabularInline):
    model = Community
    fields = ("name", "kind", "is_example")
    extra = 0
    show_change_link = True


@admin.register(StreetOffice)
class StreetOfficeAdmin(admin.ModelAdmin):
    list_display = ("name", "district", "city", "community_count")
    list_filter = ("city", "district")
    search_fields = ("name", "district", "city")
    inlines = (CommunityInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StreetOffice]:
        return super().get_queryset(request).annotate(community_count=Count("communities"))

    @admin.display(description=_("communities"), ordering="community_count")
    def community_count(self, obj: StreetOffice) -> int:
        return obj.community_count


class CommunityAllocationInline(admin.TabularInline):
    model = CommunityAllocation
    fields = ("fund", "year", "amount")
    autocomplete_fields = ("fund",)
    extra = 0


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ("name", "street_office", "kind", "is_example")
    list_filter = ("street_office", "kind", "is_example")
    list_select_related = ("street_office",)
    search_fields = ("name", "street_office__name")
    autocomplete_fields = ("street_office",)
    inlines = (CommunityAllocationInline,)


@admin.register(CommunityAllocation)
class CommunityAllocationAdmin(admin.ModelAdmin):
    list_display = ("community", "fund", "year", "amount")
    list_filter = ("year", "fund")
    list_select_related = ("community", "fund")
    search_fields = ("community__name",)
    autocomplete_fields = ("fund", "community")
    ordering = ("-year", "community__name")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "person_name", "role", "organisation")
    list_filter = ("role", "street_office", "foundation")
    list_select_related = ("user", "community", "street_office", "foundation")
    search_fields = ("user__username", "user__first_name", "user__last_name", "community__name",
                     "street_office__name", "foundation__name")
    autocomplete_fields = ("user", "community", "street_office", "foundation")
    ordering = ("user__username", "role")

    @admin.display(description=_("name"), ordering="user__last_name")
    def person_name(self, obj: Membership) -> str:
        # Chinese names read family name first.
        return f"{obj.user.last_name}{obj.user.first_name}"

    @admin.display(description=_("organisation"))
    def organisation(self, obj: Membership) -> object:
        return obj.organisation


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "is_working_day")
    list_filter = ("is_working_day",)
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("date",)


# --- Applications: read here, changed only by the services --------------------------------------------


class BudgetLineInline(ReadOnlyTabularInline):
    model = BudgetLine
    fields = ("position", "category", "description", "amount")


class BeneficiaryGroupInline(ReadOnlyTabularInline):
    model = BeneficiaryGroup
    fields = ("kind", "planned_count")


class AttachmentInline(ReadOnlyTabularInline):
    model = Attachment
    # The file itself is private and served only after a permission check, so no link to it here.
    fields = ("kind", "original_name", "size", "content_type", "uploaded_by", "uploaded_at")
    related = ("uploaded_by",)


class ConflictDeclarationInline(admin.TabularInline):
    """Declarations may be recorded here (they only ever keep people out), never changed or removed."""

    model = ConflictDeclaration
    fields = ("person", "reason", "declared_at")
    readonly_fields = ("declared_at",)
    autocomplete_fields = ("person",)
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConflictDeclaration]:
        return super().get_queryset(request).select_related("person")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ObjectionInline(ReadOnlyTabularInline):
    model = Objection
    fields = ("filed_at", "text", "contact", "decision")


class TrancheInline(ReadOnlyTabularInline):
    model = Tranche
    fields = ("number", "percent", "amount", "condition", "status", "payable_since", "paid_at", "paid_by",
              "bank_reference")
    ordering = ("number",)
    related = ("paid_by",)


class AuditEntryInline(ReadOnlyTabularInline):
    model = AuditEntry
    fields = ("created_at", "action", "from_state", "to_state", "actor", "comment")
    ordering = ("id",)
    related = ("actor",)


@admin.register(GrantApplication)
class GrantApplicationAdmin(admin.ModelAdmin):
    list_display = ("title", "community", "category", "requested_amount", "approved_amount", "status",
                    "updated_at")
    list_filter = ("status", "category", "community__street_office", "community")
    list_select_related = ("community", "category")
    search_fields = ("title", "community__name")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("title", "summary", "fund", "community", "category", "status", "returned_from")}),
        (_("Money and decision"), {"fields": ("requested_amount", "approved_amount", "score", "conditions",
                                              "board_minutes")}),
        (_("Dates"), {"fields": ("start_date", "end_date", "submitted_at", "approved_at", "publicity_ends_on",
                                 "agreement_signed_at", "midterm_required", "midterm_accepted_at",
                                 "closed_at", "created_by", "created_at", "updated_at")}),
    )
    inlines = (BudgetLineInline, BeneficiaryGroupInline, AttachmentInline, ConflictDeclarationInline,
               ObjectionInline, TrancheInline, AuditEntryInline)

    def get_readonly_fields(self, request: HttpRequest, obj: GrantApplication | None = None) -> list[str]:
        # Every field, including any added later: an application changes only through its services.
        return [field.name for field in GrantApplication._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A draft is started by an applicant of the community (services.application_create).
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GrantApplication | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: GrantApplication, form: forms.ModelForm,
                   change: bool) -> None:
        # Nothing on the form is editable; only inline conflict declarations are saved (save_related).
        return None


@admin.register(ConflictDeclaration)
class ConflictDeclarationAdmin(admin.ModelAdmin):
    list_display = ("person", "application", "declared_at")
    list_select_related = ("person", "application")
    search_fields = ("person__username", "person__last_name", "person__first_name", "application__title")
    autocomplete_fields = ("application", "person")
    readonly_fields = ("declared_at",)
    date_hierarchy = "declared_at"

    def has_change_permission(self, request: HttpRequest, obj: ConflictDeclaration | None = None) -> bool:
        # A declaration keeps its author out of the decision; editing or removing it would undo that.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ConflictDeclaration | None = None) -> bool:
        return False


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Objections are filed and decided through the services, which also move the application."""

    list_display = ("application", "filed_at", "decision")
    list_filter = ("decision",)
    list_select_related = ("application",)
    search_fields = ("text", "application__title")
    date_hierarchy = "filed_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "application", "action", "from_state", "to_state", "actor")
    list_filter = ("to_state", "action")
    list_select_related = ("application", "actor")
    search_fields = ("application__title", "actor__username", "comment")
    date_hierarchy = "created_at"
    ordering = ("-id",)


# --- Money: recorded and moved only by the finance services, read here ------------------------------------


def finance_foundations(request: HttpRequest) -> set[int]:
    """The foundations whose finance staff the person is: only they see the names of anonymous donors."""
    return {org for role, _scope, org in role_keys(request.user) if role == Role.FINANCE}


@admin.register(Donation)
class DonationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Donations are recorded and receipted through grants.services (donation_record, donation_receive).

    An anonymous donor's name is shown only to finance staff of the fund's foundation; everyone else
    sees the public name, and searching by name never finds an anonymous gift for them.
    """

    list_filter = ("fund", "status", "source", "donor_kind", "is_anonymous", "public_acknowledgement",
                   "restricted_category", "restricted_community")
    list_select_related = ("fund", "restricted_category", "restricted_community")
    search_fields = ("receipt_number", "bank_reference", "purpose", "platform_donation_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")

    def get_list_display(self, request: HttpRequest) -> tuple[Any, ...]:
        foundations = finance_foundations(request)

        @admin.display(description=_("donor"))
        def donor(obj: Donation) -> str:
            return obj.donor_name if obj.fund.foundation_id in foundations else obj.public_name

        return ("created_at", donor, "donor_kind", "amount", "status", "received_on", "receipt_number",
                "restricted_category", "restricted_community", "fund")

    def get_fieldsets(self, request: HttpRequest, obj: Donation | None = None) -> Any:
        sees_name = obj is not None and obj.fund.foundation_id in finance_foundations(request)
        return (
            (None, {"fields": ("fund", "amount", "status", "received_on", "receipt_number", "bank_reference")}),
            (_("Donor"), {"fields": ("donor_name" if sees_name else "public_donor", "donor_kind", "is_anonymous",
                                     "public_acknowledgement")}),
            (_("Restriction"), {"fields": ("restricted_category", "restricted_community", "purpose")}),
            (_("Source"), {"fields": ("source", "platform", "platform_donation_id", "recorded_by", "created_at")}),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Donation | None = None) -> list[str]:
        return [field.name for field in Donation._meta.concrete_fields] + ["public_donor"]

    @admin.display(description=_("donor"))
    def public_donor(self, obj: Donation) -> str:
        return obj.public_name

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Donation],
                           search_term: str) -> tuple[QuerySet[Donation], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            named = queryset.filter(donor_name__icontains=search_term.strip()).filter(
                Q(is_anonymous=False) | Q(fund__foundation_id__in=finance_foundations(request)))
            results = results | named
        return results, may_have_duplicates


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only ledger, written only by grants.services.ledger.ledger_post; `verify_ledger` checks it."""

    list_display = ("seq", "created_at", "fund", "kind", "amount", "application", "available")
    list_display_links = ("seq",)
    list_filter = ("fund", "kind")
    list_select_related = ("fund", "application")
    search_fields = ("memo", "application__title", "donation__receipt_number", "tranche__bank_reference", "hash")
    date_hierarchy = "created_at"
    ordering = ("fund", "-seq")
    fieldsets = (
        (None, {"fields": ("fund", "seq", "created_at", "kind", "amount", "memo", "actor")}),
        (_("What it concerns"), {"fields": ("application", "donation", "tranche")}),
        (_("Running totals after this entry"), {"fields": ("received_total", "fees_total", "committed_total",
                                                           "paid_total", "returned_total", "available")}),
        (_("Tamper check"), {"fields": ("prev_hash", "hash")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: LedgerEntry | None = None) -> list[str]:
        return [field.name for field in LedgerEntry._meta.concrete_fields]


@admin.register(FundBalance)
class FundBalanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each fund's current totals, kept by the ledger postings in the same transaction."""

    list_display = ("fund", "received_total", "fees_total", "committed_total", "paid_total", "returned_total",
                    "available", "last_seq")
    list_select_related = ("fund",)

    def get_readonly_fields(self, request: HttpRequest, obj: FundBalance | None = None) -> list[str]:
        return [field.name for field in FundBalance._meta.concrete_fields]


@admin.register(Tranche)
class TrancheAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Tranches are scheduled on approval, released by their condition and paid through tranche_pay."""

    list_display = ("application", "number", "percent", "amount", "condition", "status", "payable_since",
                    "paid_at", "paid_by", "bank_reference")
    list_filter = ("status", "condition", "application__fund")
    list_select_related = ("application", "paid_by")
    search_fields = ("application__title", "bank_reference")
    date_hierarchy = "payable_since"
    ordering = ("-payable_since", "application_id", "number")

    def get_readonly_fields(self, request: HttpRequest, obj: Tranche | None = None) -> list[str]:
        return [field.name for field in Tranche._meta.concrete_fields]
