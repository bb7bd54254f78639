"""Pages of the grant domain; thin: check permission, call one service or selector, render.

Business refusals (grants.errors) become pages: ActionForbidden 403, ApplicationConflict 409 with fresh
data, any other ApplicationError 400 with its translated message on the form that caused it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflows.selectors import tasks_of_application

from . import rules, services
from .actions import ACTIONS, action_perform, available_actions
from .calendar import calendar_warning
from .errors import ActionForbidden, ApplicationConflict, ApplicationError
from .forms import (
    ActionForm,
    ApplicationFilterForm,
    ApplicationForm,
    AttachmentForm,
    Attachments,
    Beneficiaries,
    BudgetLines,
)
from .models import Community, GrantApplication, Role, ServiceCategory
from .pagination import paginate
from .permissions import holds_role, role_keys
from .report_views import reporting_context
from .selectors import NEEDED_TO_DECIDE, application_audit_trail, applications_visible_to
from .states import ACTION_LABELS, FINAL_STATES, STEPS, State

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet
    from viewflow.workflow.models import Task

# Roles that decide at a review step: they work from an inbox and a queue.
REVIEWER_ROLES = frozenset(step.role for step in STEPS.values()) - {Role.APPLICANT}
# Who may add documents to an application (grants.services.drafting._may_attach decides for real).
ATTACHING_ROLES = (Role.APPLICANT, Role.PROGRAMME_OFFICER, Role.SECRETARY_GENERAL, Role.BOARD_MEMBER)
# The conditions of `submit`, shown to the applicant before they try.
SUBMIT_RULES = (rules.dates_valid, rules.budget_balances, rules.beneficiaries_planned,
                rules.required_documents_present)


# --- Shared page pieces ------------------------------------------------------------------------------------


def person_name(user: AbstractBaseUser | None) -> str:
    """How a person is named on a page: Chinese names family name first, without a space."""
    if user is None:
        return ""
    first, last = getattr(user, "first_name", ""), getattr(user, "last_name", "")
    if first and last and not (first + last).isascii():
        return f"{last}{first}"
    return user.get_full_name() or user.get_username()


class Nav:
    """What the navigation offers this person, from their roles; task counts are read only when shown."""

    def __init__(self, user: AbstractBaseUser, active: str = "") -> None:
        self.user = user
        self.active = active
        roles = {role for role, _scope, _org in role_keys(user)}
        self.is_applicant = Role.APPLICANT in roles
        self.is_reviewer = bool(roles & REVIEWER_ROLES)
        self.sees_all = bool(roles - {Role.APPLICANT}) or getattr(user, "is_superuser", False)
        foundation_roles = {Role.PROGRAMME_OFFICER, Role.SECRETARY_GENERAL, Role.BOARD_MEMBER, Role.FINANCE,
                            Role.AUDITOR}
        self.sees_money = bool(roles & foundation_roles) or getattr(user, "is_superuser", False)
        self.is_finance = Role.FINANCE in roles
        self.user_name = person_name(user) if user.is_authenticated else ""


def render_page(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200,
                active: str = "") -> HttpResponse:
    """Render a page of the site with its navigation."""
    return render(request, template, {"nav": Nav(request.user, active), **context}, status=status)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page with the translated reason."""
    return render_page(request, "403.html", {"exception": message}, status=403)


def visible_application(user: AbstractBaseUser, pk: int, *,
                        queryset: QuerySet[GrantApplication] | None = None) -> GrantApplication:
    """The application if the user may see it; otherwise 404, so that its existence is never revealed."""
    # `queryset`: the user's visible applications with more loaded (the API's prefetches), already scoped.
    try:
        return (applications_visible_to(user) if queryset is None else queryset).get(pk=pk)
    except GrantApplication.DoesNotExist:
        raise Http404(_("No such application.")) from None


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def step_label(name: str) -> str:
    return str(State(name).label) if name in State.values else name.replace("_", " ")


def waiting_for(application: GrantApplication) -> str:
    """Who the application waits for now, from its state (no query)."""
    step = STEPS.get(application.status)
    if step is not None:
        return str(step.role.label)
    if application.status == State.PUBLICITY and application.publicity_ends_on:
        return _("publicity until %(date)s") % {"date": application.publicity_ends_on.isoformat()}
    return ""


@dataclass(frozen=True)
class TaskRow:
    """One open or finished human task as the pages show it."""

    task: Task
    application: GrantApplication
    step: str
    holder: str
    offered_to: str
    deadline: dt.datetime | None
    overdue: bool

    @property
    def amount(self) -> Any:
        """The amount the row shows: what was approved, or else what was asked for."""
        return self.application.approved_amount or self.application.requested_amount


def task_rows(tasks: Any) -> list[TaskRow]:
    """Rows of tasks loaded by a workflows selector (owner and application already joined)."""
    now = timezone.now()
    rows = []
    for task in tasks:
        name = task.flow_task.name
        step = STEPS.get(name)
        deadline = getattr(task, "deadline", None)
        rows.append(TaskRow(
            task=task, application=task.process.grantprocess.application, step=step_label(name),
            holder=person_name(task.owner) if task.owner_id else "",
            offered_to=str(step.role.label) if step else "",
            deadline=deadline, overdue=bool(deadline and deadline < now and task.finished is None)))
    return rows


@dataclass(frozen=True)
class AuditRow:
    entry: Any
    actor: str
    action: str
    source: str
    target: str


def audit_rows(application: GrantApplication) -> list[AuditRow]:
    return [AuditRow(entry=entry, actor=person_name(entry.actor),
                     action=str(ACTION_LABELS.get(entry.action, entry.action)),
                     source=entry.get_from_state_display(), target=entry.get_to_state_display())
            for entry in application_audit_trail(application)]


def action_forms(application: GrantApplication, user: AbstractBaseUser) -> list[ActionForm]:
    return [ActionForm(action) for action in available_actions(application, user)]


def application_context(request: HttpRequest, application: GrantApplication, *,
                        forms: list[ActionForm] | None = None, page_error: str = "",
                        attach_form: AttachmentForm | None = None) -> dict[str, Any]:
    """Everything the application's page (and a task page, around its decision) shows."""
    user = request.user
    lines = list(application.budget_lines.all())
    is_applicant = holds_role(user, Role.APPLICANT, application)
    may_attach = (application.status not in FINAL_STATES
                  and any(holds_role(user, role, application) for role in ATTACHING_ROLES))
    problems = []
    if is_applicant and application.is_editable:
        problems = [problem for rule in SUBMIT_RULES if (problem := rule.problem(application))]
    return {
        "application": application,
        "budget_lines": lines,
        "budget_total": sum((line.amount for line in lines), Decimal("0")),
        "beneficiaries": list(application.beneficiary_groups.all()),
        "attachments": list(application.attachments.all()),
        "objections": list(application.objections.all()),
        "tranches": list(application.tranches.all()),
        "open_tasks": task_rows(tasks_of_application(application.pk)),
        "action_forms": action_forms(application, user) if forms is None else forms,
        "audit": audit_rows(application),
        "waiting_for": waiting_for(application),
        "can_edit": is_applicant and application.is_editable,
        "submit_problems": problems,
        "attach_form": attach_form or (AttachmentForm(auto_id="id_doc_%s") if may_attach else None),
        "page_error": page_error,
        "calendar_warnings": calendar_warnings(),
        **reporting_context(application, user),
    }


def calendar_warnings() -> list[str]:
    """Warnings for the years whose official holidays are unknown, among those deadlines may fall in soon."""
    today = timezone.localdate()
    years = sorted({today.year, (today + dt.timedelta(days=60)).year})
    return [warning for year in years if (warning := calendar_warning(year))]


# --- Home and lists ----------------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each person where they work: reviewers to their inbox, applicants to their applications."""
    nav = Nav(request.user)
    if nav.is_reviewer:
        return redirect("workflows:inbox")
    if nav.is_applicant:
        return redirect("my_applications")
    if nav.sees_all:
        return redirect("application_list")
    return render(request, "grants/home.html", {"nav": nav})


def _applicant_community_ids(user: AbstractBaseUser) -> list[int]:
    return sorted(org for role, _scope, org in role_keys(user) if role == Role.APPLICANT)


@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    """The applications of the communities the person applies for, drafts included."""
    communities = _applicant_community_ids(request.user)
    if not communities:
        raise PermissionDenied(_("Only applicants of a community have applications of their own."))
    applications = applications_visible_to(request.user).filter(community_id__in=communities)
    return render_page(request, "grants/my_applications.html",
                       {"page": paginate(request, applications)}, active="mine")


@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    """Every application the person may see, filtered by state, community and category."""
    visible = applications_visible_to(request.user)
    form = ApplicationFilterForm(
        request.GET or None,
        communities=Community.objects.filter(pk__in=visible.values("community_id")),
        categories=ServiceCategory.objects.filter(pk__in=visible.values("category_id")))
    filters = form.filters()
    applications = visible.none() if filters is None else visible.filter(**filters)
    return render_page(request, "grants/application_list.html",
                       {"page": paginate(request, applications), "filter_form": form}, active="all")


# --- Drafting ----------------------------------------------------------------------------------------------


def _show_validation_error(exc: ValidationError, form: ApplicationForm) -> None:
    """Put a model ValidationError raised by a drafting service onto the form's fields."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _draft_page(request: HttpRequest, *, form: ApplicationForm, budget: Any, beneficiaries: Any,
                documents: Any, application: GrantApplication | None, status: int) -> HttpResponse:
    return render_page(request, "grants/application_form.html", {
        "form": form, "budget": budget, "beneficiaries": beneficiaries, "documents": documents,
        "application": application, "budget_total": budget.total() if budget.is_bound else sum(
            (Decimal(str(initial["amount"])) for initial in budget.initial or ()), Decimal("0")),
    }, status=status, active="mine")


def _save_draft(request: HttpRequest, *, form: ApplicationForm, budget: Any, beneficiaries: Any,
                documents: Any, application: GrantApplication | None) -> GrantApplication | None:
    """Create or update the draft with its lines and documents in one transaction; None when refused."""
    try:
        with transaction.atomic():
            if application is None:
                application = services.application_create(
                    actor=request.user, community=form.cleaned_data["community"], budget_lines=budget.lines(),
                    beneficiaries=beneficiaries.groups(), **form.changes())
            else:
                services.application_update(actor=request.user, application=application,
                                            budget_lines=budget.lines(), beneficiaries=beneficiaries.groups(),
                                            **form.changes())
            for kind, file in documents.uploads():
                services.attachment_add(actor=request.user, application=application, kind=kind, file=file)
    except ValidationError as exc:
        _show_validation_error(exc, form)
    except ActionForbidden:
        raise
    except ApplicationError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    else:
        return application
    return None


def _draft_view(request: HttpRequest, application: GrantApplication | None) -> HttpResponse:
    if application is None:
        communities = list(Community.objects.filter(pk__in=_applicant_community_ids(request.user)))
        if not communities:
            raise PermissionDenied(_("Only an applicant of a community may start an application."))
        form_kwargs: dict[str, Any] = {"communities": communities}
        initial: dict[str, Any] = {}
        lines: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
    else:
        form_kwargs = {}
        initial = {name: getattr(application, name) for name in
                   ("title", "category", "summary", "start_date", "end_date", "requested_amount")}
        lines = [{"category": line.category, "description": line.description, "amount": line.amount}
                 for line in application.budget_lines.all()]
        groups = [{"kind": group.kind, "planned_count": group.planned_count}
                  for group in application.beneficiary_groups.all()]
    data = request.POST if request.method == "POST" else None
    form = ApplicationForm(data, initial=initial, **form_kwargs)
    budget = BudgetLines(data, initial=lines, prefix="budget")
    beneficiaries = Beneficiaries(data, initial=groups, prefix="beneficiaries")
    documents = Attachments(data, request.FILES or None, prefix="documents")
    pieces = {"form": form, "budget": budget, "beneficiaries": beneficiaries, "documents": documents,
              "application": application}
    if data is None:
        return _draft_page(request, **pieces, status=200)
    if all(part.is_valid() for part in (form, budget, beneficiaries, documents)):
        try:
            saved = _save_draft(request, **pieces)
        except ActionForbidden as exc:
            return forbidden(request, exc.message)
        if saved is not None:
            messages.success(request, _("The application was saved."))
            return redirect("application_detail", pk=saved.pk)
    return _draft_page(request, **pieces, status=400)


@login_required
def application_create(request: HttpRequest) -> HttpResponse:
    """An applicant starts a draft for their community."""
    return _draft_view(request, None)


@login_required
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant edits a draft or a returned application."""
    application = visible_application(request.user, pk)
    if not holds_role(request.user, Role.APPLICANT, application):
        return forbidden(request, _("Only an applicant of the community may edit its application."))
    if not application.is_editable:
        messages.error(request, _("Only a draft or an application returned for revision can be edited."))
        return redirect("application_detail", pk=pk)
    return _draft_view(request, application)


# --- One application -------------------------------------------------------------------------------------


@login_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one application, the actions the person may take now, and its history."""
    application = visible_application(request.user, pk)
    return render_page(request, "grants/application_detail.html", application_context(request, application))


def _task_for_redisplay(request: HttpRequest, application: GrantApplication) -> Task | None:
    """The task whose page posted the action, to show the refusal on that page again."""
    from workflows.views import task_of_application

    raw = request.POST.get("task", "")
    return task_of_application(int(raw), application) if raw.isdigit() else None


@login_required
@require_POST
def application_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Take one action on the application with the inputs of its form (grants.actions.action_perform)."""
    if action not in ACTIONS:
        raise Http404(_("Unknown action."))
    application = visible_application(request.user, pk, queryset=applications_visible_to(
        request.user, loading=NEEDED_TO_DECIDE))
    try:
        action_perform(action=action, actor=request.user, application=application, data=request.POST,
                       expected_state=request.POST.get("expected_state") or None)
    except ActionForbidden as exc:
        return forbidden(request, exc.message)
    except ApplicationError as exc:
        return _refused_action(request, pk, action, exc)
    messages.success(request, _("Done: %(action)s.") % {"action": ACTIONS[action].label})
    return HttpResponseRedirect(safe_next(request, reverse("application_detail", args=[pk])))


def _refused_action(request: HttpRequest, pk: int, action: str, exc: ApplicationError) -> HttpResponse:
    """Show the page the action came from again, from fresh data, with the refusal where it belongs."""
    from workflows.views import render_task_page

    application = visible_application(request.user, pk)
    forms = action_forms(application, request.user)
    page_error = exc.message
    status = exc.http_status
    if not isinstance(exc, ApplicationConflict):
        for index, form in enumerate(forms):
            if form.action.name == action:
                forms[index] = ActionForm(form.action, data=request.POST)
                forms[index].show_error(exc.message, exc.field)
                page_error = ""
    task = _task_for_redisplay(request, application)
    if task is not None:
        return render_task_page(request, task, application, forms=forms, page_error=page_error, status=status)
    return render_page(request, "grants/application_detail.html",
                       application_context(request, application, forms=forms, page_error=page_error),
                       status=status)
