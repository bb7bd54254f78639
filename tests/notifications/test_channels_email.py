"""Email through a real SMTP server on 127.0.0.1 (aiosmtpd): one message, in the recipient's language."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from grants.states import State
from notifications.models import Channel, ChannelHealth, ChannelPreference, Delivery, Event, MessageType
from notifications.services import delivery_attempt
from tests.helpers import advance

from .support import free_port

pytestmark = pytest.mark.django_db
ADDRESS = "applicant@example.org"
CHINESE_CATALOGUE = Path(settings.BASE_DIR, "locale", "zh_Hans", "LC_MESSAGES", "django.mo")


@pytest.fixture
def approved(cast, make_application):
    """An application approved through the services; the applicant has an email address."""
    cast.applicant.email = ADDRESS
    cast.applicant.save(update_fields=["email"])
    application = advance(make_application(), State.PUBLICITY, cast)
    return application


def approval_email(application) -> Delivery:
    event = Event.objects.get(kind=MessageType.APPROVED, application=application)
    return event.deliveries.get(channel=Channel.EMAIL)


def test_english_preference_gets_one_english_email(approved, cast, smtp):
    ChannelPreference.objects.create(user=cast.applicant, language="en")

    assert delivery_attempt(delivery_id=approval_email(approved).pk).status == "sent"

    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert mail.recipients == [ADDRESS]
    assert mail.subject == f"Approved: {approved.title}"
    body = mail.message.get_content()
    assert f"was approved; it is published until {approved.publicity_ends_on}" in body
    assert ChannelHealth.objects.get(channel=Channel.EMAIL).last_success_at is not None


@pytest.mark.xfail(condition=not CHINESE_CATALOGUE.exists(), strict=False, reason="zh-hans catalogue pending")
def test_default_language_gets_the_email_in_chinese(approved, smtp):
    assert delivery_attempt(delivery_id=approval_email(approved).pk).status == "sent"

    assert len(smtp.received) == 1
    subject = smtp.received[0].subject
    assert approved.title in subject
    # Besides the (Chinese) title, the subject's own words are Chinese, not the English msgid.
    assert re.search(r"[\u4e00-\u9fff]", subject.replace(approved.title, "")), subject


def test_refused_recipient_fails_for_good_and_is_not_retried(approved, smtp):
    smtp.handler.refuse.add(ADDRESS)
    delivery = approval_email(approved)

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert (attempt.status, attempt.retry_in) == ("failed", None)
    stored = Delivery.objects.get(pk=delivery.pk)
    assert stored.status == Delivery.Status.FAILED
    assert ADDRESS in stored.last_error and "550" in stored.last_error
    assert ADDRESS in ChannelHealth.objects.get(channel=Channel.EMAIL).last_error
    assert smtp.received == []
    assert delivery_attempt(delivery_id=delivery.pk).status == "skipped"
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1


def test_server_asking_to_try_later_gets_one_message_on_the_next_attempt(approved, smtp):
    smtp.handler.data_errors.append("451 4.3.0 mailbox busy, try again later")
    delivery = approval_email(approved)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC), tick=False) as clock:
        first = delivery_attempt(delivery_id=delivery.pk)
        assert (first.status, first.retry_in) == ("queued", dt.timedelta(seconds=30))
        assert "451" in Delivery.objects.get(pk=delivery.pk).last_error
        assert smtp.received == []

        clock.shift(first.retry_in)
        assert delivery_attempt(delivery_id=delivery.pk).status == "sent"
    assert len(smtp.received) == 1


def test_server_down_is_temporary(approved, smtp, settings):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    delivery = approval_email(approved)

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert attempt.status == "queued" and attempt.retry_in == dt.timedelta(seconds=30)
    stored = Delivery.objects.get(pk=delivery.pk)
    assert stored.status == Delivery.Status.QUEUED and stored.last_error.startswith("SMTP unavailable")
