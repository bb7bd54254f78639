"""`/healthz`: 200 when the database and the broker answer, 503 naming the broker when it does not."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db

# Nothing listens on port 1 of this machine: a connection there is refused at once.
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def test_healthz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz", secure=True)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", CLOSED_PORT_BROKER)
    monkeypatch.setattr(celery_app.conf, "broker_write_url", None)
    # Celery's `broker_url` prefers the CELERY_BROKER_URL environment variable (set in CI) over its
    # configuration; patched last, so that the configuration's own value is what gets restored.
    monkeypatch.setenv("CELERY_BROKER_URL", CLOSED_PORT_BROKER)
    response = client.get("/healthz", secure=True)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"] == "ok"
    assert body["broker"].startswith("error")


def test_broker_setting_is_restored_after_the_outage_test():
    assert celery_app.conf.broker_url != CLOSED_PORT_BROKER
