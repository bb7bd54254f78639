"""WeCom group robot and the HTTP text message provider against a real HTTP server on 127.0.0.1.

200 (errcode 0) is sent; 4xx is permanent; 5xx, 429 and a provider slower than HTTP_TIMEOUT are temporary
and come back with backoff.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications import channels
from notifications.models import Channel, ChannelHealth, ChannelPreference, Delivery, MessageType
from notifications.services import delivery_attempt, event_record

from .support import Reply

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HTTP_CHANNELS = [Channel.WECOM, Channel.SMS]


@pytest.fixture
def delivery_to(cast, make_application, http_server, settings):
    """A queued delivery on the given channel whose endpoint is the local HTTP server."""
    settings.SMS_PROVIDER = "notifications.channels.HttpSmsProvider"
    settings.SMS_HTTP_URL = http_server.url("/sms/send")
    settings.SMS_HTTP_TOKEN = "sms-token"
    ChannelPreference.objects.create(user=cast.applicant, language="en", email_enabled=False,
                                     sms_enabled=True, phone="13800138000", wecom_enabled=True,
                                     wecom_webhook=http_server.url("/cgi-bin/webhook/send?key=robot"))
    application = make_application()

    def of(channel: Channel) -> Delivery:
        event = event_record(kind=MessageType.APPROVED, natural_key="test:http", application=application,
                             recipient=cast.applicant)
        return event.deliveries.get(channel=channel)

    return of


def stored(delivery: Delivery) -> Delivery:
    return Delivery.objects.get(pk=delivery.pk)


def test_wecom_200_with_errcode_0_is_sent(delivery_to, http_server):
    delivery = delivery_to(Channel.WECOM)

    assert delivery_attempt(delivery_id=delivery.pk).status == "sent"

    [(path, body)] = http_server.requests
    assert path == "/cgi-bin/webhook/send?key=robot"
    assert body["msgtype"] == "text"
    assert body["text"]["content"].startswith(f"Approved: {delivery.event.application.title}\n")
    assert stored(delivery).status == Delivery.Status.SENT
    assert ChannelHealth.objects.get(channel=Channel.WECOM).last_success_at is not None


def test_sms_provider_gets_token_phone_and_text(delivery_to, http_server):
    delivery = delivery_to(Channel.SMS)

    assert delivery_attempt(delivery_id=delivery.pk).status == "sent"

    [(path, body)] = http_server.requests
    assert path == "/sms/send"
    assert (body["token"], body["phone"]) == ("sms-token", "13800138000")
    assert body["text"].startswith("Approved: ")


@pytest.mark.parametrize("channel", HTTP_CHANNELS)
@pytest.mark.parametrize("status", [400, 403, 404])
def test_4xx_is_permanent(delivery_to, http_server, channel, status):
    http_server.replies.append(Reply(status=status, body={"error": "no"}))
    delivery = delivery_to(channel)

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert (attempt.status, attempt.retry_in) == ("failed", None)
    assert stored(delivery).last_error == f"HTTP {status}"
    assert ChannelHealth.objects.get(channel=channel).last_error == f"HTTP {status}"
    assert delivery_attempt(delivery_id=delivery.pk).status == "skipped"
    assert len(http_server.requests) == 1


def test_wecom_error_code_in_a_200_answer_is_permanent_unless_busy(delivery_to, http_server):
    http_server.replies.append(Reply(body={"errcode": 93000, "errmsg": "invalid webhook url"}))
    delivery = delivery_to(Channel.WECOM)
    assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
    assert stored(delivery).last_error == "WeCom errcode 93000: invalid webhook url"


TEMPORARY = [
    *[pytest.param(channel, Reply(status=status), id=f"{channel}-{status}")
      for channel in HTTP_CHANNELS for status in (500, 503, 429)],
    pytest.param(Channel.WECOM, Reply(body={"errcode": 45009, "errmsg": "api freq out of limit"}),
                 id="wecom-errcode-45009"),
]


@pytest.mark.parametrize(("channel", "reply"), TEMPORARY)
def test_5xx_and_rate_limits_are_temporary_then_sent(delivery_to, http_server, channel, reply):
    http_server.replies.extend([reply, reply])
    with time_machine.travel(NOON, tick=False) as clock:
        delivery = delivery_to(channel)
        first = delivery_attempt(delivery_id=delivery.pk)
        assert (first.status, first.retry_in) == ("queued", dt.timedelta(seconds=30))
        assert stored(delivery).due_at == NOON + dt.timedelta(seconds=30)

        clock.shift(first.retry_in)
        second = delivery_attempt(delivery_id=delivery.pk)
        assert (second.status, second.retry_in) == ("queued", dt.timedelta(seconds=60))  # the backoff grows

        clock.shift(second.retry_in)
        assert delivery_attempt(delivery_id=delivery.pk).status == "sent"
    assert len(http_server.requests) == 3
    assert stored(delivery).status == Delivery.Status.SENT


@pytest.mark.parametrize("channel", HTTP_CHANNELS)
def test_a_provider_slower_than_the_timeout_is_temporary(delivery_to, http_server, channel, monkeypatch):
    monkeypatch.setattr(channels, "HTTP_TIMEOUT", 0.3)
    http_server.replies.extend([Reply(delay=3), Reply(delay=3)])  # the server answers after the client gave up
    with time_machine.travel(NOON, tick=False) as clock:
        delivery = delivery_to(channel)
        first = delivery_attempt(delivery_id=delivery.pk)
        assert (first.status, first.retry_in) == ("queued", dt.timedelta(seconds=30))
        assert "timed out" in stored(delivery).last_error

        clock.shift(first.retry_in)
        second = delivery_attempt(delivery_id=delivery.pk)
        assert (second.status, second.retry_in) == ("queued", dt.timedelta(seconds=60))

        clock.shift(second.retry_in)
        assert delivery_attempt(delivery_id=delivery.pk).status == "sent"  # the provider is quick again
    assert stored(delivery).attempts == 3
