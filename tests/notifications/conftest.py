"""Fixtures of the notification tests: an in-memory Celery broker, a counting channel, real local servers.

Every test here runs with Celery pointed at `memory://` (nothing reaches the project's var/celery
folder); `delivered_ids()` reads back what was handed to `notifications.deliver`. The worker tests
(test_worker.py) switch to Redis themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from notifications import channels
from notifications.models import Channel

from .support import CountingChannel, HttpServer, SmtpServer, queued_tasks, smtp_server, use_broker


@pytest.fixture(autouse=True)
def memory_broker() -> Iterator[None]:
    """Celery publishes to an in-memory broker of this process, emptied before and after each test."""
    from config.celery import app

    previous = {name: app.conf.get(name) for name in ("broker_url", "broker_read_url", "broker_write_url",
                                                      "broker_transport_options")}
    use_broker("memory://")
    queued_tasks()
    yield
    use_broker("memory://")  # a test may have switched to another broker
    with contextlib.suppress(Exception):
        queued_tasks()
    app.conf.update(previous)
    use_broker(previous["broker_url"])  # drops the pools
    app.conf.update(previous)


@pytest.fixture
def counting(monkeypatch) -> dict[str, CountingChannel]:
    """Every channel replaced by a CountingChannel (a real object that counts; the ORM is untouched)."""
    replaced = {channel: CountingChannel() for channel in Channel}
    for channel, transport in replaced.items():
        monkeypatch.setitem(channels.CHANNELS, channel, transport)
    return replaced


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend pointed at it."""
    with smtp_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield server


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A real HTTP server on 127.0.0.1 answering with the replies a test queues."""
    with HttpServer() as server:
        yield server
