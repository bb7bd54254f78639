"""Pages of a funded project's reporting: its reports on the application page, the completion report form,
deadline extensions, and the projects whose reports are overdue.

Thin like grants.views (whose page helpers are imported inside the functions, as grants.views imports this
module): check scope and role, call one service or selector, render. Out of scope 404, in scope but not
allowed 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services
from .errors import ActionForbidden, ApplicationError
from .models import (
    Attachment,
    BeneficiaryGroup,
    CompletionReport,
    DeadlineExtension,
    GrantApplication,
    ProgressReport,
    Role,
)
from .permissions import holds_role, role_keys
from .report_forms import CompletionReportForm, DeadlineExtensionForm
from .selectors.reporting import (
    SpendingRow,
    completion_spending,
    next_report_due,
    outstanding_progress_reports,
    overdue_applications,
)
from .services.reporting import COMPLETION_EDITABLE_STATES, EXTENDING_ROLES
from .states import Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# How many overdue projects the dashboard panel lists before linking to the full list.
PANEL_SIZE = 10


# --- The "Reports" section of the application page ----------------------------------------------------------


@dataclass(frozen=True)
class ServedRow:
    """People of one kind: planned in the application, served according to the completion report."""

    label: str
    planned: int | None
    served: int | None


@dataclass(frozen=True)
class Reporting:
    """What the application page shows of the project's reports, and what this person may do about them."""

    progress_reports: list[tuple[ProgressReport, str]]  # each with its reviewer's name
    extensions: list[tuple[DeadlineExtension, str]]  # each with the name of who granted it
    report: CompletionReport | None
    served: list[ServedRow]
    spending: list[SpendingRow]
    budget_total: Decimal
    actual_total: Decimal
    tolerance_percent: Decimal
    documents: list[tuple[str, bool]]  # documents required with the completion report, and whether present
    show_private: bool
    may_write_report: bool
    may_extend: bool


def may_read_private_notes(user: AbstractBaseUser, application: GrantApplication) -> bool:
    """The applicant's community, and the street office and foundation reviewing it (never the public)."""
    if getattr(user, "is_superuser", False):
        return True
    keys = role_keys(user)
    return any((scope == Scope.COMMUNITY and org == application.community_id)
               or (scope == Scope.STREET and org == application.community.street_office_id)
               or (scope == Scope.FOUNDATION and org == application.fund.foundation_id)
               for _role, scope, org in keys)


def may_write_completion_report(user: AbstractBaseUser, application: GrantApplication) -> bool:
    return (application.status in COMPLETION_EDITABLE_STATES
            and holds_role(user, Role.APPLICANT, application))


def may_extend_deadline(user: AbstractBaseUser, application: GrantApplication) -> bool:
    return any(holds_role(user, role, application) for role in EXTENDING_ROLES)


def served_rows(application: GrantApplication, report: CompletionReport | None) -> list[ServedRow]:
    """Planned and served people per kind, planned kinds first."""
    planned = {group.kind: group.planned_count for group in application.beneficiary_groups.all()}
    served = {row.kind: row.served_count for row in report.served.all()} if report is not None else {}
    labels = dict(BeneficiaryGroup.Kind.choices)
    kinds = list(planned) + [kind for kind in served if kind not in planned]
    return [ServedRow(label=str(labels.get(kind, kind)), planned=planned.get(kind), served=served.get(kind))
            for kind in kinds]


def completion_documents(application: GrantApplication) -> list[tuple[str, bool]]:
    """The documents the fund requires with the completion report, each with whether it is attached."""
    present = set(application.attachments.values_list("kind", flat=True))
    labels = dict(Attachment.Kind.choices)
    return [(str(labels.get(kind, kind)), kind in present) for kind in application.fund.completion_documents or []]


def reporting_context(application: GrantApplication, user: AbstractBaseUser) -> dict[str, Any]:
    """The `reporting` of the application page: None until the agreement is signed (no reports are owed)."""
    if application.agreement_signed_at is None:
        return {"reporting": None}
    from .views import person_name

    report = CompletionReport.objects.filter(application=application).first()
    spending = completion_spending(application, report) if report is not None else []
    return {"reporting": Reporting(
        progress_reports=[(row, person_name(row.reviewed_by)) for row in
                          application.progress_reports.select_related("reviewed_by").order_by("number")],
        extensions=[(row, person_name(row.granted_by)) for row in
                    application.extensions.select_related("granted_by", "progress_report").order_by("granted_at")],
        report=report,
        served=served_rows(application, report) if report is not None else [],
        spending=spending,
        budget_total=sum((row.budget for row in spending), Decimal(0)),
        actual_total=sum((row.actual for row in spending if row.actual is not None), Decimal(0)),
        tolerance_percent=application.fund.variance_tolerance_percent,
        documents=completion_documents(application) if application.status in COMPLETION_EDITABLE_STATES else [],
        show_private=may_read_private_notes(user, application),
        may_write_report=may_write_completion_report(user, application),
        may_extend=may_extend_deadline(user, application) and next_report_due(application) is not None,
    )}


# --- The completion report ------------------------------------------------------------------------------------


def _report_kinds(application: GrantApplication, report: CompletionReport | None) -> list[tuple[str, int | None]]:
    """The kinds of people the form asks about: the planned ones, then any other the report already lists."""
    planned = [(group.kind, group.planned_count) for group in application.beneficiary_groups.all()]
    known = {kind for kind, _count in planned}
    extra = [] if report is None else [(row.kind, None) for row in report.served.all() if row.kind not in known]
    return planned + extra


@login_required
def completion_report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant writes the completion report (grants.services.completion_report_save); handing it in
    stays the "submit completion report" action of the application page."""
    from .views import forbidden, render_page, visible_application

    application = visible_application(request.user, pk)
    if not holds_role(request.user, Role.APPLICANT, application):
        return forbidden(request, _("Only the applicant of the community writes its completion report."))
    if application.status not in COMPLETION_EDITABLE_STATES:
        messages.error(request, _("The completion report can no longer be changed."))
        return redirect("application_detail", pk=pk)
    report = CompletionReport.objects.filter(application=application).first()
    kinds = _report_kinds(application, report)
    rows = completion_spending(application, report)
    form = CompletionReportForm(request.POST if request.method == "POST" else None, kinds=kinds, rows=rows,
                                initial=CompletionReportForm.initial_for(report, kinds, rows))
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                services.completion_report_save(actor=request.user, application=application, **form.report_data())
            except ActionForbidden as exc:
                return forbidden(request, exc.message)
            except ApplicationError as exc:
                form.show_refusal(exc)
                status = exc.http_status
            else:
                messages.success(request, _("The completion report was saved. Hand it in with “Submit completion "
                                            "report” when the documents are attached."))
                return redirect(reverse("application_detail", args=[pk]) + "#reports")
    return render_page(request, "grants/reports/completion_form.html", {
        "application": application, "form": form, "tolerance_percent": application.fund.variance_tolerance_percent,
        "budget_total": sum((row.budget for row in rows), Decimal(0)),
        "documents": completion_documents(application),
    }, status=status, active="mine")


# --- Deadline extensions ---------------------------------------------------------------------------------------


@login_required
def deadline_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """The foundation gives the project more time for the report owed next (grants.services.deadline_extend)."""
    from .views import forbidden, render_page, visible_application

    application = visible_application(request.user, pk)
    if not may_extend_deadline(request.user, application):
        return forbidden(request, _("Only the foundation's programme officer or secretary-general may extend a "
                                    "deadline."))
    due_on = next_report_due(application)
    form = DeadlineExtensionForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                extension = services.deadline_extend(actor=request.user, application=application,
                                                     new_due_on=form.cleaned_data["new_due_on"],
                                                     reason=form.cleaned_data["reason"])
            except ActionForbidden as exc:
                return forbidden(request, exc.message)
            except ApplicationError as exc:
                form.show_refusal(exc)
                status = exc.http_status
            else:
                messages.success(request, _("%(report)s is now due on %(date)s.") % {
                    "report": extension.get_report_display(), "date": extension.new_due_on.isoformat()})
                return redirect(reverse("application_detail", args=[pk]) + "#reports")
    # The report the extension applies to, chosen as grants.services.deadline_extend chooses it.
    owed = outstanding_progress_reports(application).first()
    if owed is not None and due_on is not None and owed.due_on != due_on:
        owed = None
    return render_page(request, "grants/reports/extension_form.html", {
        "application": application, "form": form, "due_on": due_on, "owed_progress_report": owed,
        "overdue": due_on is not None and due_on < timezone.localdate(),
    }, status=status)


# --- Overdue projects -----------------------------------------------------------------------------------------


def sees_overdue_projects(user: AbstractBaseUser) -> bool:
    """Street office and foundation staff watch overdue projects (communities see their own on their pages)."""
    return getattr(user, "is_superuser", False) or any(
        scope in (Scope.STREET, Scope.FOUNDATION) for _role, scope, _org in role_keys(user))


def overdue_panel(user: AbstractBaseUser) -> dict[str, Any]:
    """The dashboard panel: the first overdue projects and how many there are (two queries)."""
    if not sees_overdue_projects(user):
        return {"overdue_rows": None}
    queryset = overdue_applications(user)
    rows = list(queryset[:PANEL_SIZE])
    count = len(rows) if len(rows) < PANEL_SIZE else queryset.count()
    today = timezone.localdate()
    return {"overdue_rows": [(application, (today - application.next_report_due_on).days) for application in rows],
            "overdue_count": count, "overdue_more": count > len(rows)}


@login_required
def overdue_list(request: HttpRequest) -> HttpResponse:
    """Every project the person may see whose report is overdue."""
    from .pagination import paginate
    from .views import render_page

    if not sees_overdue_projects(request.user):
        raise PermissionDenied(_("Only street office and foundation staff follow overdue projects."))
    page = paginate(request, overdue_applications(request.user))
    today = timezone.localdate()
    return render_page(request, "grants/reports/overdue_list.html", {
        "page": page, "rows": [(application, (today - application.next_report_due_on).days)
                               for application in page.object_list]}, active="all")
