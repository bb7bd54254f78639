"""Celery tasks of notifications: they take ids, claim before sending, and retry with backoff."""

from __future__ import annotations

from celery import shared_task

from . import reminders, services


@shared_task(bind=True, name="notifications.deliver", acks_late=True, ignore_result=True, max_retries=None)
def deliver(self, delivery_id: int) -> str:
    """Send one outbox row; a temporary failure retries it later (the row's due time is kept in the database)."""
    attempt = services.delivery_attempt(delivery_id=delivery_id)
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in.total_seconds())
    return attempt.status


@shared_task(name="notifications.requeue_deliveries", ignore_result=True)
def requeue_deliveries() -> int:
    """Hand every due, unsent outbox row to a worker again (lost messages, a broker that was down)."""
    return len(services.deliveries_requeue())


@shared_task(name="notifications.record_reminders", ignore_result=True)
def record_reminders() -> int:
    """Record the reminders that have come due (each once, by its natural key)."""
    return reminders.reminders_record()


@shared_task(name="notifications.record_report_reminders", ignore_result=True)
def record_report_reminders() -> int:
    """Record the reports due and overdue (each reminder once, by its natural key)."""
    return reminders.report_reminders_record()


@shared_task(name="notifications.daily_digest", ignore_result=True)
def daily_digest() -> int:
    """Record each reviewer's morning digest of what waits for them."""
    return reminders.digests_record()
