"""App configuration for the grant workflow."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    """Registers the grant process flows."""

    name = "workflows"
    verbose_name = _("Grant workflow")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from grants.models import Community, Fund
        from grants.signals import application_transitioned

        from .receivers import community_saved, fund_saved
        from .sync import on_application_transitioned

        application_transitioned.connect(on_application_transitioned, dispatch_uid="workflows.sync")
        post_save.connect(community_saved, sender=Community, dispatch_uid="workflows.community_saved")
        post_save.connect(fund_saved, sender=Fund, dispatch_uid="workflows.fund_saved")
