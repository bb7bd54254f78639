"""Reminders by due date, recorded by a periodic sweep; each has a natural key, so reruns record nothing new.

Working days follow the official Chinese calendar (grants.calendar) where the brief says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from grants.calendar import add_working_days, subtract_working_days
from grants.models import GrantApplication, Membership, ProgressReport, Role, Tranche
from grants.selectors.reporting import COMPLETION_OWED_STATES
from grants.states import State

from .models import Event, MessageType
from .services import RoleHolders, event_record

AGREEMENT_UNSIGNED_WORKING_DAYS = 10
TRANCHE_UNPAID_WORKING_DAYS = 5
REVISION_IDLE_DAYS = 14
# The foundation's work and financial report is due by 31 May; reminders a month and a week before.
ANNUAL_REPORT_DUE = (5, 31)
ANNUAL_REMINDER_DAYS = (30, 7)
# Reports: the applicants hear 7 days and 1 day before the due date, then weekly (with the programme
# officers) while the report is late.
REPORT_DUE_LEAD_DAYS = (7, 1)
REPORT_OVERDUE_EVERY_DAYS = 7
REPORT_OVERDUE_ROLES = (Role.APPLICANT, Role.PROGRAMME_OFFICER)
# Ids or keys per IN (...) list: SQLite takes at most 32,766 parameters.
BATCH = 1000


def _entered(state: State) -> dict[int, dt.datetime]:
    """When each application now waiting in `state` last entered it."""
    rows = (GrantApplication.objects.filter(status=state, audit_entries__to_state=state)
            .values("pk").annotate(entered=Max("audit_entries__created_at")))
    return {row["pk"]: row["entered"] for row in rows}


def publicity_ending(today: dt.date) -> int:
    """The applicant hears one working day before the publicity ends."""
    ends = add_working_days(today, 1)
    recorded = 0
    for application in GrantApplication.objects.filter(status=State.PUBLICITY, publicity_ends_on=ends).select_related(
            "created_by"):
        recorded += bool(event_record(kind=MessageType.PUBLICITY_ENDING, application=application,
                                      recipient=application.created_by,
                                      natural_key=f"publicity_ending:{application.pk}:{ends}"))
    return recorded


def agreement_unsigned(today: dt.date) -> int:
    """The secretary-general hears of agreements waiting 10 working days."""
    cutoff = subtract_working_days(today, AGREEMENT_UNSIGNED_WORKING_DAYS)
    recorded = 0
    waiting = _entered(State.AGREEMENT)
    for application in GrantApplication.objects.filter(pk__in=[pk for pk, at in waiting.items()
                                                               if timezone.localdate(at) <= cutoff]):
        entered = timezone.localdate(waiting[application.pk])
        recorded += bool(event_record(kind=MessageType.AGREEMENT_UNSIGNED, application=application,
                                      recipient_role=Role.SECRETARY_GENERAL,
                                      payload={"days": AGREEMENT_UNSIGNED_WORKING_DAYS},
                                      natural_key=f"agreement_unsigned:{application.pk}:{entered}"))
    return recorded


def tranche_unpaid(today: dt.date) -> int:
    """Finance hears of tranches payable but unpaid for 5 working days."""
    cutoff = subtract_working_days(today, TRANCHE_UNPAID_WORKING_DAYS)
    limit = timezone.make_aware(dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time.min))
    recorded = 0
    for tranche in Tranche.objects.filter(status=Tranche.Status.PAYABLE, payable_since__lt=limit).select_related(
            "application"):
        recorded += bool(event_record(kind=MessageType.TRANCHE_UNPAID, application=tranche.application,
                                      recipient_role=Role.FINANCE,
                                      payload={"amount": str(tranche.amount), "days": TRANCHE_UNPAID_WORKING_DAYS},
                                      natural_key=f"tranche_unpaid:{tranche.pk}"))
    return recorded


def revision_idle(now: dt.datetime) -> int:
    """The applicant hears when a returned application has waited 14 days for its revision."""
    recorded = 0
    waiting = _entered(State.REVISION_REQUESTED)
    idle = [pk for pk, at in waiting.items() if at <= now - dt.timedelta(days=REVISION_IDLE_DAYS)]
    for application in GrantApplication.objects.filter(pk__in=idle).select_related("created_by"):
        returned = timezone.localdate(waiting[application.pk])
        recorded += bool(event_record(kind=MessageType.REVISION_IDLE, application=application,
                                      recipient=application.created_by, payload={"days": REVISION_IDLE_DAYS},
                                      natural_key=f"revision_idle:{application.pk}:{returned}"))
    return recorded


def annual_disclosure(today: dt.date) -> int:
    """The secretary-general hears a month and a week before the annual report deadline (31 May)."""
    due = dt.date(today.year, *ANNUAL_REPORT_DUE)
    if (due - today).days not in ANNUAL_REMINDER_DAYS:
        return 0
    recorded = 0
    people = get_user_model().objects.filter(
        is_active=True, pk__in=Membership.objects.filter(role=Role.SECRETARY_GENERAL).values("user_id"))
    for person in people:
        recorded += bool(event_record(kind=MessageType.ANNUAL_DISCLOSURE, recipient=person,
                                      payload={"due": due.isoformat()},
                                      natural_key=f"annual_disclosure:{person.pk}:{due}:{today}"))
    return recorded


def reminders_record(*, now: dt.datetime | None = None) -> int:
    """Record every reminder that has come due; safe to run as often as the schedule likes."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    return (publicity_ending(today) + agreement_unsigned(today) + tranche_unpaid(today) + revision_idle(now)
            + annual_disclosure(today))


def digests_record(*, now: dt.datetime | None = None) -> int:
    """Record a morning digest for each person with tasks waiting in their inbox or queue."""
    from workflows.selectors import tasks_inbox, tasks_queue

    today = timezone.localdate(now or timezone.now())
    recorded = 0
    reviewers = get_user_model().objects.filter(
        is_active=True, pk__in=Membership.objects.exclude(role__in=[Role.AUDITOR]).values("user_id"))
    for person in reviewers:
        count = tasks_inbox(person).count() + tasks_queue(person).count()
        if count:
            recorded += bool(event_record(kind=MessageType.DAILY_DIGEST, recipient=person, payload={"count": count},
                                          natural_key=f"daily_digest:{person.pk}:{today}"))
    return recorded


# --- Reports due and overdue -----------------------------------------------------------------------------

@dataclass(frozen=True)
class OwedReport:
    """A report a project still owes: `report` names it ("progress-2", "completion")."""

    application: GrantApplication
    report: str
    due_on: dt.date
    number: int | None = None


def projects_owing(until: dt.date) -> QuerySet[GrantApplication]:
    """Projects owing some report by `until` (late ones included), read by the indexed next_report_due_on alone.

    next_report_due_on is the earliest date any report of a project is owed by, None when nothing is: projects
    with nothing owed by `until` are never read, so the cost follows what is due, not the total. (A condition
    on the state here makes PostgreSQL combine the status index, whose part grows with every project in
    progress; owed_reports checks the state in Python instead.) The fund comes along: the programme officers
    of a late project are found by its foundation.
    """
    return GrantApplication.objects.filter(next_report_due_on__lte=until).select_related("fund").order_by()


def progress_reports_owing(application_ids: list[int], until: dt.date) -> QuerySet[ProgressReport]:
    """The outstanding progress reports due by `until` of these projects (by the application's foreign key)."""
    return ProgressReport.objects.filter(
        application_id__in=application_ids, due_on__lte=until,
        status__in=[ProgressReport.Status.DUE, ProgressReport.Status.RETURNED]).only(
        "application_id", "number", "due_on").order_by()


def owed_reports(until: dt.date) -> list[OwedReport]:
    """Every report owed by `until`, late ones included: progress reports and completion reports."""
    applications = {application.pk: application for application in projects_owing(until)
                    if application.status in COMPLETION_OWED_STATES}
    owed = [OwedReport(application, "completion", application.completion_due_on)
            for application in applications.values()
            if application.completion_due_on and application.completion_due_on <= until]
    ids = sorted(applications)
    for start in range(0, len(ids), BATCH):
        owed += [OwedReport(applications[report.application_id], f"progress-{report.number}", report.due_on,
                            report.number) for report in progress_reports_owing(ids[start:start + BATCH], until)]
    return owed


def _report_payload(owed: OwedReport, days: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"report": "completion" if owed.number is None else "progress",
                               "due": owed.due_on.isoformat(), "days": days}
    if owed.number is not None:
        payload["number"] = owed.number
    return payload


def _report_reminders_planned(today: dt.date) -> dict[str, dict[str, Any]]:
    """natural key -> the event_record arguments of every report reminder that is due today."""
    planned: dict[str, dict[str, Any]] = {}
    for owed in owed_reports(today + dt.timedelta(days=max(REPORT_DUE_LEAD_DAYS))):
        days = (owed.due_on - today).days
        where = f"{owed.application.pk}:{owed.report}:{owed.due_on}"
        if days >= 0:
            # The nearest reminder not yet passed: a missed morning (or a date set 5 days ahead) still
            # gets the 7-day one; the due day itself gets the 1-day one if that was missed.
            lead = min(lead for lead in REPORT_DUE_LEAD_DAYS if lead >= days)
            planned[f"report_due:{Role.APPLICANT}:{where}:{lead}d"] = {
                "kind": MessageType.REPORT_DUE, "application": owed.application, "recipient_role": Role.APPLICANT,
                "payload": _report_payload(owed, days)}
            continue
        week = (-days - 1) // REPORT_OVERDUE_EVERY_DAYS + 1  # days 1-7 late: week 1; 8-14: week 2; ...
        for role in REPORT_OVERDUE_ROLES:
            planned[f"report_overdue:{role}:{where}:w{week}"] = {
                "kind": MessageType.REPORT_OVERDUE, "application": owed.application, "recipient_role": role,
                "payload": _report_payload(owed, -days)}
    return planned


def report_reminders(today: dt.date) -> int:
    """Applicants hear 7 days and 1 day before a report is due; applicants and programme officers weekly when late.

    Each reminder's natural key says what, for whom, which report and which due date (and, when late, which
    week): a deadline extension changes the date, so the reminders follow the new one.
    """
    planned = _report_reminders_planned(today)
    holders: RoleHolders = {}  # the applicants of a community, the programme officers: looked up once a sweep
    keys = list(planned)
    # Late reports are planned every day of their week: one indexed lookup spares an INSERT that would fail.
    recorded_before: set[str] = set()
    for start in range(0, len(keys), BATCH):
        recorded_before.update(Event.objects.filter(natural_key__in=keys[start:start + BATCH]).values_list(
            "natural_key", flat=True))
    recorded = 0
    for key in keys:
        if key not in recorded_before:
            with transaction.atomic():  # the event with its deliveries, or neither (a worker may die in between)
                recorded += bool(event_record(natural_key=key, holders=holders, **planned[key]))
    return recorded


def report_reminders_record(*, now: dt.datetime | None = None) -> int:
    """Record the report reminders that have come due; beat runs it every morning, reruns record nothing new."""
    return report_reminders(timezone.localdate(now or timezone.now()))

