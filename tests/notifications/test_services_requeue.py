"""deliveries_requeue, the sweep: due rows that never reached a worker go out again; stale claims come back.

Celery publishes to a real broker: `memory://` in this process (see conftest), or a Redis URL on a port
where nothing listens ("the broker is down"). `delivered_ids()` reads what reached the broker.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications import channels
from notifications.models import Channel, Delivery, MessageType
from notifications.services import SWEEP_GRACE, deliveries_requeue, delivery_attempt, event_record
from notifications.tasks import requeue_deliveries

from .support import delivered_ids, free_port, use_broker, with_email

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class WorkerDied(BaseException):
    """What a killed worker looks like from inside: the send never returns."""


def record(cast, application, key: str) -> list[int]:
    """An approval for the applicant: one in-app and one email delivery."""
    with_email(cast.applicant)
    event = event_record(kind=MessageType.APPROVED, natural_key=key, application=application,
                         recipient=cast.applicant)
    return sorted(event.deliveries.values_list("pk", flat=True))


def test_rows_recorded_while_the_broker_was_down_go_out_once_due(cast, make_application, caplog, counting,
                                                                 django_capture_on_commit_callbacks):
    application = make_application()
    use_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with time_machine.travel(NOON, tick=False) as clock:
        with caplog.at_level(logging.WARNING, logger="notifications.services"), \
                django_capture_on_commit_callbacks(execute=True):
            ids = record(cast, application, "test:broker-down")
        # The commit survived the broker; the broker was tried once, not once per row.
        assert len(ids) == 2
        warnings = [r.getMessage() for r in caplog.records if r.name == "notifications.services"]
        assert len(warnings) == 1 and "(2 left unqueued); the sweep will pick them up" in warnings[0]
        assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"queued"}

        use_broker("memory://")  # the broker is back
        clock.shift(SWEEP_GRACE - dt.timedelta(seconds=1))
        assert deliveries_requeue() == []  # too fresh: their own on-commit task may still be on its way
        clock.shift(dt.timedelta(seconds=1))
        assert sorted(deliveries_requeue()) == ids
        assert sorted(delivered_ids()) == ids

        # Nothing lost: the re-enqueued tasks deliver every row.
        for pk in ids:
            assert delivery_attempt(delivery_id=pk).status == "sent"
        assert counting[Channel.IN_APP].calls == counting[Channel.EMAIL].calls == 1
        clock.shift(dt.timedelta(minutes=5))
        assert deliveries_requeue() == []


def test_retries_wait_for_their_due_time_and_finished_rows_are_left_alone(cast, make_application, counting):
    counting[Channel.EMAIL].fail_with.append(channels.DeliveryError("SMTP unavailable", permanent=False))
    with time_machine.travel(NOON, tick=False) as clock:
        in_app, email = record(cast, make_application(), "test:backoff")
        assert delivery_attempt(delivery_id=in_app).status == "sent"
        assert delivery_attempt(delivery_id=email).status == "queued"  # due again at NOON + 30 s
        failed = record(cast, make_application(), "test:failed")
        counting[Channel.IN_APP].fail_with.append(channels.DeliveryError("broken", permanent=True))
        assert delivery_attempt(delivery_id=failed[0]).status == "failed"
        delivered_ids()

        clock.move_to(NOON + dt.timedelta(seconds=30) + SWEEP_GRACE - dt.timedelta(seconds=1))
        assert email not in deliveries_requeue()
        clock.move_to(NOON + dt.timedelta(seconds=30) + SWEEP_GRACE)
        due = deliveries_requeue()
        assert email in due and in_app not in due and failed[0] not in due
        assert set(delivered_ids()) == set(due)


def test_stale_claims_come_back_after_ten_minutes(cast, make_application, monkeypatch):
    class DyingChannel:
        def deliver(self, message):
            raise WorkerDied

    monkeypatch.setitem(channels.CHANNELS, Channel.EMAIL, DyingChannel())
    with time_machine.travel(NOON, tick=False) as clock:
        _in_app, old = record(cast, make_application(), "test:stale-old")
        with pytest.raises(WorkerDied):
            delivery_attempt(delivery_id=old)
        clock.move_to(NOON + dt.timedelta(minutes=5))
        _in_app, young = record(cast, make_application(), "test:stale-young")
        with pytest.raises(WorkerDied):
            delivery_attempt(delivery_id=young)
        assert Delivery.objects.get(pk=old).status == Delivery.Status.SENDING

        clock.move_to(NOON + dt.timedelta(minutes=10, seconds=1))
        due = deliveries_requeue()

        assert old in due and young not in due
        old_row, young_row = Delivery.objects.get(pk=old), Delivery.objects.get(pk=young)
        assert (old_row.status, old_row.claimed_at) == (Delivery.Status.QUEUED, None)
        assert young_row.status == Delivery.Status.SENDING  # its worker may still be sending
        assert old in delivered_ids()

        monkeypatch.setitem(channels.CHANNELS, Channel.EMAIL, channels.InAppChannel())  # a send that works
        assert delivery_attempt(delivery_id=old).status == "sent"
        assert Delivery.objects.get(pk=old).attempts == 2


def test_the_sweep_takes_the_oldest_due_rows_first_up_to_its_limit(cast, make_application):
    with time_machine.travel(NOON, tick=False) as clock:
        first = record(cast, make_application(), "test:first")
        clock.shift(dt.timedelta(seconds=5))
        second = record(cast, make_application(), "test:second")
        clock.shift(SWEEP_GRACE)
        assert deliveries_requeue(limit=2) == first
        assert sorted(deliveries_requeue(limit=10)) == first + second


def test_the_beat_task_runs_the_sweep(cast, make_application):
    with time_machine.travel(NOON, tick=False) as clock:
        ids = record(cast, make_application(), "test:beat")
        clock.shift(SWEEP_GRACE)
        assert requeue_deliveries.apply().get() == len(ids)
        assert sorted(delivered_ids()) == ids
