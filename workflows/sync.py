"""Keeps the process's open tasks in step with the application's state, inside the transition's transaction.

Every transition of an application (`grants.signals.application_transitioned`) lands here:
1. `submit` starts the process (its first task is the community head's confirmation);
2. `withdraw` and `cancel` cancel the whole process and its open tasks;
3. any other transition completes the open task of the step the application just left, as the actor
   who took it (claiming it first if nobody had), and the flow routes on the state reached.
Raising here undoes the transition, so the state and the tasks can never disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from viewflow.workflow.nodes import View
from viewflow.workflow.status import STATUS

from grants.errors import ActionForbidden, ApplicationConflict
from grants.models import AuditEntry, GrantApplication

from .flows import GrantFlow
from .models import GrantProcess, GrantTask, InFlight, transition_in_flight
from .timers import OPEN_STATUSES

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

CANCELLING_ACTIONS = frozenset({"withdraw", "cancel"})


def open_task(process: GrantProcess, application: GrantApplication, state: str, *,
              flight: InFlight | None = None) -> GrantTask | None:
    """The open task of the process's step that waits in `state`, if the flow has one (one query).

    The task is read alone and given the process the caller has locked (`lock_process`).

    With `flight`, the same query also reads the application's latest exit from the state it has just
    reached (for `workflows.assignment.preferred_owner`, which runs when the flow creates that step's task).
    """
    node = getattr(GrantFlow, state, None)
    if node is None:
        return None
    tasks = (GrantTask.objects.select_related(None)
             .filter(process_id=process.pk, flow_task=node, status__in=OPEN_STATUSES).order_by("-pk"))
    reached = application.status
    if flight is not None:
        # Plain SQL subqueries: this runs on every decision, and the ORM took longer to build two
        # `Subquery` expressions than the database took to answer them.
        last_exit = (f"SELECT {{column}} FROM {connection.ops.quote_name(AuditEntry._meta.db_table)} "
                     "WHERE application_id = %s AND from_state = %s ORDER BY id DESC LIMIT 1")
        tasks = tasks.annotate(
            last_exit_action=RawSQL(last_exit.format(column="action"), (application.pk, reached)),
            last_exit_actor=RawSQL(last_exit.format(column="actor_id"), (application.pk, reached)))
    task = tasks.first()
    if task is not None:
        task.process = process
    if task is not None and flight is not None:
        flight.last_exits[reached] = (task.last_exit_action, task.last_exit_actor)
    return task


def lock_process(application: GrantApplication) -> GrantProcess | None:
    """The application's process, its row locked (`workflows.locks`) for the rest of the transaction."""
    return GrantProcess.objects.select_for_update(of=("self",)).filter(application=application).first()


def complete_human_task(task: GrantTask, actor: AbstractBaseUser | None, application: GrantApplication) -> None:
    """Finish a person's task as `actor`, claiming it first when it is still offered to a group.

    The caller holds the process lock and read `task` after taking it (`_move_process`), so this does not
    lock and reload the task again as viewflow's `task.activation()` would. A task still offered to a group
    is claimed and finished by the same write (viewflow's `assign()` would save the row once more).
    """
    if task.owner_id is not None and (actor is None or task.owner_id != actor.pk):
        raise ActionForbidden(_("%(owner)s has taken this task; they or an administrator must release it first.")
                              % {"owner": task.owner.get_full_name() or task.owner.get_username()},
                              code="task_claimed")
    activation = task.flow_task.activation_class(task)
    if task.status == STATUS.NEW:
        task.owner = actor
        task.status = STATUS.ASSIGNED
    activation.start(None)
    activation.execute()


def on_application_transitioned(*, application: GrantApplication, action: str, source: str, target: str,
                                actor: AbstractBaseUser | None, **kwargs: object) -> None:
    """Move the process along with the application (see the module docstring).

    The gateways, timers and assignment that follow read the application the service just saved
    (`GrantProcess.current_application`), not a copy loaded again.
    """
    with transition_in_flight(InFlight(application=application)) as flight:
        _move_process(application=application, action=action, source=source, actor=actor, flight=flight)


def _move_process(*, application: GrantApplication, action: str, source: str, actor: AbstractBaseUser | None,
                  flight: InFlight) -> None:
    """Start, cancel or advance the process for one transition (the three cases of the module docstring)."""
    if action == "submit":
        # Submitting leaves the draft, which nothing returns to: the application has never left its first step.
        flight.last_exits[application.status] = (None, None)
        GrantFlow.start.run(application=application, actor=actor)
        return
    if action in CANCELLING_ACTIONS:
        process = GrantProcess.objects.filter(application=application).first()
        if process is not None:  # else withdrawn as a draft: no process was ever started
            GrantFlow.instance.cancel(process)
        return
    # The process row is locked first (as viewflow's `task.activation()` would), then its open task is read.
    # Two statements on purpose: claiming, releasing and the timer dispatcher all lock the process row before
    # they write a task row, and one `SELECT ... FOR UPDATE OF task, process` would take the task row first
    # (a deadlock with someone taking the same task); locking only the process in that one statement would
    # read the task as it was before the wait for the lock.
    process = lock_process(application)
    if process is None:
        raise ApplicationConflict(_("This application has no running process; an administrator must repair "
                                    "it."), code="process_missing")
    task = open_task(process, application, source, flight=flight)
    if task is None:
        # The publicity timer cancels its own waiting task before it ends the publicity.
        if action == "end_publicity":
            return
        raise ApplicationConflict(_("The step “%(step)s” has no open task; an administrator must repair the "
                                    "process.") % {"step": source}, code="task_missing")
    if isinstance(task.flow_task, View):
        complete_human_task(task, actor, application)
    else:  # the publicity wait: an objection arrived, or the service ended publicity
        task.flow_task.finish(task)
