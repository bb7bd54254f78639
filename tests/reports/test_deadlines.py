"""A late report stops payment and shows on the dashboards; the foundation may extend the deadline (audited)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from grants import services
from grants.models import AuditEntry, DeadlineExtension, LedgerEntry, ProgressReport
from grants.states import State
from tests.helpers import advance, local_noon
from tests.web.conftest import fresh, refusal

from .support import detail_url, extension_url, paid, pay, payable

pytestmark = pytest.mark.django_db


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def overdue_titles(client, url_name: str) -> list[str]:
    """The projects listed in the overdue panel of a dashboard page (none when the panel is not shown)."""
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    if 'id="overdue-projects"' not in html:
        return []
    panel = html.split('id="overdue-projects"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a href="/applications/\d+/#reports">([^<]+)</a>', panel)


@pytest.fixture
def running(cast, make_project, time_machine):
    """A year-long project of A1 just signed (its first tranche payable), with time frozen at noon."""
    time_machine.move_to(local_noon(timezone.localdate()), tick=False)
    application = advance(make_project(months=12), State.IN_PROGRESS, cast)
    assert payable(application) == [1]
    return application


def test_an_overdue_report_stops_payment_until_the_deadline_is_extended(browser, cast, running, time_machine):
    application = running
    report = ProgressReport.objects.get(application=application, number=1)
    time_machine.move_to(local_noon(report.due_on + dt.timedelta(days=3)), tick=False)
    application = fresh(application)
    assert application.reporting_overdue

    # Finance's payment is refused with the reason; nothing is paid.
    response = pay(browser(cast.finance), application, 1)
    assert response.status_code == 400
    assert zh("A report of this project is overdue: no further payment until it is in.") in refusal(response)
    assert payable(application) == [1]
    assert not application.ledger_entries.filter(kind=LedgerEntry.Kind.TRANCHE_PAID).exists()

    # Everyone who follows the project sees it is late.
    page = browser(cast.applicant).get(detail_url(application)).content.decode()
    assert "data-overdue" in page
    assert overdue_titles(browser(cast.programme_officer), "workflows:inbox") == ["宇虹社区长者助餐与探访"]
    assert overdue_titles(browser(cast.street_reviewer), "workflows:inbox") == ["宇虹社区长者助餐与探访"]
    assert overdue_titles(browser(cast.auditor), "application_list") == ["宇虹社区长者助餐与探访"]
    assert overdue_titles(browser(cast.other_street_reviewer), "workflows:inbox") == []  # not their street
    assert overdue_titles(browser(cast.applicant), "my_applications") == []
    overdue_page = browser(cast.secretary_general).get(reverse("overdue_projects"))
    assert [row[0].pk for row in overdue_page.context["rows"]] == [application.pk]
    assert browser(cast.applicant).get(reverse("overdue_projects")).status_code == 403

    # The programme officer gives three more weeks, with the reason; it is recorded and audited.
    officer = browser(cast.programme_officer)
    form = officer.get(extension_url(application))
    assert form.status_code == 200 and form.context["due_on"] == report.due_on and form.context["overdue"]
    new_due_on = timezone.localdate() + dt.timedelta(days=21)
    response = officer.post(extension_url(application), {"new_due_on": new_due_on.isoformat(),
                                                         "reason": "社区疫情防控，活动暂停两周"})
    assert response.status_code == 302, refusal(response)
    assert response["Location"] == detail_url(application) + "#reports"
    extension = DeadlineExtension.objects.get(application=application)
    assert (extension.report, extension.progress_report_id, extension.old_due_on, extension.new_due_on,
            extension.reason, extension.granted_by) == ("progress", report.pk, report.due_on, new_due_on,
                                                        "社区疫情防控，活动暂停两周", cast.programme_officer)
    entry = AuditEntry.objects.filter(application=application).latest("id")
    assert (entry.action, entry.actor, entry.from_state, entry.to_state) == (
        "extend_deadline", cast.programme_officer, State.IN_PROGRESS, State.IN_PROGRESS)
    assert "社区疫情防控，活动暂停两周" in entry.comment
    application = fresh(application)
    assert (application.next_report_due_on, application.reporting_overdue) == (new_due_on, False)
    assert ProgressReport.objects.get(pk=report.pk).due_on == new_due_on

    page = browser(cast.applicant).get(detail_url(application))
    assert [row.pk for row, _name in page.context["reporting"].extensions] == [extension.pk]
    assert "data-overdue" not in page.content.decode() and "社区疫情防控，活动暂停两周" in page.content.decode()
    assert overdue_titles(browser(cast.programme_officer), "workflows:inbox") == []

    # Payment goes through again.
    paid(browser(cast.finance), application, 1)


def test_an_extension_must_move_the_date_later_and_give_a_reason(browser, cast, running):
    application = running
    due_on = fresh(application).next_report_due_on
    officer = browser(cast.secretary_general)
    earlier = officer.post(extension_url(application), {"new_due_on": due_on.isoformat(), "reason": "延期"})
    assert earlier.status_code == 400
    assert earlier.context["form"].errors["new_due_on"] == [
        zh("The new due date must be later than the current one (%(date)s).") % {"date": due_on}]
    blank = officer.post(extension_url(application), {"new_due_on": (due_on + dt.timedelta(days=7)).isoformat(),
                                                       "reason": " "})
    assert blank.status_code == 400 and "reason" in blank.context["form"].errors
    assert not DeadlineExtension.objects.exists()
    assert not AuditEntry.objects.filter(action="extend_deadline").exists()
    assert fresh(application).next_report_due_on == due_on


def test_only_the_foundation_extends_a_deadline(browser, cast, running):
    application = running
    due_on = fresh(application).next_report_due_on
    data = {"new_due_on": (due_on + dt.timedelta(days=30)).isoformat(), "reason": "延期一个月"}
    for person in (cast.street_reviewer, cast.street_leader, cast.applicant, cast.finance, cast.auditor):
        client = browser(person)
        assert client.get(extension_url(application)).status_code == 403, person
        assert client.post(extension_url(application), data).status_code == 403, person
        assert "deadline-extension" not in client.get(detail_url(application)).content.decode()
    for person in (cast.applicant_b, cast.other_street_reviewer, cast.outsider):
        assert browser(person).post(extension_url(application), data).status_code == 404, person
    assert not DeadlineExtension.objects.exists()
    assert fresh(application).next_report_due_on == due_on
    assert "deadline-extension" in browser(cast.programme_officer).get(detail_url(application)).content.decode()


def test_an_extension_reads_the_outstanding_reports_once(cast, running):
    due_on = fresh(running).next_report_due_on
    new_due_on = due_on + dt.timedelta(days=14)
    with CaptureQueriesContext(connection) as queries:
        extension = services.deadline_extend(actor=cast.programme_officer, application=running,
                                             new_due_on=new_due_on, reason="活动场地维修")

    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and '"grants_progressreport"' in q["sql"]]
    assert len(reads) == 1
    assert (extension.report, extension.old_due_on) == (DeadlineExtension.Report.PROGRESS, due_on)
    assert fresh(running).next_report_due_on == new_due_on


def test_extending_the_completion_report_moves_the_next_due_date(cast, make_project, time_machine):
    time_machine.move_to(local_noon(timezone.localdate()), tick=False)
    application = advance(make_project(months=3), State.IN_PROGRESS, cast)
    # Its one (mid-term) progress report handed in and accepted: the completion report is all it owes.
    services.progress_report_submit(actor=cast.applicant, application=application, progress="助餐服务按计划开展")
    services.progress_report_review(actor=cast.programme_officer, application=application, accept=True,
                                    comment="进展良好")
    due_on = fresh(application).next_report_due_on
    assert due_on == application.completion_due_on

    extension = services.deadline_extend(actor=cast.secretary_general, application=application,
                                         new_due_on=due_on + dt.timedelta(days=30), reason="等待审计报告")

    assert (extension.report, extension.old_due_on) == (DeadlineExtension.Report.COMPLETION, due_on)
    application = fresh(application)
    assert application.completion_due_on == application.next_report_due_on == due_on + dt.timedelta(days=30)
