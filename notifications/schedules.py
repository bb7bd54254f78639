"""Every periodic schedule of the system, in one place (loaded into django-celery-beat at start-up)."""

from __future__ import annotations

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "workflow-timers": {
        "task": "workflows.fire_due_timers",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
}
