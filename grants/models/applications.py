"""Grant applications, their budgets, documents, declarations and audit trail."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from .. import rules
from ..permissions import CurrentStepDecider, MayAct
from ..states import (
    CANCELLABLE_STATES,
    REJECTABLE_STATES,
    RETURNABLE_STATES,
    WITHDRAWABLE_STATES,
    State,
)
from .organisations import Community, Fund, Role

MONEY = {"max_digits": 14, "decimal_places": 2}


class ServiceCategory(models.Model):
    """One of the fund's service categories (elder care, children, ...); editable by administrators."""

    fund = models.ForeignKey(Fund, on_delete=models.CASCADE, related_name="categories", verbose_name=_("fund"))
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("open for applications"), default=True)

    class Meta:
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")
        ordering = ["fund_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["fund", "code"], name="category_code_unique")]

    def __str__(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class GrantApplication(ConcurrentTransitionMixin, models.Model):
    """A community's request for a grant, moved through its life only by the transitions below."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="applications", verbose_name=_("fund"))
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="applications",
                                  verbose_name=_("community"))
    category = models.ForeignKey(ServiceCategory, on_delete=models.PROTECT, related_name="applications",
                                 verbose_name=_("service category"))
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    requested_amount = models.DecimalField(_("requested amount (yuan)"), **MONEY,
                                           validators=[MinValueValidator(Decimal("0.01"))])
    approved_amount = models.DecimalField(_("approved amount (yuan)"), **MONEY, null=True, blank=True,
                                          validators=[MinValueValidator(Decimal("0.01"))])
    score = models.PositiveSmallIntegerField(_("review score"), null=True, blank=True,
                                             validators=[MinValueValidator(0)])
    conditions = models.TextField(_("conditions of the grant"), blank=True)
    board_minutes = models.TextField(_("board decision minutes"), blank=True)

    status = FSMField(_("status"), max_length=30, choices=State.choices, default=State.DRAFT, protected=True,
                      db_index=True)
    # The review step that returned the application, so that resubmission goes back to the same step.
    returned_from = models.CharField(_("returned from"), max_length=30, choices=State.choices, blank=True)
    midterm_required = models.BooleanField(_("mid-term review required"), default=False)
    midterm_accepted_at = models.DateTimeField(_("mid-term review accepted"), null=True, blank=True)
    publicity_ends_on = models.DateField(_("publicity ends on"), null=True, blank=True)
    # The earliest date a report (progress or completion) is owed by; past it the project is overdue.
    next_report_due_on = models.DateField(_("next report due on"), null=True, blank=True, db_index=True)
    completion_due_on = models.DateField(_("completion report due on"), null=True, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    # Set when the community head confirms: from then on the street office and the foundation see it.
    confirmed_at = models.DateTimeField(_("confirmed by the community"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    agreement_signed_at = models.DateTimeField(_("agreement signed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("grant application")
        verbose_name_plural = _("grant applications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "status"]), models.Index(fields=["fund", "status"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(requested_amount__gt=0), name="requested_amount_positive"),
            models.CheckConstraint(condition=models.Q(approved_amount__isnull=True)
                                   | models.Q(approved_amount__gt=0), name="approved_amount_positive"),
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="application_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean_fields(self, exclude: set[str] | None = None) -> None:
        # The state is protected: it is changed by transitions only, never cleaned or assigned.
        super().clean_fields(exclude={*(exclude or ()), "status"})

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The project cannot end before it starts.")})
        if self.category_id and self.fund_id and self.category.fund_id != self.fund_id:
            raise ValidationError({"category": _("This category belongs to another fund.")})

    @property
    def is_editable(self) -> bool:
        return self.status in (State.DRAFT, State.REVISION_REQUESTED)

    @property
    def reporting_overdue(self) -> bool:
        """A report is owed and its due date has passed: no further tranche is paid until it is in."""
        return self.next_report_due_on is not None and self.next_report_due_on < timezone.localdate()

    # --- Applicant and community -------------------------------------------------------------------------

    @transition(field=status, source=State.DRAFT, target=State.COMMUNITY_CONFIRMATION,
                conditions=[rules.dates_valid, rules.budget_balances, rules.beneficiaries_planned,
                            rules.required_documents_present],
                permission=MayAct(Role.APPLICANT, outsider=False))
    def submit(self) -> None:
        self.submitted_at = timezone.now()

    @transition(field=status, source=State.COMMUNITY_CONFIRMATION, target=State.STREET_REVIEW,
                permission=MayAct(Role.COMMUNITY_HEAD, outsider=False))
    def confirm(self) -> None:
        """The community head confirms the application on the community's behalf."""
        self.confirmed_at = self.confirmed_at or timezone.now()

    @transition(field=status, source=State.REVISION_REQUESTED,
                target=RETURN_VALUE(*RETURNABLE_STATES),
                conditions=[rules.dates_valid, rules.budget_balances, rules.beneficiaries_planned,
                            rules.required_documents_present],
                permission=MayAct(Role.APPLICANT, outsider=False))
    def resubmit(self) -> str:
        target, self.returned_from = self.returned_from, ""
        return target

    @transition(field=status, source=list(WITHDRAWABLE_STATES), target=State.WITHDRAWN,
                permission=MayAct(Role.APPLICANT, outsider=False))
    def withdraw(self) -> None:
        """The applicant takes the application back; nothing further happens to it."""

    # --- Reviews: any review step can return or reject ------------------------------------------------------

    @transition(field=status, source=list(RETURNABLE_STATES), target=State.REVISION_REQUESTED,
                permission=CurrentStepDecider())
    def return_for_revision(self) -> None:
        self.returned_from = self.status

    @transition(field=status, source=list(REJECTABLE_STATES), target=State.REJECTED,
                permission=CurrentStepDecider())
    def reject(self) -> None:
        """A reviewer turns the application down for good."""

    @transition(field=status, source=State.STREET_REVIEW, target=State.STREET_SIGNOFF,
                permission=MayAct(Role.STREET_REVIEWER))
    def street_approve(self) -> None:
        """The street reviewer passes the application to the street leader."""

    @transition(field=status, source=State.STREET_SIGNOFF, target=State.FOUNDATION_REVIEW,
                permission=MayAct(Role.STREET_LEADER))
    def street_sign_off(self) -> None:
        """The street leader signs off for the street office."""

    @transition(field=status, source=State.FOUNDATION_REVIEW, target=State.APPROVAL,
                conditions=[rules.amount_recommended],
                permission=MayAct(Role.PROGRAMME_OFFICER))
    def foundation_recommend(self) -> None:
        """The programme officer has scored the application and recommends an amount."""

    @transition(field=status, source=State.APPROVAL, target=State.PUBLICITY,
                conditions=[rules.amount_recommended, rules.within_board_threshold],
                permission=MayAct(Role.SECRETARY_GENERAL))
    def approve(self) -> None:
        self.approved_at = timezone.now()

    @transition(field=status, source=State.APPROVAL, target=State.BOARD_APPROVAL,
                conditions=[rules.amount_recommended, rules.above_board_threshold],
                permission=MayAct(Role.SECRETARY_GENERAL))
    def refer_to_board(self) -> None:
        """The secretary-general agrees, but the amount needs a board decision."""

    @transition(field=status, source=State.BOARD_APPROVAL, target=State.PUBLICITY,
                conditions=[rules.amount_recommended],
                permission=MayAct(Role.BOARD_MEMBER))
    def board_approve(self) -> None:
        self.approved_at = timezone.now()

    # --- Publicity and agreement ------------------------------------------------------------------------

    @transition(field=status, source=State.PUBLICITY, target=State.AGREEMENT, conditions=[rules.publicity_over])
    def end_publicity(self) -> None:
        """The publicity period ran out without an objection (fired by the system)."""

    @transition(field=status, source=State.PUBLICITY, target=State.OBJECTION)
    def receive_objection(self) -> None:
        """Anyone may object while the approval is public; the objection pauses the grant."""

    @transition(field=status, source=State.OBJECTION, target=State.AGREEMENT,
                permission=MayAct(Role.SECRETARY_GENERAL))
    def dismiss_objection(self) -> None:
        """The objection was examined and found groundless."""

    @transition(field=status, source=State.OBJECTION, target=State.CANCELLED,
                permission=MayAct(Role.SECRETARY_GENERAL))
    def uphold_objection(self) -> None:
        """The objection was upheld: the grant is cancelled."""

    @transition(field=status, source=State.AGREEMENT, target=State.IN_PROGRESS,
                permission=MayAct(Role.SECRETARY_GENERAL))
    def sign_agreement(self) -> None:
        self.agreement_signed_at = timezone.now()

    # --- Implementation and completion --------------------------------------------------------------------

    @transition(field=status, source=State.IN_PROGRESS, target=State.PROGRESS_REVIEW,
                conditions=[rules.progress_report_owed],
                permission=MayAct(Role.APPLICANT, outsider=False))
    def submit_progress_report(self) -> None:
        """The applicant hands in the progress report that is owed; the programme officer reviews it."""

    @transition(field=status, source=State.PROGRESS_REVIEW, target=State.IN_PROGRESS,
                permission=MayAct(Role.PROGRAMME_OFFICER))
    def accept_progress_report(self) -> None:
        """The programme officer accepts the report (the mid-term one releases the middle tranche)."""

    @transition(field=status, source=State.PROGRESS_REVIEW, target=State.IN_PROGRESS,
                permission=MayAct(Role.PROGRAMME_OFFICER))
    def return_progress_report(self) -> None:
        """The report needs more work; the project continues and hands it in again."""

    @transition(field=status, source=[State.IN_PROGRESS, State.REPORT_RETURNED],
                target=State.COMPLETION_VERIFICATION,
                conditions=[rules.midterm_settled, rules.progress_reports_settled, rules.completion_report_complete,
                            rules.completion_documents_present],
                permission=MayAct(Role.APPLICANT, outsider=False))
    def submit_completion_report(self) -> None:
        """The applicant hands in the completion report."""

    @transition(field=status, source=State.COMPLETION_VERIFICATION, target=State.COMPLETION_ACCEPTANCE,
                permission=MayAct(Role.STREET_REVIEWER))
    def verify_completion(self) -> None:
        """The street office has checked the completion report on the ground."""

    @transition(field=status, source=[State.COMPLETION_VERIFICATION, State.COMPLETION_ACCEPTANCE],
                target=State.REPORT_RETURNED,
                permission=CurrentStepDecider())
    def return_completion_report(self) -> None:
        """The street office or the foundation sends the report back with reasons."""

    @transition(field=status, source=State.COMPLETION_ACCEPTANCE, target=State.CLOSING,
                permission=MayAct(Role.PROGRAMME_OFFICER))
    def accept_completion(self) -> None:
        """The foundation accepts the completion report; the money is settled next."""

    @transition(field=status, source=State.CLOSING, target=State.CLOSED, conditions=[rules.tranches_settled],
                permission=MayAct(Role.FINANCE))
    def close(self) -> None:
        self.closed_at = timezone.now()

    @transition(field=status, source=list(CANCELLABLE_STATES), target=State.CANCELLED,
                permission=MayAct(Role.SECRETARY_GENERAL))
    def cancel(self) -> None:
        """The foundation cancels the grant (misuse, or the project cannot go on)."""


class BeneficiaryGroup(models.Model):
    """How many people of one kind the project plans to serve (counts only, never names)."""

    class Kind(models.TextChoices):
        ELDERLY = "elderly", _("older people")
        CHILDREN = "children", _("children")
        HARDSHIP = "hardship", _("households in hardship")
        PATIENTS = "patients", _("patients")
        STUDENTS = "students", _("students")
        DISABLED = "disabled", _("people with disabilities")
        MILITARY_FAMILIES = "military_families", _("military families")
        RESIDENTS = "residents", _("residents")
        OTHER = "other", _("other")

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE,
                                    related_name="beneficiary_groups", verbose_name=_("application"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    planned_count = models.PositiveIntegerField(_("planned number of people"))

    class Meta:
        verbose_name = _("beneficiary group")
        verbose_name_plural = _("beneficiary groups")
        constraints = [models.UniqueConstraint(fields=["application", "kind"], name="beneficiary_kind_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} × {self.planned_count}"


class BudgetLine(models.Model):
    """One line of an application's budget; together the lines equal the requested amount."""

    class Category(models.TextChoices):
        SERVICES = "services", _("professional services")
        ACTIVITIES = "activities", _("activities")
        MATERIALS = "materials", _("materials and supplies")
        TRANSPORT = "transport", _("transport")
        PRINTING = "printing", _("printing and publicity")
        TRAINING = "training", _("training")
        OTHER = "other", _("other")

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE, related_name="budget_lines",
                                    verbose_name=_("application"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.CharField(_("description"), max_length=200)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        ordering = ["application_id", "position", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="budget_line_positive")]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"applications/{instance.application_id}/{timezone.now():%Y%m}/{filename}"


def thumbnail_path(instance: Attachment, filename: str) -> str:
    return f"applications/{instance.application_id}/thumbnails/{filename}"


class Attachment(models.Model):
    """A document attached to an application, stored privately and served only after a permission check."""

    class Kind(models.TextChoices):
        APPLICATION_FORM = "application_form", _("application form")
        BUDGET_DETAIL = "budget_detail", _("detailed budget")
        BOARD_MINUTES = "board_minutes", _("board minutes")
        AGREEMENT = "agreement", _("signed agreement")
        PROGRESS_REPORT = "progress_report", _("progress report")
        COMPLETION_REPORT = "completion_report", _("completion report")
        RECEIPT = "receipt", _("receipt or invoice")
        PHOTO = "photo", _("photo")
        BENEFICIARY_SIGNOFF = "beneficiary_signoff", _("beneficiaries' sign-off")
        OTHER = "other", _("other")

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE, related_name="attachments",
                                    verbose_name=_("application"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path)
    original_name = models.CharField(_("original file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    thumbnail = models.FileField(_("thumbnail"), upload_to=thumbnail_path, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["application_id", "kind", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class ConflictDeclaration(models.Model):
    """A person's declared conflict of interest (利害关系) in an application, which bars them from it."""

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE, related_name="conflicts",
                                    verbose_name=_("application"))
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="conflict_declarations", verbose_name=_("person"))
    reason = models.TextField(_("reason"))
    declared_at = models.DateTimeField(_("declared"), auto_now_add=True)

    class Meta:
        verbose_name = _("conflict of interest declaration")
        verbose_name_plural = _("conflict of interest declarations")
        constraints = [models.UniqueConstraint(fields=["application", "person"], name="conflict_unique")]

    def __str__(self) -> str:
        return f"{self.person} · {self.application}"


class Objection(models.Model):
    """An objection raised by anyone during publicity; the contact stays private to the foundation."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("pending")
        UPHELD = "upheld", _("upheld")
        DISMISSED = "dismissed", _("dismissed")

    application = models.ForeignKey(GrantApplication, on_delete=models.CASCADE, related_name="objections",
                                    verbose_name=_("application"))
    text = models.TextField(_("objection"))
    contact = models.CharField(_("contact (private)"), max_length=200, blank=True)
    filed_at = models.DateTimeField(_("filed"), auto_now_add=True)
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices, default=Decision.PENDING)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["-filed_at"]

    def __str__(self) -> str:
        return f"{self.application} · {self.filed_at:%Y-%m-%d}"


class AppendOnlyQuerySet(models.QuerySet):
    """Rows that are written once: bulk updates and deletes are refused like single ones."""

    def update(self, **kwargs):
        raise ValidationError(_("These records cannot be changed."))

    def delete(self):
        raise ValidationError(_("These records cannot be deleted."))


class AuditEntry(models.Model):
    """One state change of an application: who did what, when, from which state to which, and why."""

    application = models.ForeignKey(GrantApplication, on_delete=models.PROTECT, related_name="audit_entries",
                                    verbose_name=_("application"))
    action = models.CharField(_("action"), max_length=50)
    from_state = models.CharField(_("from"), max_length=30, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=30, choices=State.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("actor"),
                              help_text=_("Empty when the system or a member of the public acted."))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["application_id", "id"]
        indexes = [models.Index(fields=["application", "actor"])]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_state} → {self.to_state} ({self.action})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("Audit entries cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Audit entries cannot be deleted."))
