"""Report reminders (notifications.reminders.report_reminders): 7 days and 1 day before, then weekly while late.

The project of every test is signed on 2 March 2026: it runs from 1 April to 30 June, owes its mid-term
progress report (no. 1) on 16 May and its completion report on 30 July. Every sweep runs three times at
08:00, as beat does once a morning (and again after a restart): the natural keys make reruns record nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from grants import services
from grants.models import GrantApplication
from grants.states import State
from notifications.messages import render
from notifications.models import Event, MessageType
from notifications.reminders import report_reminders_record
from notifications.schedules import BEAT_SCHEDULE
from tests.helpers import advance

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNED = dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
PROGRESS_DUE = dt.date(2026, 5, 16)
COMPLETION_DUE = dt.date(2026, 7, 30)


def morning(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8, 0), SHANGHAI)


def sweep_three_times(day: dt.date) -> list[int]:
    """Run the report sweep three times at 08:00 of `day`; what each run recorded."""
    with time_machine.travel(morning(day), tick=False):
        return [report_reminders_record() for _ in range(3)]


def sweep_days(first: dt.date, last: dt.date) -> dict[dt.date, int]:
    """Sweep every morning from `first` to `last`; the days something was recorded, and how much."""
    recorded = {}
    day = first
    while day <= last:
        runs = sweep_three_times(day)
        assert runs[1:] == [0, 0], f"a rerun on {day} recorded again: {runs}"
        if runs[0]:
            recorded[day] = runs[0]
        day += dt.timedelta(days=1)
    return recorded


def reminders(kind: MessageType) -> list[tuple[str, str, dict]]:
    """(natural key, role, payload) of every event of this kind, oldest first."""
    return list(Event.objects.filter(kind=kind).order_by("created_at", "pk").values_list(
        "natural_key", "recipient_role", "payload"))


def recipients(kind: MessageType) -> set[tuple[str, str]]:
    return set(Event.objects.filter(kind=kind).values_list("deliveries__recipient__username", "deliveries__channel"))


@pytest.fixture
def project(cast, make_application):
    """A signed project of community A1 (see the module docstring for its dates)."""
    with time_machine.travel(SIGNED, tick=False):
        application = advance(make_application(start_date=dt.date(2026, 4, 1), end_date=dt.date(2026, 6, 30)),
                              State.IN_PROGRESS, cast)
    application.refresh_from_db()
    assert [(r.number, r.due_on) for r in application.progress_reports.all()] == [(1, PROGRESS_DUE)]
    assert (application.completion_due_on, application.next_report_due_on) == (COMPLETION_DUE, PROGRESS_DUE)
    return application


def test_the_applicant_hears_seven_days_and_one_day_before_a_progress_report_is_due(cast, project):
    recorded = sweep_days(dt.date(2026, 5, 1), PROGRESS_DUE)

    assert recorded == {dt.date(2026, 5, 9): 1, dt.date(2026, 5, 15): 1}
    where = f"{project.pk}:progress-1:2026-05-16"
    assert reminders(MessageType.REPORT_DUE) == [
        (f"report_due:applicant:{where}:7d", "applicant",
         {"report": "progress", "number": 1, "due": "2026-05-16", "days": 7}),
        (f"report_due:applicant:{where}:1d", "applicant",
         {"report": "progress", "number": 1, "due": "2026-05-16", "days": 1}),
    ]
    # The applicants of the community only, in the app (nobody in the cast has an email address).
    assert recipients(MessageType.REPORT_DUE) == {("applicant", "in_app")}
    assert not Event.objects.filter(kind=MessageType.REPORT_OVERDUE).exists()


def test_a_late_report_reminds_the_applicant_and_the_programme_officer_once_a_week(cast, project):
    recorded = sweep_days(PROGRESS_DUE + dt.timedelta(days=1), dt.date(2026, 5, 31))

    # 1, 8 and 15 days late: weeks 1, 2 and 3; one event for the applicants, one for the programme officers.
    assert recorded == {dt.date(2026, 5, 17): 2, dt.date(2026, 5, 24): 2, dt.date(2026, 5, 31): 2}
    keys = [key for key, _role, _payload in reminders(MessageType.REPORT_OVERDUE)]
    where = f"{project.pk}:progress-1:2026-05-16"
    assert sorted(keys) == sorted(f"report_overdue:{role}:{where}:w{week}"
                                  for role in ("applicant", "programme_officer") for week in (1, 2, 3))
    assert {payload["days"] for _key, _role, payload in reminders(MessageType.REPORT_OVERDUE)} == {1, 8, 15}
    assert recipients(MessageType.REPORT_OVERDUE) == {("applicant", "in_app"), ("programme_officer", "in_app")}


def test_a_missed_morning_is_made_up_the_next_day_but_never_twice_in_a_week(project):
    assert sweep_three_times(dt.date(2026, 5, 10)) == [1, 0, 0]  # 9 May was missed: the 7-day reminder
    assert sweep_three_times(PROGRESS_DUE) == [1, 0, 0]  # 15 May was missed: the 1-day one, on the day
    assert [payload["days"] for _key, _role, payload in reminders(MessageType.REPORT_DUE)] == [6, 0]
    assert sweep_three_times(dt.date(2026, 5, 20)) == [2, 0, 0]  # the first late week, found on its 4th day
    assert sweep_three_times(dt.date(2026, 5, 23)) == [0, 0, 0]
    assert sweep_three_times(dt.date(2026, 5, 24)) == [2, 0, 0]


def test_an_extended_deadline_moves_the_reminders_to_the_new_date(cast, project):
    assert sweep_days(dt.date(2026, 5, 9), dt.date(2026, 5, 9)) == {dt.date(2026, 5, 9): 1}
    with time_machine.travel(morning(dt.date(2026, 5, 10)), tick=False):
        services.deadline_extend(actor=cast.programme_officer, application=project,
                                 new_due_on=dt.date(2026, 5, 30), reason="社区疫情防控，活动延期")

    recorded = sweep_days(dt.date(2026, 5, 10), dt.date(2026, 6, 7))

    # Nothing on the old dates (15 and 17 May); 7 and 1 days before 30 May, then late from 31 May.
    assert recorded == {dt.date(2026, 5, 23): 1, dt.date(2026, 5, 29): 1, dt.date(2026, 5, 31): 2,
                        dt.date(2026, 6, 7): 2}
    due = {payload["due"] for _key, _role, payload in reminders(MessageType.REPORT_DUE)}
    overdue = {payload["due"] for _key, _role, payload in reminders(MessageType.REPORT_OVERDUE)}
    assert (due, overdue) == ({"2026-05-16", "2026-05-30"}, {"2026-05-30"})


def test_the_completion_report_is_reminded_and_a_submitted_progress_report_is_not(cast, project):
    with time_machine.travel(morning(dt.date(2026, 5, 12)), tick=False):
        services.progress_report_submit(actor=cast.applicant, application=project, progress="已开展助餐活动")

    assert sweep_days(dt.date(2026, 5, 12), dt.date(2026, 5, 31)) == {}  # submitted, under review: nothing
    with time_machine.travel(morning(dt.date(2026, 6, 1)), tick=False):
        services.progress_report_review(actor=cast.programme_officer, application=project, accept=True,
                                        comment="进展良好")

    recorded = sweep_days(dt.date(2026, 7, 20), dt.date(2026, 8, 7))

    assert recorded == {dt.date(2026, 7, 23): 1, dt.date(2026, 7, 29): 1, dt.date(2026, 7, 31): 2,
                        dt.date(2026, 8, 7): 2}
    assert {payload["report"] for _key, _role, payload in reminders(MessageType.REPORT_DUE)
            + reminders(MessageType.REPORT_OVERDUE)} == {"completion"}
    key, _role, payload = reminders(MessageType.REPORT_DUE)[0]
    assert key == f"report_due:applicant:{project.pk}:completion:2026-07-30:7d"
    assert payload == {"report": "completion", "due": "2026-07-30", "days": 7}


def test_a_handed_in_completion_report_stops_the_reminders(cast, project):
    with time_machine.travel(morning(dt.date(2026, 5, 12)), tick=False) as clock:
        advance(project, State.PROGRESS_REVIEW, cast)
        clock.move_to(morning(dt.date(2026, 6, 1)))
        advance(project, State.COMPLETION_VERIFICATION, cast)
    project.refresh_from_db()
    assert project.next_report_due_on is None

    assert sweep_days(dt.date(2026, 7, 20), dt.date(2026, 8, 10)) == {}


def test_a_cancelled_project_is_not_reminded(cast, project):
    with time_machine.travel(morning(dt.date(2026, 5, 1)), tick=False):
        services.application_cancel(actor=cast.secretary_general, application=project, reason="项目无法继续实施")

    project.refresh_from_db()
    assert project.next_report_due_on is None
    assert sweep_days(dt.date(2026, 5, 8), dt.date(2026, 5, 24)) == {}
    # Even with a due date left behind (a path that forgot to refresh it, a hand edit), the state decides.
    GrantApplication.objects.filter(pk=project.pk).update(next_report_due_on=PROGRESS_DUE)
    assert sweep_days(dt.date(2026, 7, 22), dt.date(2026, 8, 1)) == {}


def test_a_closed_project_is_not_reminded(cast, project):
    with time_machine.travel(morning(dt.date(2026, 5, 12)), tick=False) as clock:
        advance(project, State.PROGRESS_REVIEW, cast)
        clock.move_to(morning(dt.date(2026, 7, 1)))
        advance(project, State.CLOSED, cast)

    assert sweep_days(dt.date(2026, 7, 22), dt.date(2026, 8, 7)) == {}


def sign_more_projects(cast, make_application, count: int) -> list[GrantApplication]:
    """`count` more projects of A1 signed with the first one, owing the same reports on the same dates."""
    with time_machine.travel(SIGNED, tick=False):
        return [advance(make_application(start_date=dt.date(2026, 4, 1), end_date=dt.date(2026, 6, 30)),
                        State.IN_PROGRESS, cast) for _ in range(count)]


def late_morning(day: dt.date) -> tuple[int, list[str]]:
    """Sweep once at 08:00 of `day`: what it recorded and the SELECT statements it ran."""
    with time_machine.travel(morning(day), tick=False), CaptureQueriesContext(connection) as queries:
        recorded = report_reminders_record()
    return recorded, [query["sql"] for query in queries if query["sql"].lstrip().upper().startswith("SELECT")]


def test_late_reports_of_many_projects_reach_their_own_people_without_reading_each_fund(cast, project,
                                                                                          make_application):
    others = sign_more_projects(cast, make_application, 3)
    moved = others[-1]
    GrantApplication.objects.filter(pk=moved.pk).update(community=cast.b1)  # now B1's: B1's applicants hear

    recorded, selects = late_morning(PROGRESS_DUE + dt.timedelta(days=1))

    assert recorded == 8  # four late projects, each to its applicants and to the programme officers
    assert not [sql for sql in selects if sql.startswith('SELECT "grants_fund"')]  # read with the projects
    heard = set(Event.objects.filter(kind=MessageType.REPORT_OVERDUE).values_list(
        "application_id", "recipient_role", "deliveries__recipient__username"))
    assert heard == ({(p.pk, "applicant", "applicant") for p in [project, *others[:-1]]}
                     | {(moved.pk, "applicant", "applicant_b")}
                     | {(p.pk, "programme_officer", "programme_officer") for p in [project, *others]})


def test_role_holders_are_looked_up_once_a_sweep_however_many_reports_are_late(cast, project, make_application):
    recorded, one_project = late_morning(PROGRESS_DUE + dt.timedelta(days=1))
    assert recorded == 2
    others = sign_more_projects(cast, make_application, 3)

    recorded, four_projects = late_morning(PROGRESS_DUE + dt.timedelta(days=8))  # the second late week

    assert recorded == 8
    assert len(four_projects) == len(one_project)  # only the writes grow with the reports
    heard = set(Event.objects.filter(kind=MessageType.REPORT_OVERDUE, payload__days=8).values_list(
        "application_id", "recipient_role", "deliveries__recipient__username"))
    assert heard == {(p.pk, role, role) for p in [project, *others] for role in ("applicant", "programme_officer")}


def test_a_morning_with_nothing_due_costs_one_query(project):
    # The sweep reads only projects whose indexed next_report_due_on falls within the next 7 days.
    with time_machine.travel(morning(dt.date(2026, 4, 1)), tick=False), \
            CaptureQueriesContext(connection) as queries:
        assert report_reminders_record() == 0
    assert len(queries) == 1
    assert "next_report_due_on" in queries[0]["sql"]


def test_the_message_says_which_report_and_when_in_the_recipients_language(cast, project):
    sweep_three_times(dt.date(2026, 5, 9))
    sweep_three_times(dt.date(2026, 8, 1))
    due = Event.objects.get(kind=MessageType.REPORT_DUE).deliveries.get(recipient=cast.applicant)
    late = Event.objects.filter(kind=MessageType.REPORT_OVERDUE, recipient_role="programme_officer",
                                payload__report="completion").get().deliveries.get()

    english = render(due, language="en")
    assert english.subject == f"Report due: {project.title}"
    assert english.body == f"Progress report no. 1 of “{project.title}” is due on 2026-05-16 (in 7 day(s))."
    assert render(late, language="en").body == (
        f"The completion report of “{project.title}” was due on 2026-07-30 and is 2 day(s) late; "
        "no further payment until it is in.")
    chinese = render(due)  # the recipient's language: Simplified Chinese by default
    with translation.override("zh-hans"):
        assert chinese.subject == translation.gettext("Report due: %(title)s") % {"title": project.title}
    assert project.title in chinese.body and "2026-05-16" in chinese.body


def test_beat_runs_the_report_sweep_every_morning_at_eight():
    from config.celery import app
    from notifications.tasks import record_report_reminders

    entry = BEAT_SCHEDULE["report-reminders"]
    assert entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({8}, {0})
    with time_machine.travel(morning(dt.date(2026, 5, 9)), tick=False):
        assert record_report_reminders.apply().get() == 0  # no project owes anything
