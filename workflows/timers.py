"""Due times of the flow's timers (in working days) and what their handlers record."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone
from viewflow.workflow.status import STATUS

from grants.calendar import add_working_days
from grants.services import application_end_publicity
from grants.states import STEPS, State
from notifications.models import MessageType
from notifications.services import event_record

if TYPE_CHECKING:
    from viewflow.workflow.activation import Activation
    from viewflow.workflow.models import Task

OPEN_STATUSES = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


def _after_working_days(days: int) -> dt.datetime:
    now = timezone.localtime()
    return timezone.make_aware(dt.datetime.combine(add_working_days(now.date(), days), now.time()))


# The applicant's implementation tasks last until a report is owed, not a few working days.
REPORTING_STEPS = (State.IN_PROGRESS, State.REPORT_RETURNED)


def _report_overdue_at(activation: Activation) -> dt.datetime | None:
    """For the applicant's implementation tasks: the moment the next report becomes overdue."""
    step = activation.flow_task.name.partition("__")[0]  # a boundary timer node is named after its task
    due = activation.process.current_application().next_report_due_on
    if step not in REPORTING_STEPS or due is None:
        return None
    return timezone.make_aware(dt.datetime.combine(due + dt.timedelta(days=1), dt.time.min))


def service_time_due(activation: Activation) -> dt.datetime:
    """When a new task's service time runs out: the fund's service time in working days from now.

    The applicant's implementation tasks run until the next report becomes overdue.
    """
    return (_report_overdue_at(activation)
            or _after_working_days(activation.process.current_application().fund.service_time_working_days))


def escalation_due(activation: Activation) -> dt.datetime:
    """When a new task still open is escalated to the role above."""
    return (_report_overdue_at(activation)
            or _after_working_days(activation.process.current_application().fund.escalation_working_days))


def publicity_due(activation: Activation) -> dt.datetime:
    """The start of the first day after the publicity period (which the approval computed)."""
    ends_on = activation.process.current_application().publicity_ends_on
    return timezone.make_aware(dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time.min))


def end_publicity(activation: Activation) -> None:
    """The publicity timer fired: move the application on to the agreement."""
    application_end_publicity(application=activation.process.current_application())


def _host_task(activation: Activation) -> Task:
    # Function task <- boundary timer task <- host task.
    timer_task = activation.task.previous.get()
    return timer_task.previous.get()


def _record(activation: Activation, kind: MessageType, *, escalate: bool) -> None:
    host = _host_task(activation)
    # A timer may fire after its host was finished or cancelled (viewflow leaves sibling boundaries armed).
    if host.status not in OPEN_STATUSES:
        return
    step = STEPS[host.flow_task.name]
    role = step.escalates_to if escalate else step.role
    if role is None:
        return
    event_record(
        kind=kind,
        natural_key=f"{kind}:task:{host.pk}",
        application=activation.process.current_application(),
        recipient=None if escalate else host.owner,
        recipient_role=role,
        payload={"task": host.pk, "step": step.state.value, "waiting_since": host.created.isoformat()},
    )


def record_task_created(activation: Activation) -> None:
    """Tell whoever a new task is given or offered to."""
    from notifications.receivers import on_task_created

    on_task_created(task_pk=activation.task.pk, application=activation.process.current_application(),
                    step=activation.flow_task.name, owner=activation.task.owner)


def record_service_time_passed(activation: Activation) -> None:
    """Remind whoever holds (or may take) a task that its service time has passed."""
    _record(activation, MessageType.SERVICE_TIME_PASSED, escalate=False)


def record_escalation(activation: Activation) -> None:
    """Tell the role above that a task is still waiting (street reviewer -> street leader, ...)."""
    _record(activation, MessageType.ESCALATED, escalate=True)
