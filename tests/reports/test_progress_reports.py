"""Progress reports on the application page: handed in, returned with reasons, handed in again, accepted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from grants.models import ProgressReport
from grants.services.reporting import RESUBMISSION_DAYS
from grants.states import State
from tests.helpers import advance, audit_trail
from tests.web.conftest import expect

from .support import act, detail_url, payable

pytestmark = pytest.mark.django_db


def first_report(application) -> ProgressReport:
    return ProgressReport.objects.get(application=application, number=1)


def test_a_report_returned_twice_then_accepted(browser, cast, make_project):
    application = advance(make_project(months=12), State.IN_PROGRESS, cast)
    due_on = first_report(application).due_on
    applicant, officer = browser(cast.applicant), browser(cast.programme_officer)

    for attempt, reason in enumerate(["请补充活动照片", "请补充支出明细"], start=1):
        act(applicant, application, "submit_progress_report", progress=f"第{attempt}次提交：已开展助餐服务",
            beneficiaries_served="45")
        expect(application, State.PROGRESS_REVIEW, [("progress_review", None)],
               ("submit_progress_report", State.IN_PROGRESS, State.PROGRESS_REVIEW, "applicant"))
        act(officer, application, "return_progress_report", reason=reason)
        application = expect(application, State.IN_PROGRESS, [("in_progress", "applicant")],
                             ("return_progress_report", State.PROGRESS_REVIEW, State.IN_PROGRESS, "programme_officer"))
        report = first_report(application)
        assert (report.status, report.times_returned, report.review_comment) == ("returned", attempt, reason)
        # Owed again, with at least the resubmission time: the first report is due in three months anyway.
        assert report.due_on == max(due_on, timezone.localdate() + dt.timedelta(days=RESUBMISSION_DAYS))
        assert application.next_report_due_on == report.due_on
        assert list(application.progress_reports.values_list("number", "status")) == [
            (1, "returned"), (2, "due"), (3, "due")]

    act(applicant, application, "submit_progress_report", progress="第3次提交：照片和支出明细已补充")
    act(officer, application, "accept_progress_report", comment="材料已齐全")
    application = expect(application, State.IN_PROGRESS, [("in_progress", "applicant")],
                         ("accept_progress_report", State.PROGRESS_REVIEW, State.IN_PROGRESS, "programme_officer"))
    report = first_report(application)
    assert (report.status, report.times_returned, report.review_comment, report.reviewed_by) == (
        "accepted", 2, "材料已齐全", cast.programme_officer)
    assert report.progress == "第3次提交：照片和支出明细已补充"
    # Report 1 is not the mid-term one: the middle tranche still waits for the mid-term review.
    assert application.midterm_accepted_at is None
    assert payable(application) == [1]
    assert application.next_report_due_on == ProgressReport.objects.get(application=application, number=2).due_on
    assert [action for action, *_rest in audit_trail(application)][-6:] == [
        "submit_progress_report", "return_progress_report"] * 2 + ["submit_progress_report", "accept_progress_report"]

    page = browser(cast.street_reviewer).get(detail_url(application))
    rows = page.context["reporting"].progress_reports
    assert [(row.number, row.status, row.times_returned) for row, _reviewer in rows] == [
        (1, "accepted", 2), (2, "due", 0), (3, "due", 0)]
    assert rows[0][1] == "programme_officer"  # the reviewer's name as pages show it
    html = page.content.decode()
    assert "材料已齐全" in html and "第3次提交：照片和支出明细已补充" in html


def test_nothing_to_hand_in_when_no_report_is_owed(browser, cast, make_project):
    """A short project whose schedule has no mid-term tranche owes no progress report: the action is refused."""
    cast.fund.tranche_template = "70-30"
    cast.fund.save()
    application = advance(make_project(months=3), State.IN_PROGRESS, cast)
    assert not application.progress_reports.exists()
    response = browser(cast.applicant).post(detail_url(application) + "actions/submit_progress_report/",
                                            {"progress": "进展"})
    assert response.status_code == 400
    page = browser(cast.applicant).get(detail_url(application))
    assert page.context["reporting"].progress_reports == []
