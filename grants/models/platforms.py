"""Online donation platforms that report gifts to a fund through a signed webhook."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .organisations import Fund


def new_platform_secret() -> str:
    """A fresh random shared secret for signing a platform's deliveries."""
    return secrets.token_hex(32)


class DonationPlatform(models.Model):
    """A donation platform whose signed deliveries are recorded as received donations of one fund."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="donation_platforms",
                             verbose_name=_("fund"))
    # Donation.platform stores this code, so it is as long as that field at most.
    code = models.SlugField(_("code"), max_length=50, unique=True,
                            help_text=_("Appears in the webhook address: /donations/webhook/<code>/."))
    name = models.CharField(_("name"), max_length=100)
    # HMAC needs the secret itself, so it cannot be stored hashed; pages and the admin show it masked.
    secret = models.CharField(_("shared secret"), max_length=200, default=new_platform_secret,
                              validators=[MinLengthValidator(32)],
                              help_text=_("Signs each delivery (HMAC-SHA256); shown only masked."))
    is_active = models.BooleanField(_("active"), default=True,
                                    help_text=_("Deliveries of an inactive platform are refused."))
    replay_window_seconds = models.PositiveIntegerField(
        _("replay window (seconds)"), default=300, validators=[MinValueValidator(30), MaxValueValidator(3600)],
        help_text=_("A delivery whose timestamp is further than this from now is refused."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("donation platform")
        verbose_name_plural = _("donation platforms")
        ordering = ["fund_id", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_secret(self) -> str:
        """The secret as people may see it: only its last four characters."""
        if not self.secret:
            return ""
        return "•" * 8 + self.secret[-4:]
