"""Organisations (foundation, fund, street office, community) and the roles people hold in them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Foundation(models.Model):
    """The legal person that holds the money, signs agreements and approves spending."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)

    class Meta:
        verbose_name = _("foundation")
        verbose_name_plural = _("foundations")

    def __str__(self) -> str:
        return self.name


def default_required_documents() -> list[str]:
    return ["application_form"]


def default_completion_documents() -> list[str]:
    return ["receipt", "photo", "beneficiary_signoff"]


class Fund(models.Model):
    """A special fund inside the foundation: no legal personality and never a parent of other funds."""

    class TrancheTemplate(models.TextChoices):
        FIFTY_FORTY_TEN = "50-40-10", _("50% on signing, 40% after the mid-term review, 10% after final acceptance")
        SEVENTY_THIRTY = "70-30", _("70% on signing, 30% after final acceptance")
        # xgettext:no-python-format
        FULL = "100", _("100% on signing")

    foundation = models.ForeignKey(Foundation, on_delete=models.PROTECT, related_name="funds",
                                   verbose_name=_("foundation"))
    name = models.CharField(_("name"), max_length=200, unique=True)
    code = models.SlugField(_("code"), max_length=30, unique=True,
                            help_text=_("Short prefix used in grant references and open data identifiers."))
    board_threshold = models.DecimalField(
        _("board approval threshold (yuan)"), max_digits=14, decimal_places=2, default=Decimal("100000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("A single grant above this amount needs a board decision with minutes."))
    publicity_working_days = models.PositiveSmallIntegerField(_("publicity period (working days)"), default=5)
    service_time_working_days = models.PositiveSmallIntegerField(
        _("service time of a task (working days)"), default=3,
        help_text=_("A task still open after this many working days reminds its assignee."))
    escalation_working_days = models.PositiveSmallIntegerField(
        _("escalation after (working days)"), default=5,
        help_text=_("A task still open after this many working days is escalated to the role above."))
    tranche_template = models.CharField(_("payment schedule"), max_length=20, choices=TrancheTemplate.choices,
                                        default=TrancheTemplate.FIFTY_FORTY_TEN)
    required_documents = models.JSONField(
        _("documents required for submission"), default=default_required_documents, blank=True,
        help_text=_("Attachment kinds an application must carry before it can be submitted."))
    completion_documents = models.JSONField(
        _("documents required with the completion report"), default=default_completion_documents, blank=True,
        help_text=_("Attachment kinds a completion report must carry before it can be handed in."))
    completion_report_days = models.PositiveSmallIntegerField(
        _("completion report due (days after the end date)"), default=30)
    variance_tolerance_percent = models.DecimalField(
        _("budget variance tolerance (%)"), max_digits=5, decimal_places=2, default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Actual spending on a budget line that differs from its budget by more than this needs an "
                    "explanation in the completion report."))

    class Meta:
        verbose_name = _("special fund")
        verbose_name_plural = _("special funds")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A special fund is not a legal person: its name must carry the foundation's full name.
        if self.foundation_id and self.foundation.name not in self.name:
            raise ValidationError({"name": _("The fund's name must contain the foundation's full name.")})
        from .applications import Attachment

        for field in ("required_documents", "completion_documents"):
            unknown = set(getattr(self, field) or []) - set(Attachment.Kind.values)
            if unknown:
                raise ValidationError({field: _("Unknown document kinds: %(kinds)s")
                                       % {"kinds": ", ".join(sorted(unknown))}})


class StreetOffice(models.Model):
    """The sub-district office that reviews and signs off its communities' applications."""

    name = models.CharField(_("name"), max_length=100)
    district = models.CharField(_("district"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("street office")
        verbose_name_plural = _("street offices")
        constraints = [models.UniqueConstraint(fields=["city", "district", "name"], name="street_office_unique")]

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    """A residents' or villagers' committee: the organisation that applies for grants."""

    class Kind(models.TextChoices):
        RESIDENTS = "residents", _("residents' committee")
        VILLAGERS = "villagers", _("villagers' committee")

    street_office = models.ForeignKey(StreetOffice, on_delete=models.PROTECT, related_name="communities",
                                      verbose_name=_("street office"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.RESIDENTS)
    is_example = models.BooleanField(_("example data"), default=False,
                                     help_text=_("Marks demo communities that are not real."))

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["street_office_id", "name"]
        constraints = [models.UniqueConstraint(fields=["street_office", "name"], name="community_unique")]

    def __str__(self) -> str:
        return self.name


class CommunityAllocation(models.Model):
    """Money of the fund earmarked for one community in one year: a budget line, never a sub-fund."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("fund"))
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="allocations",
                                  verbose_name=_("community"))
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("community allocation")
        verbose_name_plural = _("community allocations")
        constraints = [
            models.UniqueConstraint(fields=["fund", "community", "year"], name="allocation_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="allocation_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.community} {self.year}: {self.amount}"


class Role(models.TextChoices):
    """What a person may do, always within one organisation."""

    APPLICANT = "applicant", _("applicant")
    COMMUNITY_HEAD = "community_head", _("community head")
    STREET_REVIEWER = "street_reviewer", _("street reviewer")
    STREET_LEADER = "street_leader", _("street leader")
    PROGRAMME_OFFICER = "programme_officer", _("programme officer")
    SECRETARY_GENERAL = "secretary_general", _("secretary-general")
    BOARD_MEMBER = "board_member", _("board member")
    FINANCE = "finance", _("finance")
    AUDITOR = "auditor", _("auditor")


COMMUNITY_ROLES = frozenset({Role.APPLICANT, Role.COMMUNITY_HEAD})
STREET_ROLES = frozenset({Role.STREET_REVIEWER, Role.STREET_LEADER})
FOUNDATION_ROLES = frozenset({Role.PROGRAMME_OFFICER, Role.SECRETARY_GENERAL, Role.BOARD_MEMBER,
                              Role.FINANCE, Role.AUDITOR})


class Membership(models.Model):
    """Gives a person one role in exactly one organisation of the kind the role belongs to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships",
                             verbose_name=_("person"))
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    community = models.ForeignKey(Community, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="memberships", verbose_name=_("community"))
    street_office = models.ForeignKey(StreetOffice, null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="memberships", verbose_name=_("street office"))
    foundation = models.ForeignKey(Foundation, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="memberships", verbose_name=_("foundation"))

    class Meta:
        verbose_name = _("role membership")
        verbose_name_plural = _("role memberships")
        constraints = [
            models.CheckConstraint(
                name="membership_role_matches_organisation",
                condition=(
                    models.Q(role__in=sorted(r.value for r in COMMUNITY_ROLES), community__isnull=False,
                             street_office__isnull=True, foundation__isnull=True)
                    | models.Q(role__in=sorted(r.value for r in STREET_ROLES), community__isnull=True,
                               street_office__isnull=False, foundation__isnull=True)
                    | models.Q(role__in=sorted(r.value for r in FOUNDATION_ROLES), community__isnull=True,
                               street_office__isnull=True, foundation__isnull=False)
                ),
            ),
            *(models.UniqueConstraint(fields=["user", "role", org], name=f"membership_unique_{org}",
                                      condition=models.Q(**{f"{org}__isnull": False}))
              for org in ("community", "street_office", "foundation")),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organisation}"

    @property
    def organisation(self) -> Community | StreetOffice | Foundation | None:
        return self.community or self.street_office or self.foundation

    def clean(self) -> None:
        expected = ("community" if self.role in COMMUNITY_ROLES
                    else "street_office" if self.role in STREET_ROLES else "foundation")
        for field in ("community", "street_office", "foundation"):
            has_value = getattr(self, f"{field}_id") is not None
            if field == expected and not has_value:
                raise ValidationError({field: _("This role needs an organisation of this kind.")})
            if field != expected and has_value:
                raise ValidationError({field: _("This role does not belong to an organisation of this kind.")})
