"""Reminders by due date, recorded by a periodic sweep; each has a natural key, so reruns record nothing new.

Working days follow the official Chinese calendar (grants.calendar) where the brief says so.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Max
from django.utils import timezone

from grants.calendar import add_working_days, subtract_working_days
from grants.models import GrantApplication, Membership, Role, Tranche
from grants.states import State

from .models import MessageType
from .services import event_record

AGREEMENT_UNSIGNED_WORKING_DAYS = 10
TRANCHE_UNPAID_WORKING_DAYS = 5
REVISION_IDLE_DAYS = 14
# The foundation's work and financial report is due by 31 May; reminders a month and a week before.
ANNUAL_REPORT_DUE = (5, 31)
ANNUAL_REMINDER_DAYS = (30, 7)


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

