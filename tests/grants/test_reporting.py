"""Reporting duties set at signing: progress report dates, the mid-term report, completion due date, extensions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from grants import services
from grants.errors import ActionForbidden, ApplicationError
from grants.models import AuditEntry, DeadlineExtension, Fund, ProgressReport, Tranche
from grants.services.reporting import add_months, progress_report_dates
from grants.states import State
from tests.factories import ApplicationFactory
from tests.helpers import advance, local_noon, pay_payable_tranches

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
    (dt.date(2028, 11, 29), 3, dt.date(2029, 2, 28)),
    (dt.date(2026, 5, 15), 12, dt.date(2027, 5, 15)),
])
def test_add_months_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert add_months(day, months) == expected


def test_a_long_project_reports_every_three_months_and_the_middle_one_is_the_mid_term():
    start = dt.date(2027, 1, 1)
    dates = progress_report_dates(start=start, end=dt.date(2027, 12, 31), signed_on=dt.date(2026, 12, 1),
                                  midterm_required=True)
    assert dates == [(dt.date(2027, 4, 1), False), (dt.date(2027, 7, 1), True), (dt.date(2027, 10, 1), False)]


def test_a_project_signed_after_its_start_counts_from_the_signing():
    dates = progress_report_dates(start=dt.date(2027, 1, 1), end=dt.date(2027, 12, 31),
                                  signed_on=dt.date(2027, 3, 10), midterm_required=True)
    assert [due for due, _midterm in dates] == [dt.date(2027, 6, 10), dt.date(2027, 9, 10), dt.date(2027, 12, 10)]


def test_a_short_project_reports_once_in_the_middle_only_when_its_schedule_has_a_mid_term_tranche():
    short = {"start": dt.date(2027, 1, 1), "end": dt.date(2027, 3, 31), "signed_on": dt.date(2026, 12, 1)}
    assert progress_report_dates(**short, midterm_required=True) == [(dt.date(2027, 2, 14), True)]
    assert progress_report_dates(**short, midterm_required=False) == []


def signed(cast, *, months: int = 12, template: str = Fund.TrancheTemplate.FIFTY_FORTY_TEN):
    Fund.objects.filter(pk=cast.fund.pk).update(tranche_template=template)
    cast.fund.refresh_from_db()
    start = timezone.localdate() + dt.timedelta(days=10)
    application = ApplicationFactory(actor=cast.applicant, category=cast.elder_care, start_date=start,
                                     end_date=add_months(start, months) - dt.timedelta(days=1),
                                     requested_amount=Decimal("20000.00"))
    return advance(application, State.IN_PROGRESS, cast)


def test_signing_sets_the_reporting_duties(cast):
    application = signed(cast)

    reports = list(application.progress_reports.values_list("number", "due_on", "is_midterm", "status"))
    start = application.start_date
    assert reports == [(1, add_months(start, 3), False, "due"), (2, add_months(start, 6), True, "due"),
                       (3, add_months(start, 9), False, "due")]
    assert application.midterm_required
    assert application.completion_due_on == application.end_date + dt.timedelta(days=30)
    assert application.next_report_due_on == add_months(start, 3)
    assert not application.reporting_overdue


def test_a_short_project_without_a_mid_term_tranche_owes_only_the_completion_report(cast):
    application = signed(cast, months=3, template=Fund.TrancheTemplate.SEVENTY_THIRTY)

    assert not application.progress_reports.exists() and not application.midterm_required
    assert application.next_report_due_on == application.completion_due_on
    with pytest.raises(ApplicationError) as refused:
        services.progress_report_submit(actor=cast.applicant, application=application, progress="进展")
    assert refused.value.code == "no_progress_report_owed"


def test_an_overdue_report_stops_payment_until_the_foundation_extends_the_deadline(cast):
    application = signed(cast)
    first_due = application.next_report_due_on
    # The first tranche became payable at signing; the report falls due before finance pays it.
    with time_machine.travel(local_noon(first_due + dt.timedelta(days=1)), tick=False):
        application.refresh_from_db()
        assert application.reporting_overdue
        tranche = application.tranches.get(number=1)
        with pytest.raises(ApplicationError) as refused:
            services.tranche_pay(actor=cast.finance, tranche=tranche, bank_reference="BOC-1")
        assert refused.value.code == "report_overdue"
        assert application.tranches.get(number=1).status == Tranche.Status.PAYABLE

        with pytest.raises(ActionForbidden):
            services.deadline_extend(actor=cast.street_reviewer, application=application,
                                     new_due_on=first_due + dt.timedelta(days=20), reason="疫情")
        with pytest.raises(ApplicationError) as refused:
            services.deadline_extend(actor=cast.programme_officer, application=application, new_due_on=first_due,
                                     reason="疫情")
        assert refused.value.code == "extension_not_later"
        assert not DeadlineExtension.objects.exists()

        services.deadline_extend(actor=cast.programme_officer, application=application,
                                 new_due_on=first_due + dt.timedelta(days=20), reason="社区疫情防控，活动暂停两周")
        application.refresh_from_db()
        assert not application.reporting_overdue
        assert application.progress_reports.get(number=1).due_on == first_due + dt.timedelta(days=20)
        extension = DeadlineExtension.objects.get()
        assert (extension.old_due_on, extension.granted_by) == (first_due, cast.programme_officer)
        assert AuditEntry.objects.filter(application=application, action="extend_deadline",
                                         actor=cast.programme_officer).exists()
        pay_payable_tranches(application, cast.finance)
        assert application.tranches.get(number=1).status == Tranche.Status.PAID


def test_a_returned_progress_report_is_owed_again_and_accepted_the_second_time(cast):
    application = signed(cast)
    for attempt in range(2):
        services.progress_report_submit(actor=cast.applicant, application=application, progress=f"第{attempt}次进展")
        services.progress_report_review(actor=cast.programme_officer, application=application, accept=False,
                                        comment="请补充服务人次")
    report = application.progress_reports.get(number=1)
    assert (report.status, report.times_returned) == (ProgressReport.Status.RETURNED, 2)
    services.progress_report_submit(actor=cast.applicant, application=application, progress="补充后的进展",
                                    beneficiaries_served="35", spent_to_date="4,000.50")
    services.progress_report_review(actor=cast.programme_officer, application=application, accept=True, comment="")
    report = application.progress_reports.get(number=1)
    assert (report.status, report.beneficiaries_served, report.spent_to_date) == (
        ProgressReport.Status.ACCEPTED, 35, Decimal("4000.50"))
    application.refresh_from_db()
    assert application.next_report_due_on == application.progress_reports.get(number=2).due_on
    # Not the mid-term report: the middle tranche waits for report 2.
    assert application.tranches.get(number=2).status == Tranche.Status.PLANNED
    assert application.midterm_accepted_at is None


def test_the_applicants_implementation_task_is_due_when_the_next_report_is(cast):
    from workflows.selectors import tasks_inbox

    application = signed(cast)
    task = tasks_inbox(cast.applicant).get(process__grantprocess__application=application)
    assert timezone.localtime(task.deadline).date() == application.next_report_due_on + dt.timedelta(days=1)
