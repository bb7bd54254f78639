"""What a funded project reports: progress reports, the completion report, and deadline extensions."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, transition

from .applications import MONEY, BeneficiaryGroup, BudgetLine, GrantApplication


class ProgressReport(models.Model):
    """A progress report a project owes on a due date (慈善法 Art 79: at least every 3 months when long)."""

    class Status(models.TextChoices):
        DUE = "due", pgettext_lazy("progress report status", "due")
        SUBMITTED = "submitted", _("submitted, under review")
        RETURNED = "returned", _("returned for revision")
        ACCEPTED = "accepted", _("accepted")

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE, related_name="progress_reports",
                                    verbose_name=_("application"))
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    # The report nearest the project's middle: accepting it is the mid-term review that releases the middle tranche.
    is_midterm = models.BooleanField(_("mid-term report"), default=False)
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.DUE, protected=True)
    progress = models.TextField(_("progress so far"), blank=True)
    beneficiaries_served = models.PositiveIntegerField(_("people served so far"), null=True, blank=True)
    spent_to_date = models.DecimalField(_("spent so far (yuan)"), **MONEY, null=True, blank=True,
                                        validators=[MinValueValidator(Decimal("0"))])
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    times_returned = models.PositiveSmallIntegerField(_("times returned"), default=0)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["application_id", "number"]
        constraints = [models.UniqueConstraint(fields=["application", "number"], name="progress_report_unique")]

    def __str__(self) -> str:
        return f"{self.application} #{self.number} ({self.due_on})"

    @transition(field=status, source=[Status.DUE, Status.RETURNED], target=Status.SUBMITTED)
    def submit(self) -> None:
        self.submitted_at = timezone.now()

    @transition(field=status, source=Status.SUBMITTED, target=Status.ACCEPTED)
    def accept(self) -> None:
        self.reviewed_at = timezone.now()

    @transition(field=status, source=Status.SUBMITTED, target=Status.RETURNED)
    def send_back(self) -> None:
        self.reviewed_at = timezone.now()
        self.times_returned += 1


class CompletionReport(models.Model):
    """The project's final report (结项): outcomes, people served, activities and actual spending."""

    application = models.OneToOneField(GrantApplication, on_delete=models.CASCADE, related_name="completion_report",
                                       verbose_name=_("application"))
    outcomes = models.TextField(_("outcomes against the plan"))
    activities_held = models.PositiveIntegerField(_("activities held"), default=0)
    activities = models.TextField(_("activities"), blank=True)
    public_summary = models.TextField(_("results summary for the public"),
                                      help_text=_("Published on the public page when the project is closed. "
                                                  "No names or other personal data."))
    private_notes = models.TextField(_("private notes"), blank=True,
                                     help_text=_("Private: seen by the reviewers only, never published."))
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("completion report")
        verbose_name_plural = _("completion reports")

    def __str__(self) -> str:
        return str(self.application)


class ServedBeneficiaries(models.Model):
    """How many people of one kind the project actually served (counts only, never names)."""

    report = models.ForeignKey(CompletionReport, on_delete=models.CASCADE, related_name="served",
                               verbose_name=_("completion report"))
    kind = models.CharField(_("kind"), max_length=30, choices=BeneficiaryGroup.Kind.choices)
    served_count = models.PositiveIntegerField(_("people served"))

    class Meta:
        verbose_name = _("people served")
        verbose_name_plural = _("people served")
        constraints = [models.UniqueConstraint(fields=["report", "kind"], name="served_kind_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} × {self.served_count}"


class ActualSpending(models.Model):
    """What was really spent on one budget line, with the reason where it differs beyond the tolerance."""

    report = models.ForeignKey(CompletionReport, on_delete=models.CASCADE, related_name="spending",
                               verbose_name=_("completion report"))
    budget_line = models.ForeignKey(BudgetLine, on_delete=models.CASCADE, related_name="+",
                                    verbose_name=_("budget line"))
    amount = models.DecimalField(_("actual spending (yuan)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    explanation = models.TextField(_("explanation of the variance"), blank=True)

    class Meta:
        verbose_name = _("actual spending")
        verbose_name_plural = _("actual spending")
        ordering = ["report_id", "budget_line__position", "budget_line_id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "budget_line"], name="actual_spending_line_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="actual_spending_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.budget_line.description}: {self.amount}"


class DeadlineExtension(models.Model):
    """The foundation moved a report's due date: by whom, when, from which date to which, and why."""

    class Report(models.TextChoices):
        PROGRESS = "progress", _("progress report")
        COMPLETION = "completion", _("completion report")

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE, related_name="extensions",
                                    verbose_name=_("application"))
    report = models.CharField(_("report"), max_length=20, choices=Report.choices)
    progress_report = models.ForeignKey(ProgressReport, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="extensions", verbose_name=_("progress report"))
    old_due_on = models.DateField(_("was due on"))
    new_due_on = models.DateField(_("now due on"))
    reason = models.TextField(_("reason"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("granted by"))
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)

    class Meta:
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")
        ordering = ["application_id", "granted_at"]
        constraints = [models.CheckConstraint(condition=models.Q(new_due_on__gt=models.F("old_due_on")),
                                              name="extension_moves_later")]

    def __str__(self) -> str:
        return f"{self.application}: {self.old_due_on} → {self.new_due_on}"
