"""event_record: recorded once per natural key, fanned out to the role holders in scope on their channels."""

from __future__ import annotations

import pytest

from grants.models import Role
from notifications.models import Channel, ChannelPreference, Delivery, Event, MessageType
from notifications.services import event_record
from tests.factories import UserFactory

from .support import delivered_ids, with_email

pytestmark = pytest.mark.django_db


def channels_of(event: Event) -> dict[str, set[str]]:
    """username -> channels of the event's deliveries."""
    found: dict[str, set[str]] = {}
    for username, channel in event.deliveries.values_list("recipient__username", "channel"):
        found.setdefault(username, set()).add(channel)
    return found


def test_same_natural_key_twice_records_one_event_and_one_set_of_deliveries(cast, make_application,
                                                                           django_capture_on_commit_callbacks):
    application = make_application()
    with_email(cast.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        first = event_record(kind=MessageType.RETURNED_FOR_REVISION, natural_key="test:returned:1",
                             application=application, recipient=cast.applicant, payload={"comment": "预算不清"})
        second = event_record(kind=MessageType.RETURNED_FOR_REVISION, natural_key="test:returned:1",
                              application=application, recipient=cast.applicant, payload={"comment": "again"})

    assert first is not None and second is None
    assert Event.objects.filter(natural_key="test:returned:1").count() == 1
    deliveries = list(Delivery.objects.filter(event=first).order_by("pk").values_list("pk", "channel"))
    assert [channel for _pk, channel in deliveries] == [Channel.IN_APP, Channel.EMAIL]
    # Handed to Celery once each, after the commit.
    assert sorted(delivered_ids()) == [pk for pk, _channel in deliveries]
    assert Event.objects.get(pk=first.pk).payload == {"comment": "预算不清"}


def test_role_reaches_the_street_reviewers_of_the_applications_street_only(cast, make_application):
    second_reviewer = UserFactory(username="second_reviewer", roles=[(Role.STREET_REVIEWER, cast.street_a)])
    UserFactory(username="left_the_job", is_active=False, roles=[(Role.STREET_REVIEWER, cast.street_a)])
    application = make_application()  # community A1 of street A

    event = event_record(kind=MessageType.SERVICE_TIME_PASSED, natural_key="test:street-review",
                         application=application, recipient_role=Role.STREET_REVIEWER,
                         payload={"step": "street_review"})

    assert set(channels_of(event)) == {cast.street_reviewer.username, second_reviewer.username}
    assert not event.deliveries.filter(recipient=cast.other_street_reviewer).exists()


def test_channels_follow_each_persons_preference_and_the_app_always_gets_one(cast, make_application):
    second_reviewer = UserFactory(username="second_reviewer", roles=[(Role.STREET_REVIEWER, cast.street_a)])
    third_reviewer = UserFactory(username="third_reviewer", roles=[(Role.STREET_REVIEWER, cast.street_a)])
    ChannelPreference.objects.create(user=cast.street_reviewer, email_enabled=True, sms_enabled=True,
                                     phone="13800138000", wecom_enabled=True,
                                     wecom_webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    ChannelPreference.objects.create(user=second_reviewer, email_enabled=False)
    with_email(cast.street_reviewer, second_reviewer, third_reviewer)
    application = make_application()

    event = event_record(kind=MessageType.SERVICE_TIME_PASSED, natural_key="test:channels",
                         application=application, recipient_role=Role.STREET_REVIEWER,
                         payload={"step": "street_review"})

    assert channels_of(event) == {
        cast.street_reviewer.username: {Channel.IN_APP, Channel.EMAIL, Channel.SMS, Channel.WECOM},
        second_reviewer.username: {Channel.IN_APP},
        third_reviewer.username: {Channel.IN_APP, Channel.EMAIL},  # no preference saved: the defaults
    }
    assert set(event.deliveries.values_list("status", flat=True)) == {Delivery.Status.QUEUED}


def test_a_channel_without_an_address_is_left_out_rather_than_failed(cast, make_application):
    # Email is on by default, but nobody in the cast has an address; a preference saved outside the form
    # (the admin, an import) may switch on text messages or the robot without saying where to.
    no_email = UserFactory(username="no_email", roles=[(Role.STREET_REVIEWER, cast.street_a)])
    no_phone = UserFactory(username="no_phone", email="no_phone@example.org",
                           roles=[(Role.STREET_REVIEWER, cast.street_a)])
    ChannelPreference.objects.create(user=no_phone, sms_enabled=True, wecom_enabled=True)
    ChannelPreference.objects.create(user=cast.street_reviewer, email_enabled=True)
    application = make_application()

    event = event_record(kind=MessageType.SERVICE_TIME_PASSED, natural_key="test:no-address",
                         application=application, recipient_role=Role.STREET_REVIEWER,
                         payload={"step": "street_review"})

    assert channels_of(event) == {
        cast.street_reviewer.username: {Channel.IN_APP},
        no_email.username: {Channel.IN_APP},
        no_phone.username: {Channel.IN_APP, Channel.EMAIL},
    }
    assert not Delivery.objects.filter(status=Delivery.Status.FAILED).exists()


def test_a_named_recipient_gets_it_alone(cast, make_application):
    application = make_application()
    event = event_record(kind=MessageType.APPROVED, natural_key="test:named", application=application,
                         recipient=cast.applicant)
    assert set(channels_of(event)) == {cast.applicant.username}


def test_nothing_is_handed_to_celery_when_the_transaction_rolls_back(cast, make_application,
                                                                    django_capture_on_commit_callbacks):
    from django.db import transaction

    application = make_application()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            event_record(kind=MessageType.APPROVED, natural_key="test:rolled-back", application=application,
                         recipient=cast.applicant)
            raise RuntimeError("the approval failed")

    assert not Event.objects.filter(natural_key="test:rolled-back").exists()
    assert delivered_ids() == []
