"""The viewflow process of one grant application."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.managers import TaskQuerySet
from viewflow.workflow.models import Process, Task


class GrantProcess(Process):
    """The running process that carries one application through its sign-offs; one per application."""

    application = models.OneToOneField("grants.GrantApplication", on_delete=models.PROTECT,
                                       related_name="process", verbose_name=_("application"))

    class Meta:
        verbose_name = _("grant process")
        verbose_name_plural = _("grant processes")
        ordering = ["-created"]
        # Declared here: viewflow adds `manage` only when the flows module is imported before migrate.
        default_permissions = ("add", "change", "delete", "view", "manage")

    def __str__(self) -> str:
        return str(self.application)


class GrantTaskManager(models.Manager.from_queryset(TaskQuerySet)):
    """viewflow's task manager, loading each task's process (and grant process) in the same query."""

    def get_queryset(self) -> TaskQuerySet:
        return super().get_queryset().select_related("process__grantprocess")


class GrantTask(Task):
    """A task of the grant process (the same table): it brings its process along when loaded.

    viewflow builds an activation for every task it touches (the one completed, each boundary timer it
    cancels) and each read the task's process, then the grant process, one query apiece. As the base
    manager this also covers `task.activation()`, which reloads the task first.
    """

    objects = GrantTaskManager()

    class Meta:
        proxy = True
        base_manager_name = "objects"
        verbose_name = _("grant task")
        verbose_name_plural = _("grant tasks")
