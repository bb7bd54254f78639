"""What people must hear about: message types, recorded events, per-person channels and the outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
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
    AGREEMENT_UNSIGNED = "agreement_unsigned", _("agreement unsigned")
    TRANCHE_PAYABLE = "tranche_payable", _("tranche payable")
    TRANCHE_UNPAID = "tranche_unpaid", _("tranche payable but unpaid")
    TRANCHE_PAID = "tranche_paid", _("tranche paid")
    REPORT_DUE = "report_due", _("report due")
    REPORT_OVERDUE = "report_overdue", _("report overdue")
    REVISION_IDLE = "revision_idle", _("returned application idle")
    ANNUAL_DISCLOSURE = "annual_disclosure", _("annual disclosure deadline")
    SERVICE_TIME_PASSED = "service_time_passed", _("service time passed")
    ESCALATED = "escalated", _("escalated")
    DAILY_DIGEST = "daily_digest", _("daily digest")


class Channel(models.TextChoices):
    """Where a message can reach a person."""

    IN_APP = "in_app", _("in the app")
    EMAIL = "email", _("email")
    SMS = "sms", _("text message")
    WECOM = "wecom", _("WeCom group robot")


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


class ChannelPreference(models.Model):
    """How a person wants to hear from the system: which channels, where, and in which language."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="channel_preference", verbose_name=_("person"))
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    email_enabled = models.BooleanField(_("email"), default=True)
    sms_enabled = models.BooleanField(_("text message"), default=False)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    wecom_enabled = models.BooleanField(_("WeCom group robot"), default=False)
    wecom_webhook = models.URLField(_("WeCom robot webhook address"), blank=True)

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")

    def __str__(self) -> str:
        return str(self.user)

    def channels(self) -> list[str]:
        """The channels this person receives on; the in-app list always."""
        chosen = [Channel.IN_APP]
        if self.email_enabled:
            chosen.append(Channel.EMAIL)
        if self.sms_enabled:
            chosen.append(Channel.SMS)
        if self.wecom_enabled:
            chosen.append(Channel.WECOM)
        return chosen


class Delivery(models.Model):
    """One message to one person on one channel (the outbox row); claimed before it is sent."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries",
                                  verbose_name=_("recipient"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    # When the next attempt is due; the sweep picks up queued rows whose time has come.
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["event", "recipient", "channel"], name="delivery_unique")]
        indexes = [
            models.Index(fields=["status", "due_at"], name="delivery_due"),
            models.Index(fields=["recipient", "channel", "read_at"], name="delivery_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient} ({self.channel})"


class ChannelHealth(models.Model):
    """The last success and the last error of each channel, shown to administrators."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, primary_key=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("channel health")
        verbose_name_plural = _("channel health")

    def __str__(self) -> str:
        return self.get_channel_display()
