"""Money of the fund: donations, the append-only ledger, the fund's running balance, and tranches."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from .applications import MONEY, AppendOnlyQuerySet, GrantApplication, ServiceCategory
from .organisations import Community, Fund

ZERO = Decimal("0.00")


class Donation(ConcurrentTransitionMixin, models.Model):
    """A gift to the fund through the foundation; receipted and counted only once the money has arrived."""

    class Status(models.TextChoices):
        PLEDGED = "pledged", _("announced, not yet arrived")
        RECEIVED = "received", _("received")

    class Source(models.TextChoices):
        MANUAL = "manual", _("recorded by finance")
        BANK_IMPORT = "bank_import", _("bank statement import")
        PLATFORM = "platform", _("donation platform")

    class DonorKind(models.TextChoices):
        COMPANY = "company", _("company")
        PERSON = "person", _("person")

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="donations", verbose_name=_("fund"))
    donor_name = models.CharField(_("donor"), max_length=200, blank=True)
    donor_kind = models.CharField(_("kind of donor"), max_length=20, choices=DonorKind.choices,
                                  default=DonorKind.PERSON)
    is_anonymous = models.BooleanField(_("anonymous"), default=False,
                                       help_text=_("The donor's name is known only to finance."))
    public_acknowledgement = models.BooleanField(
        _("may be thanked publicly"), default=False,
        help_text=_("The donor agreed that their name is published (慈善法 Art 82)."))
    amount = models.DecimalField(_("amount (yuan)"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    restricted_category = models.ForeignKey(ServiceCategory, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="restricted_donations",
                                            verbose_name=_("restricted to category"))
    restricted_community = models.ForeignKey(Community, null=True, blank=True, on_delete=models.PROTECT,
                                             related_name="restricted_donations",
                                             verbose_name=_("restricted to community"))
    purpose = models.CharField(_("donor's purpose"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    platform = models.CharField(_("platform"), max_length=50, blank=True)
    platform_donation_id = models.CharField(_("platform's donation id"), max_length=100, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.PLEDGED, protected=True)
    received_on = models.DateField(_("arrived on"), null=True, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=40, null=True, blank=True, unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="donation_amount_positive"),
            models.UniqueConstraint(fields=["platform", "platform_donation_id"], name="donation_platform_unique",
                                    condition=~models.Q(platform_donation_id="")),
            models.UniqueConstraint(fields=["fund", "bank_reference"], name="donation_bank_reference_unique",
                                    condition=~models.Q(bank_reference="")),
        ]

    def __str__(self) -> str:
        return f"{self.public_name} {self.amount}"

    @property
    def is_restricted(self) -> bool:
        return self.restricted_category_id is not None or self.restricted_community_id is not None

    @property
    def public_name(self) -> str:
        """The donor as shown to anyone outside finance."""
        if self.is_anonymous or not self.donor_name:
            return str(_("anonymous donor"))
        return self.donor_name

    def matches(self, application: GrantApplication) -> bool:
        """Whether this donor's restriction allows spending on the application."""
        return ((self.restricted_category_id in (None, application.category_id))
                and (self.restricted_community_id in (None, application.community_id)))

    @transition(field=status, source=Status.PLEDGED, target=Status.RECEIVED)
    def receive(self) -> None:
        """The money is in the foundation's account: it counts, and a receipt can be issued."""


class LedgerEntry(models.Model):
    """One movement of the fund's money; never changed or deleted, chained by hashes to detect tampering."""

    class Kind(models.TextChoices):
        DONATION_RECEIVED = "donation_received", _("donation received")
        MANAGEMENT_FEE = "management_fee", _("management fee")
        COMMITMENT = "commitment", _("commitment on approval")
        COMMITMENT_RELEASED = "commitment_released", _("commitment released")
        TRANCHE_PAID = "tranche_paid", _("tranche paid")
        REFUND_RECEIVED = "refund_received", _("unspent money returned")
        MONEY_RECLAIMED = "money_reclaimed", _("money to reclaim recorded")
        TRANSFER_OUT = "transfer_out", _("unspent money moved to another project")

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("fund"))
    seq = models.PositiveBigIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    application = models.ForeignKey(GrantApplication, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="ledger_entries", verbose_name=_("application"))
    donation = models.ForeignKey(Donation, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="ledger_entries", verbose_name=_("donation"),
                                 help_text=_("The donation received, or the restricted donation drawn on."))
    tranche = models.ForeignKey("Tranche", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="ledger_entries", verbose_name=_("tranche"))
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # Running totals after this entry, so a balance at any moment is one indexed lookup.
    received_total = models.DecimalField(_("received to date"), **MONEY)
    fees_total = models.DecimalField(_("management fees to date"), **MONEY)
    committed_total = models.DecimalField(_("committed to date (net of releases)"), **MONEY)
    paid_total = models.DecimalField(_("paid to date"), **MONEY)
    returned_total = models.DecimalField(_("returned to date"), **MONEY)
    available = models.DecimalField(_("available after"), **MONEY)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger")
        ordering = ["fund_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "seq"], name="ledger_seq_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(condition=models.Q(available__gte=0), name="ledger_available_not_negative"),
        ]
        indexes = [
            models.Index(fields=["fund", "created_at", "seq"], name="ledger_fund_time"),
            models.Index(fields=["application", "kind"], name="ledger_application_kind"),
            models.Index(fields=["donation", "kind"], name="ledger_donation_kind"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_kind_display()} {self.amount}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("Ledger entries cannot be changed; post a correcting entry instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Ledger entries cannot be deleted; post a correcting entry instead."))


class FundBalance(models.Model):
    """The fund's current totals, kept in the same transaction as each entry; its row is the fund's lock."""

    fund = models.OneToOneField(Fund, on_delete=models.PROTECT, primary_key=True, related_name="balance",
                                verbose_name=_("fund"))
    last_seq = models.PositiveBigIntegerField(_("last entry"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64, default="0" * 64)
    received_total = models.DecimalField(_("received"), **MONEY, default=ZERO)
    fees_total = models.DecimalField(_("management fees"), **MONEY, default=ZERO)
    committed_total = models.DecimalField(_("committed (net of releases)"), **MONEY, default=ZERO)
    paid_total = models.DecimalField(_("paid"), **MONEY, default=ZERO)
    returned_total = models.DecimalField(_("returned"), **MONEY, default=ZERO)
    available = models.DecimalField(_("available"), **MONEY, default=ZERO)

    class Meta:
        verbose_name = _("fund balance")
        verbose_name_plural = _("fund balances")
        constraints = [models.CheckConstraint(condition=models.Q(available__gte=0),
                                              name="fund_available_not_negative")]

    def __str__(self) -> str:
        return f"{self.fund}: {self.available}"


class Tranche(ConcurrentTransitionMixin, models.Model):
    """One instalment of a grant, released when its condition is met and paid exactly once."""

    class Condition(models.TextChoices):
        AGREEMENT_SIGNED = "agreement_signed", _("after the agreement is signed")
        MIDTERM_ACCEPTED = "midterm_accepted", _("after the mid-term review")
        COMPLETION_ACCEPTED = "completion_accepted", _("after final acceptance")

    class Status(models.TextChoices):
        PLANNED = "planned", _("waiting for its condition")
        PAYABLE = "payable", _("payable")
        PAID = "paid", _("paid")
        VOID = "void", _("void (grant ended)")

    application = models.ForeignKey(GrantApplication, on_delete=models.PROTECT, related_name="tranches",
                                    verbose_name=_("application"))
    number = models.PositiveSmallIntegerField(_("number"))
    percent = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    condition = models.CharField(_("condition"), max_length=30, choices=Condition.choices)
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.PLANNED, protected=True)
    payable_since = models.DateTimeField(_("payable since"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("paid by"))
    bank_reference = models.CharField(_("bank reference"), max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("tranche")
        verbose_name_plural = _("tranches")
        ordering = ["application_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="tranche_number_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="tranche_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "payable_since"], name="tranche_status_since")]

    def __str__(self) -> str:
        return f"{self.application} #{self.number}: {self.amount}"

    @transition(field=status, source=Status.PLANNED, target=Status.PAYABLE)
    def release(self) -> None:
        self.payable_since = timezone.now()

    @transition(field=status, source=Status.PAYABLE, target=Status.PAID)
    def pay(self) -> None:
        self.paid_at = timezone.now()

    @transition(field=status, source=[Status.PLANNED, Status.PAYABLE], target=Status.VOID)
    def void(self) -> None:
        """The grant ended (cancelled or settled) before this tranche was paid."""
