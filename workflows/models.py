"""The viewflow process of one grant application."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process


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
