"""Background work of the grant process."""

from __future__ import annotations

from celery import shared_task
from viewflow.workflow.timers import fire_due_timers


@shared_task(name="workflows.fire_due_timers", ignore_result=True)
def workflow_fire_due_timers() -> int:
    """Fire the process timers that are due (publicity end, service-time reminders, escalations).

    The open-source viewflow has no Celery timer nodes: timers are rows with a due time, and this
    task, run every minute by beat, fires those that are due; each is re-checked under the flow lock,
    so overlapping runs are harmless.
    """
    return fire_due_timers()
