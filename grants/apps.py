"""App configuration for the grant domain."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    """Registers the grant domain."""

    name = "grants"
    verbose_name = _("Community grants")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from .models import Fund, FundBalance

        def open_balance(sender: type, instance: Fund, created: bool, raw: bool = False, **kwargs: object) -> None:
            # Every fund has its balance row from the start: the row every posting locks.
            if created and not raw:
                FundBalance.objects.get_or_create(fund=instance)

        post_save.connect(open_balance, sender=Fund, dispatch_uid="grants.open_balance", weak=False)
