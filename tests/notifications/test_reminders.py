"""Reminders by due date (notifications.reminders): each recorded once, on the right day of the official calendar.

Every sweep below runs three times at the same moment, as beat may (every 15 minutes, and twice after a
restart): the natural keys make the second and third run record nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from grants import services
from grants.models import Role, Tranche
from grants.states import State
from notifications.models import Event, MessageType
from notifications.reminders import digests_record, reminders_record
from tests.factories import UserFactory
from tests.helpers import advance

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def sweep_three_times(now: dt.datetime) -> list[int]:
    """Run the reminder sweep three times at `now` (the clock is moved there); what each run recorded."""
    with time_machine.travel(now, tick=False):
        return [reminders_record() for _ in range(3)]


def recipients(kind: MessageType) -> list[tuple[str, str]]:
    """(username, channel) of every delivery of every event of this kind."""
    return sorted(Event.objects.filter(kind=kind).values_list("deliveries__recipient__username",
                                                              "deliveries__channel"))


def days_recorded(kind: MessageType) -> list[dt.date]:
    return [dt.datetime.fromtimestamp(e.created_at.timestamp(), SHANGHAI).date()
            for e in Event.objects.filter(kind=kind).order_by("created_at")]


def test_publicity_ending_is_recorded_the_working_day_before_across_national_day(cast, make_application):
    with time_machine.travel(at(2026, 9, 28, 10), tick=False):  # a Monday
        application = advance(make_application(), State.PUBLICITY, cast)
    # 29, 30 September; 1-7 October off; 8, 9 October and Saturday 10 October, a make-up working day.
    assert application.publicity_ends_on == dt.date(2026, 10, 10)

    day = dt.date(2026, 9, 28)
    while day <= dt.date(2026, 10, 10):
        sweep_three_times(dt.datetime.combine(day, dt.time(9, 0), SHANGHAI))
        day += dt.timedelta(days=1)

    assert days_recorded(MessageType.PUBLICITY_ENDING) == [dt.date(2026, 10, 9)]  # not 1-7 October
    event = Event.objects.get(kind=MessageType.PUBLICITY_ENDING)
    assert (event.application, event.recipient) == (application, cast.applicant)
    assert event.natural_key == f"publicity_ending:{application.pk}:2026-10-10"


def test_agreement_unsigned_after_ten_working_days_reaches_the_secretary_general(cast, make_application):
    with time_machine.travel(at(2026, 6, 1, 10), tick=False):
        # Publicity 2-8 June; the timer moves it on to the agreement at noon on 9 June.
        application = advance(make_application(), State.AGREEMENT, cast)
    entered = application.audit_entries.get(to_state=State.AGREEMENT).created_at
    assert entered == at(2026, 6, 9, 12)

    # Ten working days after 9 June: 10-12, 15-18 and (19 June, Dragon Boat Festival, off) 22-24 June.
    assert sweep_three_times(at(2026, 6, 23, 9)) == [0, 0, 0]
    assert sweep_three_times(at(2026, 6, 24, 9)) == [1, 0, 0]
    assert sweep_three_times(at(2026, 6, 25, 9)) == [0, 0, 0]

    event = Event.objects.get(kind=MessageType.AGREEMENT_UNSIGNED)
    assert event.payload == {"days": 10}
    # In the app only: the cast has no email addresses.
    assert recipients(MessageType.AGREEMENT_UNSIGNED) == [("secretary_general", "in_app")]


def test_tranche_payable_and_unpaid_after_five_working_days_reaches_finance(cast, make_application):
    with time_machine.travel(at(2026, 6, 1, 10), tick=False) as clock:
        application = advance(make_application(), State.AGREEMENT, cast)
        clock.move_to(at(2026, 6, 10, 10))
        services.agreement_sign(actor=cast.secretary_general, application=application)
    tranche = application.tranches.get(status=Tranche.Status.PAYABLE)
    assert Event.objects.filter(kind=MessageType.TRANCHE_PAYABLE, natural_key=f"tranche_payable:{tranche.pk}",
                                ).count() == 1

    # Five working days after 10 June: 11, 12, 15, 16, 17 June.
    assert sweep_three_times(at(2026, 6, 16, 23, 59)) == [0, 0, 0]
    assert sweep_three_times(at(2026, 6, 17, 0, 1)) == [1, 0, 0]
    assert sweep_three_times(at(2026, 6, 30, 9)) == [0, 0, 0]

    event = Event.objects.get(kind=MessageType.TRANCHE_UNPAID)
    assert event.payload == {"amount": str(tranche.amount), "days": 5}
    assert {username for username, _channel in recipients(MessageType.TRANCHE_UNPAID)} == {"finance"}


def test_a_paid_tranche_is_never_reminded(cast, make_application):
    with time_machine.travel(at(2026, 6, 1, 10), tick=False) as clock:
        application = advance(make_application(), State.AGREEMENT, cast)
        clock.move_to(at(2026, 6, 10, 10))
        services.agreement_sign(actor=cast.secretary_general, application=application)
        tranche = application.tranches.get(status=Tranche.Status.PAYABLE)
        services.tranche_pay(actor=cast.finance, tranche=tranche, bank_reference="BANK-0610")
    assert sweep_three_times(at(2026, 6, 30, 9)) == [0, 0, 0]


def test_returned_application_idle_for_fourteen_days_reminds_the_applicant(cast, make_application):
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        application = advance(make_application(), State.REVISION_REQUESTED, cast)

    assert sweep_three_times(at(2026, 11, 16, 9, 59)) == [0, 0, 0]
    assert sweep_three_times(at(2026, 11, 16, 10, 1)) == [1, 0, 0]
    assert sweep_three_times(at(2026, 11, 20, 10)) == [0, 0, 0]

    event = Event.objects.get(kind=MessageType.REVISION_IDLE)
    assert (event.application, event.recipient, event.payload) == (application, cast.applicant, {"days": 14})


def test_a_revised_application_is_not_reminded(cast, make_application):
    with time_machine.travel(at(2026, 11, 2, 10), tick=False) as clock:
        application = advance(make_application(), State.REVISION_REQUESTED, cast)
        clock.move_to(at(2026, 11, 10, 10))
        services.application_resubmit(actor=cast.applicant, application=application, comment="已补充")
    assert sweep_three_times(at(2026, 11, 17, 10)) == [0, 0, 0]


def test_annual_disclosure_is_reminded_on_the_first_and_the_twenty_fourth_of_may(cast):
    for day in (30, 1, 2, 23, 24, 25):
        month = 4 if day == 30 else 5
        sweep_three_times(at(2026, month, day, 9))

    assert days_recorded(MessageType.ANNUAL_DISCLOSURE) == [dt.date(2026, 5, 1), dt.date(2026, 5, 24)]
    assert {e.payload["due"] for e in Event.objects.filter(kind=MessageType.ANNUAL_DISCLOSURE)} == {"2026-05-31"}
    assert {username for username, _channel in recipients(MessageType.ANNUAL_DISCLOSURE)} == {"secretary_general"}


def test_daily_digest_once_per_person_per_day(cast, make_application):
    UserFactory(username="second_reviewer", roles=[(Role.STREET_REVIEWER, cast.street_a)])
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        advance(make_application(), State.STREET_REVIEW, cast)

    for day in (3, 4):
        with time_machine.travel(at(2026, 11, day, 8), tick=False):
            runs = [digests_record() for _ in range(3)]
        assert runs == [2, 0, 0]

    digests = list(Event.objects.filter(kind=MessageType.DAILY_DIGEST).values_list("recipient__username",
                                                                                    "natural_key"))
    per_person: dict[str, int] = {}
    for username, _key in digests:
        per_person[username] = per_person.get(username, 0) + 1
    # The street review waits in the queue of street A's two reviewers: one digest each on 3 and on 4 November.
    assert per_person == {"street_reviewer": 2, "second_reviewer": 2}
    street_reviewer_digest = Event.objects.filter(kind=MessageType.DAILY_DIGEST, recipient=cast.street_reviewer)
    assert street_reviewer_digest.first().payload == {"count": 1}


def test_the_beat_tasks_record_reminders(cast):
    from notifications.tasks import daily_digest, record_reminders

    with time_machine.travel(at(2026, 5, 1, 9), tick=False):
        assert record_reminders.apply().get() == 1
        assert record_reminders.apply().get() == 0
        assert daily_digest.apply().get() == 0  # nobody has a task waiting
