"""delivery_attempt: claimed before it is sent, permanent errors stop, temporary ones come back with backoff."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from notifications import channels
from notifications.channels import DeliveryError
from notifications.models import Channel, ChannelHealth, Delivery, MessageType
from notifications.services import MAX_ATTEMPTS, deliveries_requeue, delivery_attempt, event_record

from .support import CountingChannel

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def email_delivery(cast, make_application, key: str = "test:approved") -> Delivery:
    cast.applicant.email = "applicant@example.org"
    cast.applicant.save(update_fields=["email"])
    event = event_record(kind=MessageType.APPROVED, natural_key=key, application=make_application(),
                         recipient=cast.applicant)
    return event.deliveries.get(channel=Channel.EMAIL)


def row(delivery: Delivery) -> Delivery:
    return Delivery.objects.get(pk=delivery.pk)


def test_two_attempts_on_the_same_row_send_once(cast, make_application, counting):
    delivery = email_delivery(cast, make_application)

    first = delivery_attempt(delivery_id=delivery.pk)
    second = delivery_attempt(delivery_id=delivery.pk)

    assert (first.status, second.status) == ("sent", "skipped")
    assert counting[Channel.EMAIL].calls == 1
    assert counting[Channel.EMAIL].sent[0].email == "applicant@example.org"
    stored = row(delivery)
    assert (stored.status, stored.attempts) == (Delivery.Status.SENT, 1)
    assert stored.sent_at is not None


def test_a_second_worker_arriving_mid_send_finds_the_row_claimed(cast, make_application, monkeypatch):
    delivery = email_delivery(cast, make_application)
    seen_by_second_worker = []

    class SecondWorkerDuringSend(CountingChannel):
        def deliver(self, message):
            # While this send is under way (row claimed: "sending"), another worker gets the same task.
            seen_by_second_worker.append(delivery_attempt(delivery_id=delivery.pk).status)
            super().deliver(message)

    channel = SecondWorkerDuringSend()
    monkeypatch.setitem(channels.CHANNELS, Channel.EMAIL, channel)

    assert delivery_attempt(delivery_id=delivery.pk).status == "sent"
    assert seen_by_second_worker == ["skipped"]
    assert channel.calls == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_row_send_once(cast, make_application, counting):
    delivery = email_delivery(cast, make_application)
    start = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        try:
            start.wait(timeout=10)
            results.append(delivery_attempt(delivery_id=delivery.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["sent", "skipped"]
    assert counting[Channel.EMAIL].calls == 1


def test_permanent_error_fails_for_good_and_shows_on_the_channel(cast, make_application, counting):
    counting[Channel.EMAIL].fail_with.append(DeliveryError("address refused: nobody@example.org",
                                                           permanent=True))
    with time_machine.travel(NOON, tick=False) as clock:
        delivery = email_delivery(cast, make_application)
        attempt = delivery_attempt(delivery_id=delivery.pk)

        assert (attempt.status, attempt.retry_in) == ("failed", None)
        stored = row(delivery)
        assert stored.status == Delivery.Status.FAILED
        assert stored.last_error == "address refused: nobody@example.org"
        assert stored.claimed_at is None
        health = ChannelHealth.objects.get(channel=Channel.EMAIL)
        assert health.last_error == "address refused: nobody@example.org"
        assert health.last_error_at == NOON

        # Never tried again: not by a late task, not by the sweep hours later.
        clock.move_to(NOON + dt.timedelta(hours=3))
        assert delivery_attempt(delivery_id=delivery.pk).status == "skipped"
        assert delivery.pk not in deliveries_requeue()
        assert counting[Channel.EMAIL].calls == 1


def test_temporary_error_comes_back_later_with_growing_backoff_then_sends(cast, make_application, counting):
    email = counting[Channel.EMAIL]
    email.fail_with.extend([DeliveryError("SMTP unavailable", permanent=False),
                            DeliveryError("SMTP 451: 'try later'", permanent=False)])
    with time_machine.travel(NOON, tick=False) as clock:
        delivery = email_delivery(cast, make_application)

        first = delivery_attempt(delivery_id=delivery.pk)
        assert (first.status, first.retry_in) == ("queued", dt.timedelta(seconds=30))
        stored = row(delivery)
        assert (stored.status, stored.due_at, stored.last_error) == (
            Delivery.Status.QUEUED, NOON + dt.timedelta(seconds=30), "SMTP unavailable")
        # Not due yet: an early task (or a duplicate) does nothing.
        assert delivery_attempt(delivery_id=delivery.pk).status == "skipped"

        clock.move_to(NOON + dt.timedelta(seconds=30))
        second = delivery_attempt(delivery_id=delivery.pk)
        assert (second.status, second.retry_in) == ("queued", dt.timedelta(seconds=60))
        assert row(delivery).due_at == NOON + dt.timedelta(seconds=90)

        clock.move_to(NOON + dt.timedelta(seconds=90))
        assert delivery_attempt(delivery_id=delivery.pk).status == "sent"

    stored = row(delivery)
    assert (stored.status, stored.attempts, stored.last_error) == (Delivery.Status.SENT, 3, "")
    assert email.calls == 3 and len(email.sent) == 1
    health = ChannelHealth.objects.get(channel=Channel.EMAIL)
    assert health.last_success_at == NOON + dt.timedelta(seconds=90)
    assert health.last_error == "SMTP 451: 'try later'"  # kept for the administrators


def test_a_delivery_that_keeps_failing_gives_up_after_the_last_attempt(cast, make_application, counting):
    counting[Channel.EMAIL].fail_with.extend(
        DeliveryError("SMTP unavailable", permanent=False) for _ in range(MAX_ATTEMPTS))
    with time_machine.travel(NOON, tick=False) as clock:
        delivery = email_delivery(cast, make_application)
        waits = []
        for _ in range(MAX_ATTEMPTS):
            attempt = delivery_attempt(delivery_id=delivery.pk)
            if attempt.retry_in is None:
                break
            waits.append(attempt.retry_in.total_seconds())
            clock.shift(attempt.retry_in)

    assert attempt.status == "failed"
    assert waits == [30, 60, 120, 240, 480, 960, 1800]  # doubling, capped at 30 minutes
    assert row(delivery).attempts == MAX_ATTEMPTS


def test_an_unexpected_error_counts_as_a_temporary_failure(cast, make_application, monkeypatch):
    delivery = email_delivery(cast, make_application, key="test:unexpected")

    class Broken:
        def deliver(self, message):
            raise RuntimeError("template bug")

    monkeypatch.setitem(channels.CHANNELS, Channel.EMAIL, Broken())
    attempt = delivery_attempt(delivery_id=delivery.pk)

    stored = row(delivery)
    assert attempt.retry_in is not None
    assert (stored.status, stored.attempts, stored.claimed_at) == (Delivery.Status.QUEUED, 1, None)
    assert "template bug" in stored.last_error


def test_a_row_whose_worker_keeps_dying_is_failed_by_the_sweep(cast, make_application):
    delivery = email_delivery(cast, make_application, key="test:dying")
    long_ago = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENDING, claimed_at=long_ago,
                                                   attempts=MAX_ATTEMPTS)

    deliveries_requeue()

    stored = row(delivery)
    assert stored.status == Delivery.Status.FAILED and "stopped while sending" in stored.last_error
