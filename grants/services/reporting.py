"""Use cases of a funded project's reporting: the schedule, progress reports, the completion report, deadlines."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import ActionForbidden, ApplicationError
from ..models import (
    ActualSpending,
    AuditEntry,
    BeneficiaryGroup,
    CompletionReport,
    DeadlineExtension,
    GrantApplication,
    ProgressReport,
    Role,
    ServedBeneficiaries,
    Tranche,
)
from ..permissions import holds_role
from ..selectors.reporting import COMPLETION_OWED_STATES, next_report_due, outstanding_progress_reports
from ..states import State
from .money import amount_parse, tranches_release
from .transitions import require_text, run_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

# 慈善法 Art 79: a project longer than six months reports its progress at least every three months.
LONG_PROJECT_MONTHS = 6
REPORT_EVERY_MONTHS = 3
# A report sent back for revision is owed again this many days after it was returned, at the earliest.
RESUBMISSION_DAYS = 14
# While the project is in one of these states the applicant may fill in the completion report.
COMPLETION_EDITABLE_STATES = (State.IN_PROGRESS, State.PROGRESS_REVIEW, State.REPORT_RETURNED)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def is_long_project(start: dt.date, end: dt.date) -> bool:
    """Longer than six months: it owes a progress report at least every three months."""
    return end > add_months(start, LONG_PROJECT_MONTHS)


def progress_report_dates(*, start: dt.date, end: dt.date, signed_on: dt.date,
                          midterm_required: bool) -> list[tuple[dt.date, bool]]:
    """When each progress report is due, and which one is the mid-term report.

    Long projects report every three months from their start (or from the signing, when that is later) until
    their end; the report nearest the middle is the mid-term one. A shorter project whose payment schedule has
    a mid-term tranche reports once, in the middle.
    """
    base = max(start, signed_on)
    dates: list[dt.date] = []
    if is_long_project(start, end):
        due = add_months(base, REPORT_EVERY_MONTHS)
        while due < end:
            dates.append(due)
            due = add_months(due, REPORT_EVERY_MONTHS)
    if not dates and midterm_required:
        dates.append(max(base + (end - base) / 2, signed_on + dt.timedelta(days=1)))
    if not dates:
        return []
    middle = start + (end - start) / 2
    midterm = min(dates, key=lambda due: abs(due - middle)) if midterm_required else None
    return [(due, due == midterm) for due in dates]


def reporting_plan(application: GrantApplication) -> list[ProgressReport]:
    """Set the reporting duties at signing: mid-term requirement, progress reports and the completion due date."""
    has_midterm_tranche = application.tranches.filter(condition=Tranche.Condition.MIDTERM_ACCEPTED).exists()
    application.midterm_required = has_midterm_tranche or is_long_project(application.start_date,
                                                                          application.end_date)
    # Due a number of days after the end (or after the signing, for an agreement signed that late).
    application.completion_due_on = (max(application.end_date, timezone.localdate())
                                     + dt.timedelta(days=application.fund.completion_report_days))
    reports = [ProgressReport(application=application, number=number, due_on=due, is_midterm=is_midterm)
               for number, (due, is_midterm) in enumerate(progress_report_dates(
                   start=application.start_date, end=application.end_date, signed_on=timezone.localdate(),
                   midterm_required=application.midterm_required), start=1)]
    if application.midterm_required and not any(report.is_midterm for report in reports):
        application.midterm_required = False  # nothing to review: the project ends before a report falls due
    # From the reports in hand (they are stored after the signing); the signing's own save writes the date.
    obligations_refresh(application, moving_to=State.IN_PROGRESS, progress_due=[report.due_on for report in reports])
    return reports


def _earliest_due(application: GrantApplication, *, status: str, progress_due: Sequence[dt.date]) -> dt.date | None:
    """next_report_due from progress report due dates the caller already holds (no query)."""
    if status not in COMPLETION_OWED_STATES:
        return None
    dates = [*progress_due, *([application.completion_due_on] if application.completion_due_on else [])]
    return min(dates, default=None)


def obligations_refresh(application: GrantApplication, *, moving_to: str | None = None,
                        progress_due: Sequence[dt.date] | None = None) -> None:
    """Keep next_report_due_on, the earliest date a report is owed by (overdue past it): its only writer.

    `moving_to` is the state a transition is about to enter: the date is then only set on the object, for the
    transition's own save to store. `progress_due` are the due dates of the progress reports still owed, when the
    caller holds them (else the next one's is read).
    """
    status = moving_to or application.status
    if progress_due is None:
        due = next_report_due(application, status=status)
    else:
        due = _earliest_due(application, status=status, progress_due=progress_due)
    if moving_to is not None:
        application.next_report_due_on = due
    elif due != application.next_report_due_on:
        application.next_report_due_on = due
        GrantApplication.objects.filter(pk=application.pk).update(next_report_due_on=due)


def _count(value: object, *, field: str) -> int:
    try:
        count = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ApplicationError(_("Please enter a whole number of people."), code="invalid_number",
                               field=field) from exc
    if count < 0:
        raise ApplicationError(_("Please enter a whole number of people."), code="invalid_number", field=field)
    return count


# --- Progress reports ------------------------------------------------------------------------------------

def progress_report_submit(*, actor: User, application: GrantApplication, progress: str,
                           beneficiaries_served: object = None, spent_to_date: object = None) -> ProgressReport:
    """The applicant hands in the progress report that is owed (the earliest one); the officer reviews it."""
    progress = require_text(progress, field="progress")
    served = None if beneficiaries_served in (None, "") else _count(beneficiaries_served, field="beneficiaries_served")
    spent = (None if spent_to_date in (None, "")
             else amount_parse(spent_to_date, field="spent_to_date", zero_allowed=True))
    report = outstanding_progress_reports(application).first()

    def record_report() -> None:
        report.submit()
        report.progress, report.beneficiaries_served, report.spent_to_date = progress, served, spent
        report.save()
        obligations_refresh(application)

    run_transition(application, "submit_progress_report", actor=actor, comment=progress, effects=record_report)
    return report


def progress_report_review(*, actor: User, application: GrantApplication, accept: bool,
                           comment: str) -> ProgressReport:
    """The programme officer accepts the progress report under review or returns it with reasons."""
    report = application.progress_reports.filter(status=ProgressReport.Status.SUBMITTED).first()
    if not accept:
        comment = require_text(comment, field="reason")

    def stamp_midterm() -> None:
        if accept and report is not None and report.is_midterm:
            application.midterm_accepted_at = timezone.now()  # written by the transition's own save

    def record_review() -> None:
        if report is None:
            raise ApplicationError(_("There is no progress report under review."), code="no_progress_report")
        report.reviewed_by, report.review_comment = actor, comment
        if accept:
            report.accept()
            if report.is_midterm:
                tranches_release(application=application, condition=Tranche.Condition.MIDTERM_ACCEPTED)
        else:
            report.send_back()
            report.due_on = max(report.due_on, timezone.localdate() + dt.timedelta(days=RESUBMISSION_DAYS))
        report.save()
        obligations_refresh(application)

    action = "accept_progress_report" if accept else "return_progress_report"
    run_transition(application, action, actor=actor, comment=comment, prepare=stamp_midterm, effects=record_review)
    return report


# --- The completion report -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpendingInput:
    """What the applicant reports as spent on one budget line."""

    budget_line_id: int
    amount: object
    explanation: str = ""


@transaction.atomic
def completion_report_save(
    *,
    actor: User,
    application: GrantApplication,
    outcomes: str,
    public_summary: str,
    activities_held: object = 0,
    activities: str = "",
    private_notes: str = "",
    served: Mapping[str, object] | None = None,
    spending: list[SpendingInput] | None = None,
) -> CompletionReport:
    """The applicant writes (or rewrites) the completion report before handing it in."""
    if not holds_role(actor, Role.APPLICANT, application):
        raise ActionForbidden(_("Only the applicant of the community writes its completion report."),
                              code="forbidden")
    if application.status not in COMPLETION_EDITABLE_STATES:
        raise ApplicationError(_("The completion report can no longer be changed."), code="report_locked")
    outcomes = require_text(outcomes, field="outcomes")
    public_summary = require_text(public_summary, field="public_summary")
    held = _count(activities_held or 0, field="activities_held")
    counts: dict[str, int] = {}
    for kind, value in (served or {}).items():
        if kind not in BeneficiaryGroup.Kind.values:
            raise ApplicationError(_("Unknown kind of beneficiary."), code="invalid_kind", field="served")
        if value not in (None, ""):
            counts[kind] = _count(value, field=f"served_{kind}")
    lines = {line.pk: line for line in application.budget_lines.all()}
    actual: dict[int, tuple[Decimal, str]] = {}
    for row in spending or []:
        if row.budget_line_id not in lines:
            raise ApplicationError(_("This budget line does not belong to the application."),
                                   code="invalid_budget_line", field="spending")
        if row.amount in (None, ""):
            continue
        amount = amount_parse(row.amount, field=f"spending_{row.budget_line_id}", zero_allowed=True)
        actual[row.budget_line_id] = (amount, (row.explanation or "").strip())
    report, _created = CompletionReport.objects.update_or_create(application=application, defaults={
        "outcomes": outcomes, "public_summary": public_summary, "activities_held": held,
        "activities": (activities or "").strip(), "private_notes": (private_notes or "").strip()})
    report.served.all().delete()
    ServedBeneficiaries.objects.bulk_create(
        ServedBeneficiaries(report=report, kind=kind, served_count=count) for kind, count in counts.items())
    report.spending.all().delete()
    ActualSpending.objects.bulk_create(
        ActualSpending(report=report, budget_line_id=pk, amount=amount, explanation=explanation)
        for pk, (amount, explanation) in actual.items())
    return report


def completion_report_submit(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The applicant hands in the completion report for street verification."""

    def owe_nothing_while_verified() -> None:
        obligations_refresh(application, moving_to=State.COMPLETION_VERIFICATION)  # stored by the transition's save

    def stamp() -> None:
        CompletionReport.objects.filter(application=application).update(submitted_at=timezone.now())

    return run_transition(application, "submit_completion_report", actor=actor, comment=comment,
                          prepare=owe_nothing_while_verified, effects=stamp)


def completion_return(*, actor: User, application: GrantApplication, reason: str) -> GrantApplication:
    """The street or the foundation returns the completion report with reasons; it is owed again."""

    def owe_again() -> None:
        # Both dates are stored by the transition's own save (no separate updates of the application).
        resubmit_by = timezone.localdate() + dt.timedelta(days=RESUBMISSION_DAYS)
        if application.completion_due_on is None or application.completion_due_on < resubmit_by:
            application.completion_due_on = resubmit_by
        obligations_refresh(application, moving_to=State.REPORT_RETURNED)

    return run_transition(application, "return_completion_report", actor=actor,
                          comment=require_text(reason, field="reason"), prepare=owe_again)


# --- Deadlines -------------------------------------------------------------------------------------------

EXTENDING_ROLES = (Role.PROGRAMME_OFFICER, Role.SECRETARY_GENERAL)


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ApplicationError(_("Please enter a date like 2026-12-31."), code="invalid_date",
                               field="new_due_on") from exc


def deadline_extend(*, actor: User, application: GrantApplication, new_due_on: Any, reason: str) -> DeadlineExtension:
    """The foundation gives the project more time for the report owed next (recorded with its reason)."""
    if not any(holds_role(actor, role, application) for role in EXTENDING_ROLES):
        raise ActionForbidden(_("Only the foundation's programme officer or secretary-general may extend a "
                                "deadline."), code="forbidden")
    reason = require_text(reason, field="reason")
    new_due_on = _parse_date(new_due_on)
    with transaction.atomic():
        application = GrantApplication.objects.select_for_update().get(pk=application.pk)
        # The one read of the outstanding reports: what is owed, which report moves and the next due date after.
        owed_next = outstanding_progress_reports(application).first()
        progress_due = [] if owed_next is None else [owed_next.due_on]
        if _earliest_due(application, status=application.status, progress_due=progress_due) is None:
            raise ApplicationError(_("No report is owed by this project at present."), code="nothing_owed")
        if owed_next is not None and owed_next.due_on <= (application.completion_due_on or owed_next.due_on):
            kind, old, report = DeadlineExtension.Report.PROGRESS, owed_next.due_on, owed_next
        else:
            kind, old, report = DeadlineExtension.Report.COMPLETION, application.completion_due_on, None
        if new_due_on <= old:
            raise ApplicationError(_("The new due date must be later than the current one (%(date)s).")
                                   % {"date": old}, code="extension_not_later", field="new_due_on")
        if report is not None:
            report.due_on = new_due_on
            report.save(update_fields=["due_on"])
        else:
            application.completion_due_on = new_due_on
            GrantApplication.objects.filter(pk=application.pk).update(completion_due_on=new_due_on)
        extension = DeadlineExtension.objects.create(application=application, report=kind, progress_report=report,
                                                     old_due_on=old, new_due_on=new_due_on, reason=reason,
                                                     granted_by=actor)
        AuditEntry.objects.create(application=application, action="extend_deadline", from_state=application.status,
                                  to_state=application.status, actor=actor,
                                  comment=_("%(report)s due %(old)s → %(new)s: %(reason)s") % {
                                      "report": extension.get_report_display(), "old": old, "new": new_due_on,
                                      "reason": reason})
        obligations_refresh(application, progress_due=[] if owed_next is None else [owed_next.due_on])
    return extension
