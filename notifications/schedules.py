"""Every periodic schedule of the system, in one place (loaded into django-celery-beat at start-up)."""

from __future__ import annotations

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    # viewflow's timers: publicity end, service-time reminders and escalations.
    "workflow-timers": {"task": "workflows.fire_due_timers", "schedule": crontab(minute="*"),
                        "options": {"expires": 55}},
    # Outbox rows that were never handed to a worker, or whose retry is due.
    "requeue-deliveries": {"task": "notifications.requeue_deliveries", "schedule": crontab(minute="*"),
                           "options": {"expires": 55}},
    # Reminders by due date: publicity ending, agreement unsigned, tranche unpaid, idle revisions, ...
    "record-reminders": {"task": "notifications.record_reminders", "schedule": crontab(minute="*/15"),
                         "options": {"expires": 600}},
    "daily-digest": {"task": "notifications.daily_digest", "schedule": crontab(hour=8, minute=0),
                     "options": {"expires": 3600}},
    # Reports due in 7 days and in 1 day, and late ones (weekly): once a morning, Asia/Shanghai (CELERY_TIMEZONE).
    "report-reminders": {"task": "notifications.record_report_reminders", "schedule": crontab(hour=8, minute=0),
                         "options": {"expires": 3600}},
}
