"""What people must hear about: message types and the events recorded for delivery."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageType(models.TextChoices):
    """Every kind of message the system sends, in one place."""

    TASK_ASSIGNED = "task_assigned", _("task assigned")
    RETURNED_FOR_REVISION = "returned_for_revision", _("returned for revision")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    PUBLICITY_STARTED = "publicity_started", _("publicity started")
    PUBLICITY_ENDING = "publicity_ending", _("publicity ending")
    OBJECTION_FILED = "objection_filed", _("objection filed")
    TRANCHE_PAYABLE = "tranche_payable", _("tranche payable")
    TRANCHE_PAID = "tranche_paid", _("tranche paid")
    REPORT_DUE = "report_due", _("report due")
    REPORT_OVERDUE = "report_overdue", _("report overdue")
    SERVICE_TIME_PASSED = "service_time_passed", _("service time passed")
    ESCALATED = "escalated", _("escalated")
    DAILY_DIGEST = "daily_digest", _("daily digest")


class Event(models.Model):
    """Something that happened and must reach people; recorded once, in the transaction that caused it."""

    kind = models.CharField(_("kind"), max_length=40, choices=MessageType.choices)
    # What, for whom, for which due date: recording the same reminder twice is a no-op.
    natural_key = models.CharField(_("natural key"), max_length=200, unique=True)
    application = models.ForeignKey("grants.GrantApplication", on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="events", verbose_name=_("application"))
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="+", verbose_name=_("recipient"),
                                  help_text=_("Empty: everyone holding `recipient_role` in scope."))
    recipient_role = models.CharField(_("recipient role"), max_length=30, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.natural_key}"
