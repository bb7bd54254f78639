"""App configuration for the grant workflow."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    """Registers the grant process flows."""

    name = "workflows"
    verbose_name = _("Grant workflow")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from grants.signals import application_transitioned

        from .sync import on_application_transitioned

        application_transitioned.connect(on_application_transitioned, dispatch_uid="workflows.sync")
