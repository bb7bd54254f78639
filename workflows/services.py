"""Claiming and releasing tasks: a task offered to a group is taken by one person, or given back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _
from viewflow.workflow.status import STATUS

from grants.errors import ActionForbidden, ApplicationConflict
from grants.permissions import step_permission

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from viewflow.workflow.models import Task


@transaction.atomic
def task_claim(*, actor: AbstractBaseUser, task: Task) -> Task:
    """Take a task offered to your role, so that it waits in your inbox and nobody else works on it."""
    with task.activation() as activation:
        if task.status != STATUS.NEW:
            raise ApplicationConflict(_("This task has already been taken or finished."), code="task_taken")
        application = task.process.grantprocess.application
        denial = step_permission(task.flow_task.name).denial(application, actor)
        if denial:
            raise ActionForbidden(denial, code="forbidden")
        activation.assign(actor)
    return task


@transaction.atomic
def task_release(*, actor: AbstractBaseUser, task: Task) -> Task:
    """Give a task you took back to everyone who may take it (an administrator may release anyone's)."""
    with task.activation() as activation:
        if task.status != STATUS.ASSIGNED:
            raise ApplicationConflict(_("Only a task that somebody has taken can be released."),
                                      code="task_not_taken")
        if task.owner_id != actor.pk and not actor.is_superuser:
            raise ActionForbidden(_("Only the person who took this task or an administrator may release it."),
                                  code="forbidden")
        activation.unassign()
    return task
