"""App configuration for the grant domain."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    """Registers the grant domain."""

    name = "grants"
    verbose_name = _("Community grants")
    default_auto_field = "django.db.models.BigAutoField"
