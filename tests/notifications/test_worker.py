"""End to end with real Celery workers on Redis, PostgreSQL and a local SMTP server: exactly once, nothing lost.

Only with CELERY_WORKER_TESTS=1 (CI's PostgreSQL run sets it) on PostgreSQL. Each test starts
`celery -A config worker --pool solo -c 1 -Q celery` processes on the test database (pytest-django's
`test_<name>`) and a Redis database of its own (5 + the xdist worker number), approves an application
through the services, and polls the database (at most ~30 s) until the workers are done. Workers are
always stopped in `finally`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator

import pytest
import redis
import time_machine
from django.db import connection

from grants.states import State
from notifications.models import Channel, ChannelHealth, ChannelPreference, Delivery, Event, MessageType
from notifications.services import SWEEP_GRACE, deliveries_requeue
from notifications.tasks import deliver
from tests.helpers import advance

from .support import SmtpServer, Worker, free_port, start_worker, stop_worker, use_broker, wait_until

pytestmark = [
    pytest.mark.skipif(os.environ.get("CELERY_WORKER_TESTS") != "1",
                       reason="real Celery worker tests: set CELERY_WORKER_TESTS=1 with PostgreSQL and Redis at "
                              "127.0.0.1:6379 (CI's PostgreSQL run does)"),
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
ADDRESS = "applicant@example.org"
PATIENCE = 30  # seconds


@pytest.fixture
def redis_url(worker_id: str) -> Iterator[str]:
    """A Redis database of this test run's own, emptied before and after; this process publishes to it."""
    number = 0 if worker_id == "master" else int(worker_id.removeprefix("gw"))
    url = f"redis://127.0.0.1:6379/{5 + number}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    use_broker(url)
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def workers(redis_url: str, smtp: SmtpServer, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start workers with `start(name, ...)`; all of them are stopped afterwards, whatever happened."""
    settings_dict = connection.settings_dict
    assert settings_dict["NAME"].startswith("test_"), settings_dict["NAME"]
    database_url = (f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
                    f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}")
    env = {"DATABASE_URL": database_url, "CELERY_BROKER_URL": redis_url, "EMAIL_URL": smtp.url,
           "CONN_MAX_AGE": "0", "PYTHONUNBUFFERED": "1"}
    started: list[Worker] = []

    def start(name: str, *, backoff_seconds: float | None = None) -> Worker:
        worker = start_worker(name, env=env, log_dir=tmp_path, backoff_seconds=backoff_seconds)
        started.append(worker)
        assert wait_until(lambda: " ready." in worker.output(), timeout=PATIENCE, workers=(worker,)), \
            worker.output()[-3000:]
        return worker

    try:
        yield start
    finally:
        for worker in started:
            stop_worker(worker)
            print(f"--- worker {worker.name} (pid {worker.process.pid}) ---\n{worker.output()[-4000:]}")  # on failure


@pytest.fixture
def people(cast):
    """Only the applicant has an email address (in English); everyone else hears in the app only."""
    cast.applicant.email = ADDRESS
    cast.applicant.save(update_fields=["email"])
    ChannelPreference.objects.create(user=cast.applicant, language="en")
    ChannelPreference.objects.bulk_create([ChannelPreference(user=person, email_enabled=False)
                                           for name, person in cast.people.items() if name != "applicant"])
    return cast


def all_sent() -> bool:
    return Delivery.objects.exists() and not Delivery.objects.exclude(status=Delivery.Status.SENT).exists()


def assert_one_in_app_delivery_per_recipient_sent() -> None:
    for event in Event.objects.all():
        rows = list(event.deliveries.filter(channel=Channel.IN_APP).values_list("recipient_id", "status"))
        assert rows, f"{event} reached nobody"
        assert len({recipient for recipient, _status in rows}) == len(rows), event
        assert {status for _recipient, status in rows} == {Delivery.Status.SENT}, event


def results(worker: Worker, outcome: str) -> int:
    """How many `notifications.deliver` tasks this worker finished with `outcome` ("sent", "skipped")."""
    return len(re.findall(rf"Task notifications\.deliver\[[^]]+\] succeeded in [0-9.e-]+s: '{outcome}'",
                          worker.output()))


def approval_email() -> Delivery:
    return Delivery.objects.get(event__kind=MessageType.APPROVED, channel=Channel.EMAIL)


def test_an_approval_sends_one_email_and_one_in_app_notification_per_recipient(people, make_application, workers,
                                                                               smtp):
    workers("solo")

    application = advance(make_application(), State.PUBLICITY, people)

    assert wait_until(all_sent, timeout=PATIENCE), list(Delivery.objects.exclude(status="sent").values())
    assert [mail.subject for mail in smtp.received] == [f"Approved: {application.title}"]
    assert smtp.received[0].recipients == [ADDRESS]
    assert approval_email().attempts == 1
    assert_one_in_app_delivery_per_recipient_sent()
    assert Delivery.objects.get(event__kind=MessageType.APPROVED, channel=Channel.IN_APP).recipient == people.applicant


def test_two_workers_and_a_forced_retry_still_send_one_email(people, make_application, workers, smtp):
    # The first DATA is answered "try later" (a temporary error): the task retries after its backoff (1 s here).
    smtp.handler.data_errors.append("451 4.3.0 mailbox busy, try again later")
    first = workers("first", backoff_seconds=1)
    second = workers("second", backoff_seconds=1)

    application = advance(make_application(), State.PUBLICITY, people)
    # A sweep racing the on-commit tasks: every row is in the queue twice, for either worker to take.
    for pk in Delivery.objects.values_list("pk", flat=True):
        deliver.delay(pk)

    assert wait_until(all_sent, timeout=PATIENCE), list(Delivery.objects.exclude(status="sent").values())
    assert [mail.subject for mail in smtp.received] == [f"Approved: {application.title}"]
    email = approval_email()
    assert (email.attempts, email.last_error) == (2, "")
    # Both workers took tasks; between them every row was sent by exactly one task, the rest were skipped.
    rows = Delivery.objects.count()
    assert wait_until(lambda: sum(results(w, "sent") for w in (first, second)) >= rows, timeout=5)
    assert sum(results(w, "sent") for w in (first, second)) == rows
    assert sum(results(w, "skipped") for w in (first, second)) >= rows - 1
    assert all(results(w, "sent") + results(w, "skipped") for w in (first, second)), "a worker took no task"
    assert "451" in ChannelHealth.objects.get(channel=Channel.EMAIL).last_error
    assert_one_in_app_delivery_per_recipient_sent()


def test_nothing_is_lost_while_the_broker_is_stopped(people, make_application, workers, redis_url, smtp):
    use_broker(f"redis://127.0.0.1:{free_port()}/0")  # the broker is down while things happen
    application = advance(make_application(), State.PUBLICITY, people)
    queued = sorted(Delivery.objects.values_list("pk", flat=True))
    assert queued and set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.QUEUED}

    use_broker(redis_url)  # it is back: the sweep (beat, a minute later) hands every due row over
    workers("solo")
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + SWEEP_GRACE + dt.timedelta(seconds=1)):
        assert sorted(deliveries_requeue()) == queued

    assert wait_until(all_sent, timeout=PATIENCE), list(Delivery.objects.exclude(status="sent").values())
    assert [mail.subject for mail in smtp.received] == [f"Approved: {application.title}"]
    assert_one_in_app_delivery_per_recipient_sent()
