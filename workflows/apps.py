"""App configuration for the grant workflow."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    """Registers the grant process flows."""

    name = "workflows"
    verbose_name = _("Grant workflow")
    default_auto_field = "django.db.models.BigAutoField"
