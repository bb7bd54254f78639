"""A year-long project from its agreement to its closing, through the pages, as each role would click.

After every step: the application's state, the newest audit row, and which tranches finance may pay (a tranche
becomes payable exactly when its condition is met; the final one shrinks to what was really spent).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import formats, timezone, translation

from grants.models import LedgerEntry, ProgressReport
from grants.services.reporting import add_months
from grants.states import State
from tests.helpers import advance, audit_trail, local_noon
from tests.web.conftest import expect, fresh, refusal

from .support import act, attach_completion_documents, detail_url, paid, payable, report_url, tranches, write_report

pytestmark = pytest.mark.django_db
Kind = LedgerEntry.Kind


def short_date(day: dt.date) -> str:
    with translation.override("zh-hans"):
        return formats.date_format(day, "SHORT_DATE_FORMAT")


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def hand_in_progress_report(browser, cast, application, number: int, *, midterm_accepted: bool):
    """The applicant hands in report `number`; the programme officer accepts it (the mid-term review once)."""
    application = fresh(application)
    report = application.progress_reports.get(number=number)
    assert application.next_report_due_on == report.due_on
    act(browser(cast.applicant), application, "submit_progress_report", progress=f"第{number}季度：助餐服务按计划开展",
        beneficiaries_served=str(40 * number), spent_to_date=str(12000 * number))
    expect(application, State.PROGRESS_REVIEW, [("progress_review", None)],
           ("submit_progress_report", State.IN_PROGRESS, State.PROGRESS_REVIEW, "applicant"))
    report = ProgressReport.objects.get(pk=report.pk)
    assert (report.status, report.beneficiaries_served, report.spent_to_date) == (
        "submitted", 40 * number, Decimal(12000 * number))
    act(browser(cast.programme_officer), application, "accept_progress_report", comment="进展良好")
    application = expect(application, State.IN_PROGRESS, [("in_progress", "applicant")],
                         ("accept_progress_report", State.PROGRESS_REVIEW, State.IN_PROGRESS, "programme_officer"))
    report = ProgressReport.objects.get(pk=report.pk)
    assert (report.status, report.reviewed_by, report.review_comment) == (
        "accepted", cast.programme_officer, "进展良好")
    assert (application.midterm_accepted_at is not None) == midterm_accepted
    return application


def test_a_year_long_project_reports_is_paid_in_step_and_closes(browser, cast, make_project, time_machine):
    today = timezone.localdate()
    time_machine.move_to(local_noon(today), tick=False)
    application = advance(make_project(months=12), State.AGREEMENT, cast)
    start, end = application.start_date, application.end_date
    assert payable(application) == []

    # The agreement: the reporting duties are set and the first tranche is payable.
    time_machine.move_to(local_noon(application.publicity_ends_on + dt.timedelta(days=1)), tick=False)
    act(browser(cast.secretary_general), application, "sign_agreement", comment="协议已签署")
    application = expect(application, State.IN_PROGRESS, [("in_progress", "applicant")],
                         ("sign_agreement", State.AGREEMENT, State.IN_PROGRESS, "secretary_general"))
    # Longer than six months: a report every three months from the start until the end; the middle one is the
    # mid-term report; the completion report is due the fund's 30 days after the end.
    due = [add_months(start, 3), add_months(start, 6), add_months(start, 9)]
    assert list(application.progress_reports.values_list("number", "due_on", "is_midterm", "status")) == [
        (1, due[0], False, "due"), (2, due[1], True, "due"), (3, due[2], False, "due")]
    assert application.midterm_required
    assert application.completion_due_on == end + dt.timedelta(days=30)
    assert application.next_report_due_on == due[0]
    assert tranches(application) == [(1, "payable", Decimal("25000.00")), (2, "planned", Decimal("20000.00")),
                                     (3, "planned", Decimal("5000.00"))]

    page = browser(cast.applicant).get(detail_url(application))
    reporting = page.context["reporting"]
    assert [row.due_on for row, _reviewer in reporting.progress_reports] == due
    html = page.content.decode()
    assert 'id="progress-reports"' in html and all(short_date(day) in html for day in due)
    assert short_date(application.completion_due_on) in html
    assert "data-overdue" not in html

    paid(browser(cast.finance), application, 1)
    assert payable(application) == []

    # Progress reports, each handed in a few days before it is due; only the mid-term one releases money.
    time_machine.move_to(local_noon(due[0] - dt.timedelta(days=5)), tick=False)
    application = hand_in_progress_report(browser, cast, application, 1, midterm_accepted=False)
    assert payable(application) == []
    assert application.next_report_due_on == due[1]

    time_machine.move_to(local_noon(due[1] - dt.timedelta(days=3)), tick=False)
    application = hand_in_progress_report(browser, cast, application, 2, midterm_accepted=True)
    assert payable(application) == [2]
    paid(browser(cast.finance), application, 2)

    time_machine.move_to(local_noon(due[2] - dt.timedelta(days=1)), tick=False)
    application = hand_in_progress_report(browser, cast, application, 3, midterm_accepted=True)
    assert payable(application) == []
    assert application.next_report_due_on == application.completion_due_on

    # The completion report, written on its page after the end: 47,000 of the 50,000 yuan were spent.
    time_machine.move_to(local_noon(end + dt.timedelta(days=10)), tick=False)
    applicant = browser(cast.applicant)
    form = applicant.get(report_url(application)).context["form"]
    assert [field.name for field in form.served_fields()] == ["served_elderly"]  # the planned kinds
    assert [row.budget for row, _amount, _explanation in form.spending_rows()] == [Decimal("40000.00"),
                                                                                    Decimal("10000.00")]
    write_report(applicant, application, {"社工服务": "37500.00", "活动物料": "9500.00"})
    attach_completion_documents(applicant, application)
    act(applicant, application, "submit_completion_report", comment="项目已完成")
    application = expect(application, State.COMPLETION_VERIFICATION, [("completion_verification", None)],
                         ("submit_completion_report", State.IN_PROGRESS, State.COMPLETION_VERIFICATION, "applicant"))
    assert application.completion_report.submitted_at is not None
    assert application.next_report_due_on is None
    assert payable(application) == []

    act(browser(cast.street_reviewer), application, "verify_completion", comment="现场核实无误")
    application = expect(application, State.COMPLETION_ACCEPTANCE, [("completion_acceptance", None)],
                         ("verify_completion", State.COMPLETION_VERIFICATION, State.COMPLETION_ACCEPTANCE,
                          "street_reviewer"))
    assert payable(application) == []

    # Acceptance: the final tranche pays only the spending not yet covered; the rest of the commitment is freed.
    act(browser(cast.programme_officer), application, "accept_completion", comment="同意结项")
    application = expect(application, State.CLOSING, [("closing", None)],
                         ("accept_completion", State.COMPLETION_ACCEPTANCE, State.CLOSING, "programme_officer"))
    assert tranches(application) == [(1, "paid", Decimal("25000.00")), (2, "paid", Decimal("20000.00")),
                                      (3, "payable", Decimal("2000.00"))]
    assert list(application.ledger_entries.filter(kind=Kind.COMMITMENT_RELEASED).values_list("amount", flat=True)) \
        == [Decimal("3000.00")]

    page = browser(cast.street_reviewer).get(detail_url(application))
    spending = page.context["reporting"].spending
    assert [(row.budget, row.actual, row.variance_percent, row.over_tolerance) for row in spending] == [
        (Decimal("40000.00"), Decimal("37500.00"), Decimal("-6.3"), False),
        (Decimal("10000.00"), Decimal("9500.00"), Decimal("-5.0"), False)]
    assert "37,500.00" in page.content.decode() and "王阿姨（独居）需要继续关注" in page.content.decode()

    # Closing: the last tranche paid, the unspent money settled (here nothing is left), the project closed.
    closing = browser(cast.finance)
    response = closing.post(reverse("application_action", args=[application.pk, "close"]),
                            {"unspent_to": "refund", "comment": "资金已结清"})
    assert response.status_code == 400, "closed before the last tranche was paid"
    assert zh("%(count)s tranche(s) of this grant are not paid yet.") % {"count": 1} in refusal(response)
    paid(closing, application, 3)
    act(closing, application, "close", unspent_to="refund", comment="资金已结清")
    application = expect(application, State.CLOSED, [], ("close", State.CLOSING, State.CLOSED, "finance"))
    assert payable(application) == []
    total_paid = application.ledger_entries.filter(kind=Kind.TRANCHE_PAID).aggregate(total=Sum("amount"))["total"]
    assert total_paid == Decimal("47000.00")  # exactly what was spent
    assert not application.ledger_entries.filter(kind__in=[Kind.REFUND_RECEIVED, Kind.TRANSFER_OUT]).exists()
    actions = [action for action, *_rest in audit_trail(application)]
    assert actions[actions.index("sign_agreement"):] == [
        "sign_agreement", *["submit_progress_report", "accept_progress_report"] * 3, "submit_completion_report",
        "verify_completion", "accept_completion", "close"]
