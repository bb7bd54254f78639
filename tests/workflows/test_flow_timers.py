"""The process's timers: publicity on the working-day calendar, service-time reminders and escalations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS
from viewflow.workflow.timers import fire_due_timers

from grants import services
from grants.states import State
from notifications.models import Event, MessageType
from tests.factories import ApplicationFactory
from workflows.selectors import tasks_of_application

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMER_KINDS = (MessageType.SERVICE_TIME_PASSED, MessageType.ESCALATED)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def open_steps(application) -> list[str]:
    return [task.flow_task.name for task in tasks_of_application(application.pk)]


def no_failed_tasks() -> bool:
    return not Task.objects.filter(status=STATUS.ERROR).exists()


def to_street_review(cast):
    application = ApplicationFactory(actor=cast.applicant, category=cast.elder_care)
    services.application_submit(actor=cast.applicant, application=application)
    services.application_confirm(actor=cast.community_head, application=application)
    return application


def to_approval(cast, application):
    services.application_street_approve(actor=cast.street_reviewer, application=application)
    services.application_street_sign_off(actor=cast.street_leader, application=application)
    services.application_foundation_recommend(actor=cast.programme_officer, application=application, score=80,
                                              recommended_amount=Decimal("40000"))
    services.application_approve(actor=cast.secretary_general, application=application)


def test_publicity_ends_on_the_fifth_working_day_after_the_national_day_holiday(cast):
    with time_machine.travel(at(2026, 9, 28, 10), tick=False) as clock:  # a Monday
        application = to_street_review(cast)
        to_approval(cast, application)
        # 29, 30 September; 1-7 October off; 8, 9 October and Saturday 10 October, a make-up working day.
        assert application.publicity_ends_on == dt.date(2026, 10, 10)
        assert open_steps(application) == []  # publicity waits on a timer, not on a person

        clock.move_to(at(2026, 10, 10, 23, 59))
        fire_due_timers()
        application.refresh_from_db()
        assert application.status == State.PUBLICITY

        clock.move_to(at(2026, 10, 11, 0, 1))
        assert fire_due_timers() >= 1
        application.refresh_from_db()
        assert application.status == State.AGREEMENT
        assert open_steps(application) == ["agreement"]
        assert application.audit_entries.filter(action="end_publicity", actor=None).count() == 1
        assert no_failed_tasks()


def test_objection_during_publicity_stops_the_timer(cast):
    with time_machine.travel(at(2026, 9, 28, 10), tick=False) as clock:
        application = to_street_review(cast)
        to_approval(cast, application)
        services.objection_file(application=application, text="项目预算偏高", contact="138 0000 0000")
        assert open_steps(application) == ["objection"]
        clock.move_to(at(2026, 10, 12, 9))
        fire_due_timers()
        application.refresh_from_db()
        assert application.status == State.OBJECTION  # the publicity timer was cancelled with its wait
        assert no_failed_tasks()


def test_service_time_reminder_and_escalation_are_recorded_once_each(cast):
    with time_machine.travel(at(2026, 9, 28, 10), tick=False) as clock:
        application = to_street_review(cast)
        # Service time 3 working days: 29, 30 September, 8 October. Escalation after 5: ... 9, 10 (make-up).
        clock.move_to(at(2026, 10, 8, 9, 59))
        fire_due_timers()
        assert not Event.objects.filter(kind__in=TIMER_KINDS).exists()

        clock.move_to(at(2026, 10, 8, 10, 1))
        for _ in range(3):
            fire_due_timers()
        reminder = Event.objects.get(kind=MessageType.SERVICE_TIME_PASSED)
        assert reminder.application == application
        assert reminder.recipient_role == "street_reviewer"
        assert reminder.payload["step"] == "street_review"

        clock.move_to(at(2026, 10, 10, 10, 1))  # Saturday, an official make-up working day
        for _ in range(3):
            fire_due_timers()
        escalation = Event.objects.get(kind=MessageType.ESCALATED)
        assert escalation.recipient_role == "street_leader"
        assert Event.objects.filter(kind__in=TIMER_KINDS).count() == 2
        assert no_failed_tasks()


def test_timers_of_a_finished_task_never_fire(cast):
    with time_machine.travel(at(2026, 9, 28, 10), tick=False) as clock:
        application = to_street_review(cast)
        services.application_street_approve(actor=cast.street_reviewer, application=application)
        clock.move_to(at(2026, 10, 8, 10, 1))
        fire_due_timers()
        # Only the street leader's task (created at the same moment) has passed its service time.
        assert list(Event.objects.filter(kind=MessageType.SERVICE_TIME_PASSED)
                    .values_list("payload__step", flat=True)) == ["street_signoff"]


def test_withdrawal_cancels_every_open_task_and_timer(cast):
    application = to_street_review(cast)
    services.application_withdraw(actor=cast.applicant, application=application, reason="社区另有安排")
    process = application.process
    assert process.status == "CANCELED"
    assert not process.task_set.exclude(status__in=[STATUS.DONE, STATUS.CANCELED]).exists()
