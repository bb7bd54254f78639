"""App configuration for notifications."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Registers notifications and reminders."""

    name = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_fsm.signals import post_transition

        from grants.models import Tranche
        from grants.signals import application_transitioned, tranche_paid

        from . import receivers

        application_transitioned.connect(receivers.on_application_transitioned, dispatch_uid="notifications.events")
        tranche_paid.connect(receivers.on_tranche_paid, sender=Tranche, dispatch_uid="notifications.tranche_paid")
        post_transition.connect(receivers.on_tranche_released, sender=Tranche,
                                dispatch_uid="notifications.tranche_payable")
