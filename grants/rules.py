"""Conditions on application transitions, each able to say in words what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .models.applications import GrantApplication


@dataclass(frozen=True)
class Rule:
    """A transition condition: truthy for django-fsm, and a translated problem for people."""

    code: str
    problem: Callable[[GrantApplication], str | None]

    def __call__(self, application: GrantApplication) -> bool:
        return self.problem(application) is None

    @property
    def __name__(self) -> str:  # django-fsm's graph export names conditions by __name__
        return self.code


def rule(code: str) -> Callable[[Callable[[GrantApplication], str | None]], Rule]:
    """Turn a function returning a problem message (or None) into a named Rule."""
    return lambda problem: Rule(code, problem)


@rule("budget_unbalanced")
def budget_balances(application: GrantApplication) -> str | None:
    lines = list(application.budget_lines.all())
    if not lines:
        return _("Add at least one budget line.")
    total = sum((line.amount for line in lines), Decimal("0"))
    if total != application.requested_amount:
        return _("The budget lines add up to %(total)s yuan but the requested amount is %(requested)s yuan.") % {
            "total": total, "requested": application.requested_amount}
    return None


@rule("no_beneficiaries")
def beneficiaries_planned(application: GrantApplication) -> str | None:
    if not any(group.planned_count > 0 for group in application.beneficiary_groups.all()):
        return _("Say who will benefit: add at least one beneficiary group with a planned count.")
    return None


@rule("dates_invalid")
def dates_valid(application: GrantApplication) -> str | None:
    if not application.start_date or not application.end_date:
        return _("Give the project's start and end dates.")
    if application.end_date < application.start_date:
        return _("The project cannot end before it starts.")
    return None


def missing_documents(application: GrantApplication, required: list[str]) -> str:
    """The names of the required kinds of document the application does not carry yet ("" when none)."""
    from .models.applications import Attachment

    present = set(application.attachments.values_list("kind", flat=True))
    return "、".join(str(Attachment.Kind(kind).label) for kind in required if kind not in present)


@rule("document_missing")
def required_documents_present(application: GrantApplication) -> str | None:
    missing = missing_documents(application, application.fund.required_documents or [])
    if missing:
        return _("A required document is missing: %(documents)s.") % {"documents": missing}
    return None


@rule("amount_not_set")
def amount_recommended(application: GrantApplication) -> str | None:
    amount = application.approved_amount
    if amount is None or amount <= 0:
        return _("The programme officer must recommend an amount before approval.")
    if amount > application.requested_amount:
        return _("The approved amount cannot exceed the requested amount.")
    return None


@rule("above_board_threshold")
def within_board_threshold(application: GrantApplication) -> str | None:
    if application.approved_amount is not None and application.approved_amount > application.fund.board_threshold:
        return _("Grants above %(threshold)s yuan need a board decision.") % {
            "threshold": application.fund.board_threshold}
    return None


@rule("within_board_threshold")
def above_board_threshold(application: GrantApplication) -> str | None:
    if application.approved_amount is None or application.approved_amount <= application.fund.board_threshold:
        return _("Only grants above %(threshold)s yuan go to the board.") % {
            "threshold": application.fund.board_threshold}
    return None


@rule("publicity_running")
def publicity_over(application: GrantApplication) -> str | None:
    ends = application.publicity_ends_on
    if ends is None or timezone.localdate() <= ends:
        return _("The publicity period runs until %(date)s.") % {"date": ends}
    return None


@rule("midterm_pending")
def midterm_settled(application: GrantApplication) -> str | None:
    if application.midterm_required and application.midterm_accepted_at is None:
        return _("The mid-term review must be accepted before the completion report.")
    return None


@rule("money_unsettled")
def tranches_settled(application: GrantApplication) -> str | None:
    from .models.money import Tranche

    waiting = application.tranches.filter(status__in=[Tranche.Status.PLANNED, Tranche.Status.PAYABLE]).count()
    if waiting:
        return _("%(count)s tranche(s) of this grant are not paid yet.") % {"count": waiting}
    return None


# --- Implementation and completion ---------------------------------------------------------------------------

@rule("no_progress_report_owed")
def progress_report_owed(application: GrantApplication) -> str | None:
    from .selectors.reporting import outstanding_progress_reports

    if not outstanding_progress_reports(application).exists():
        return _("No progress report is owed by this project at present.")
    return None


@rule("progress_report_pending")
def progress_reports_settled(application: GrantApplication) -> str | None:
    from .selectors.reporting import outstanding_progress_reports

    pending = outstanding_progress_reports(application).filter(due_on__lte=timezone.localdate()).first()
    if pending is not None:
        return _("Progress report %(number)s (due %(date)s) must be accepted before the completion report.") % {
            "number": pending.number, "date": pending.due_on}
    return None


@rule("completion_report_incomplete")
def completion_report_complete(application: GrantApplication) -> str | None:
    from .models.reporting import CompletionReport
    from .selectors.reporting import completion_spending

    report = CompletionReport.objects.filter(application=application).first()
    if report is None or not report.outcomes.strip():
        return _("Fill in the completion report (outcomes, people served and actual spending) first.")
    rows = completion_spending(application, report)
    missing = [row.line.description for row in rows if row.actual is None]
    if missing:
        return _("Actual spending is missing for: %(lines)s.") % {"lines": "、".join(missing)}
    unexplained = [row.line.description for row in rows if row.over_tolerance and not row.explanation.strip()]
    if unexplained:
        tolerance = format(application.fund.variance_tolerance_percent.normalize(), "f")
        return _("Spending differs from the budget by more than %(percent)s%% on %(lines)s: please explain why.") % {
            "percent": tolerance, "lines": "、".join(unexplained)}
    total = sum(row.actual for row in rows)
    if application.approved_amount is not None and total > application.approved_amount:
        return _("Actual spending (%(total)s yuan) cannot exceed the approved amount (%(approved)s yuan) "
                 "paid from this grant.") % {"total": total, "approved": application.approved_amount}
    return None


@rule("document_missing")
def completion_documents_present(application: GrantApplication) -> str | None:
    missing = missing_documents(application, application.fund.completion_documents or [])
    if missing:
        return _("A document required with the completion report is missing: %(documents)s.") % {
            "documents": missing}
    return None
