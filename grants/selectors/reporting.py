"""Reads about a project's reports: what is owed when, and how actual spending compares with the budget."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet, Sum
from django.utils import timezone

from ..models import ActualSpending, BudgetLine, CompletionReport, GrantApplication, ProgressReport
from ..states import State

CENT = Decimal("0.01")
# While the project is in one of these states, its completion report is owed.
COMPLETION_OWED_STATES = (State.IN_PROGRESS, State.PROGRESS_REVIEW, State.REPORT_RETURNED)


@dataclass(frozen=True)
class SpendingRow:
    """One budget line of the completion report: its approved budget, the actual spending and the variance."""

    line: BudgetLine
    budget: Decimal
    actual: Decimal | None
    explanation: str
    tolerance_percent: Decimal

    @property
    def variance(self) -> Decimal | None:
        return None if self.actual is None else self.actual - self.budget

    @property
    def variance_percent(self) -> Decimal | None:
        if self.actual is None or not self.budget:
            return None
        return (self.variance * 100 / self.budget).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def over_tolerance(self) -> bool:
        percent = self.variance_percent
        return percent is not None and abs(percent) > self.tolerance_percent


def line_budgets(application: GrantApplication, lines: list[BudgetLine]) -> list[Decimal]:
    """Each line's share of the approved amount: lines are scaled when less was approved than requested."""
    approved, requested = application.approved_amount, application.requested_amount
    if not approved or not requested or approved == requested:
        return [line.amount for line in lines]
    budgets = [(line.amount * approved / requested).quantize(CENT, rounding=ROUND_HALF_UP) for line in lines]
    if budgets:  # rounding remainder on the last line, so the budgets add up to the approved amount
        budgets[-1] += approved - sum(budgets)
    return budgets


def completion_spending(application: GrantApplication, report: CompletionReport | None = None) -> list[SpendingRow]:
    """Every budget line with its budget, the reported actual spending and whether it needs an explanation."""
    lines = list(application.budget_lines.all())
    report = report if report is not None else CompletionReport.objects.filter(application=application).first()
    actual = {} if report is None else {row.budget_line_id: row for row in
                                        ActualSpending.objects.filter(report=report)}
    tolerance = application.fund.variance_tolerance_percent
    return [SpendingRow(line=line, budget=budget, actual=actual[line.pk].amount if line.pk in actual else None,
                        explanation=actual[line.pk].explanation if line.pk in actual else "",
                        tolerance_percent=tolerance)
            for line, budget in zip(lines, line_budgets(application, lines), strict=True)]


def actual_spending_total(application: GrantApplication) -> Decimal:
    """What the completion report says was spent in all (zero without a report)."""
    total = ActualSpending.objects.filter(report__application=application).aggregate(
        total=Sum("amount", default=Decimal(0)))["total"]
    return Decimal(total).quantize(CENT)  # SQLite's sum drops the trailing zeros


def outstanding_progress_reports(application: GrantApplication) -> QuerySet[ProgressReport]:
    """The progress reports still owed (due, or returned for revision), earliest first."""
    return application.progress_reports.filter(
        status__in=[ProgressReport.Status.DUE, ProgressReport.Status.RETURNED]).order_by("number")


def next_report_due(application: GrantApplication, *, status: str | None = None) -> dt.date | None:
    """The earliest date any report of the project is owed by (None when nothing is owed).

    `status` is the state to answer for, when a transition is about to move the project there.
    """
    if (status or application.status) not in COMPLETION_OWED_STATES:
        return None
    dates = list(outstanding_progress_reports(application).values_list("due_on", flat=True)[:1])
    if application.completion_due_on:
        dates.append(application.completion_due_on)
    return min(dates) if dates else None


def overdue_applications(user: AbstractBaseUser) -> QuerySet[GrantApplication]:
    """The projects this person may see whose next report is past its due date, longest overdue first."""
    from .applications import applications_visible_to

    return (applications_visible_to(user).filter(next_report_due_on__lt=timezone.localdate())
            .order_by("next_report_due_on", "pk"))
