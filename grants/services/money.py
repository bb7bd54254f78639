"""Use cases of the fund's money: donations, commitments on approval, tranches, releases and refunds."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from ..errors import ActionForbidden, ApplicationConflict, ApplicationError
from ..models import (
    Community,
    Donation,
    Fund,
    FundBalance,
    GrantApplication,
    LedgerEntry,
    Role,
    ServiceCategory,
    Tranche,
)
from ..permissions import holds_foundation_role, may_pay
from ..signals import tranche_paid
from .ledger import ledger_post, lock_balance
from .transitions import require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Kind = LedgerEntry.Kind
CENT = Decimal("0.01")
# Money columns hold 14 digits with 2 decimals.
MAX_AMOUNT = Decimal("1e12")
# "1,200" or "12,345,678.90": commas only between groups of three digits.
THOUSANDS_GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d*)?")

# The payment schedules a fund can choose: (share in %, condition) per tranche.
SCHEDULES: dict[str, tuple[tuple[Decimal, str], ...]] = {
    Fund.TrancheTemplate.FIFTY_FORTY_TEN: ((Decimal(50), Tranche.Condition.AGREEMENT_SIGNED),
                                           (Decimal(40), Tranche.Condition.MIDTERM_ACCEPTED),
                                           (Decimal(10), Tranche.Condition.COMPLETION_ACCEPTED)),
    Fund.TrancheTemplate.SEVENTY_THIRTY: ((Decimal(70), Tranche.Condition.AGREEMENT_SIGNED),
                                          (Decimal(30), Tranche.Condition.COMPLETION_ACCEPTED)),
    Fund.TrancheTemplate.FULL: ((Decimal(100), Tranche.Condition.AGREEMENT_SIGNED),),
}


def _ensure_finance(actor: AbstractBaseUser, fund: Fund) -> None:
    if not holds_foundation_role(actor, Role.FINANCE, fund.foundation_id):
        raise ActionForbidden(_("Only finance staff of the foundation may record money."), code="forbidden")


def amount_parse(value: object, *, field: str = "amount", zero_allowed: bool = False) -> Decimal:
    """An amount in yuan typed by a person or sent by a client, checked: every service reads money through this.

    Thousands separators are accepted where they group thousands ("1,200.50"; "1,5" is refused, not read
    as 15); anything else that is not a positive (or, with `zero_allowed`, non-negative) sum of yuan and
    fen within `MAX_AMOUNT` is refused with its own message.
    """
    text = str(value).strip()
    if "," in text:
        if not THOUSANDS_GROUPED.fullmatch(text):
            raise ApplicationError(_("Enter an amount in yuan, such as 20000.00."), code="invalid_amount",
                                   field=field)
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError(_("Enter an amount in yuan, such as 20000.00."), code="invalid_amount",
                               field=field) from exc
    if not amount.is_finite():
        raise ApplicationError(_("Enter an amount in yuan, such as 20000.00."), code="invalid_amount", field=field)
    if amount < 0 or (amount == 0 and not zero_allowed):
        message = _("The amount cannot be negative.") if zero_allowed else _("The amount must be more than zero.")
        raise ApplicationError(message, code="invalid_amount", field=field)
    if amount >= MAX_AMOUNT:
        raise ApplicationError(_("The amount is too large."), code="invalid_amount", field=field)
    if amount != amount.quantize(CENT):
        raise ApplicationError(_("Amounts are in yuan with at most two decimals (fen)."), code="invalid_amount",
                               field=field)
    return amount


# --- Donations --------------------------------------------------------------------------------------------

def _next_receipt_number(fund: Fund, year: int) -> str:
    prefix = f"{fund.code.upper()}-{year}-"
    last = (Donation.objects.filter(fund=fund, receipt_number__startswith=prefix)
            .order_by("-receipt_number").values_list("receipt_number", flat=True).first())
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:06d}"


def _receive(donation: Donation, *, actor: AbstractBaseUser | None, received_on: dt.date) -> Donation:
    balance = lock_balance(donation.fund)  # serialises receipt numbers and postings of this fund
    donation.receive()
    donation.received_on = received_on
    donation.receipt_number = _next_receipt_number(donation.fund, received_on.year)
    donation.save()
    ledger_post(fund=donation.fund, kind=Kind.DONATION_RECEIVED, amount=donation.amount, actor=actor,
                donation=donation, memo=donation.purpose, balance=balance)
    return donation


@transaction.atomic
def donation_record(
    *,
    actor: AbstractBaseUser | None,
    fund: Fund,
    amount: Decimal | str,
    donor_name: str = "",
    donor_kind: str = Donation.DonorKind.PERSON,
    is_anonymous: bool = False,
    public_acknowledgement: bool = False,
    restricted_category: ServiceCategory | None = None,
    restricted_community: Community | None = None,
    purpose: str = "",
    received_on: dt.date | None = None,
    bank_reference: str = "",
    source: str = Donation.Source.MANUAL,
    platform: str = "",
    platform_donation_id: str = "",
) -> Donation:
    """Record a gift; with `received_on` the money has arrived: it is posted and a receipt number issued.

    `actor` is finance staff, or None when the donation platform's signed webhook records it.
    """
    if actor is not None:
        _ensure_finance(actor, fund)
    amount = amount_parse(amount)
    if restricted_category is not None and restricted_category.fund_id != fund.pk:
        raise ApplicationError(_("This category belongs to another fund."), code="invalid_restriction",
                               field="restricted_category")
    if is_anonymous and public_acknowledgement:
        raise ApplicationError(_("An anonymous donor cannot also be thanked by name."),
                               code="anonymous_acknowledged", field="public_acknowledgement")
    donation = Donation(
        fund=fund, amount=amount, donor_name=donor_name.strip(), donor_kind=donor_kind, is_anonymous=is_anonymous,
        public_acknowledgement=public_acknowledgement, restricted_category=restricted_category,
        restricted_community=restricted_community, purpose=purpose.strip(), bank_reference=bank_reference.strip(),
        source=source, platform=platform, platform_donation_id=platform_donation_id, recorded_by=actor)
    donation.full_clean(exclude=["status"], validate_constraints=False)
    try:
        with transaction.atomic():
            donation.save()
    except IntegrityError as exc:
        raise ApplicationConflict(_("This donation has already been recorded (same bank or platform reference)."),
                                  code="duplicate_donation") from exc
    if received_on is not None:
        _receive(donation, actor=actor, received_on=received_on)
    return donation


@transaction.atomic
def donation_receive(*, actor: AbstractBaseUser | None, donation: Donation, received_on: dt.date) -> Donation:
    """The announced money has arrived: post it and issue the receipt number."""
    if actor is not None:
        _ensure_finance(actor, donation.fund)
    donation = Donation.objects.select_for_update().get(pk=donation.pk)
    if donation.status == Donation.Status.RECEIVED:
        raise ApplicationConflict(_("This donation has already been received."), code="already_received")
    return _receive(donation, actor=actor, received_on=received_on)


@transaction.atomic
def management_fee_charge(*, actor: AbstractBaseUser, fund: Fund, amount: Decimal | str, memo: str) -> LedgerEntry:
    """Finance charges the foundation's management fee to the fund."""
    _ensure_finance(actor, fund)
    return ledger_post(fund=fund, kind=Kind.MANAGEMENT_FEE, amount=amount_parse(amount), actor=actor,
                       memo=require_text(memo, field="memo"))


# --- Commitments -------------------------------------------------------------------------------------------

def _restricted_donations(fund: Fund) -> tuple[list[Donation], dict[int, Decimal]]:
    """The fund's received restricted donations (oldest first) and what is left of each."""
    donations = list(Donation.objects.filter(fund=fund, status=Donation.Status.RECEIVED).filter(
        Q(restricted_category__isnull=False) | Q(restricted_community__isnull=False)).order_by("received_on", "pk"))
    left = {d.pk: d.amount for d in donations}
    if not donations:
        return donations, left
    drawn = (LedgerEntry.objects.filter(fund=fund, donation_id__in=left,
                                        kind__in=[Kind.COMMITMENT, Kind.COMMITMENT_RELEASED])
             .values("donation_id", "kind").annotate(total=Sum("amount")))
    for row in drawn:
        sign = -1 if row["kind"] == Kind.COMMITMENT else 1
        left[row["donation_id"]] += sign * row["total"]
    return donations, left


def restricted_available(fund: Fund) -> dict[int, Decimal]:
    """What is left of each received restricted donation (its amount less net commitments drawn on it)."""
    return _restricted_donations(fund)[1]


def ledger_sums(application: GrantApplication, *kinds: str) -> dict[str, Decimal]:
    """The application's ledger total of each of `kinds` (zero for a kind without entries), in one query."""
    sums = dict.fromkeys(kinds, Decimal(0))
    sums.update(application.ledger_entries.filter(kind__in=kinds).order_by().values_list("kind").annotate(
        total=Sum("amount")))
    return sums


def _schedule(application: GrantApplication) -> list[Tranche]:
    shares = SCHEDULES[application.fund.tranche_template]
    amount = application.approved_amount
    tranches, allotted = [], Decimal(0)
    for number, (percent, condition) in enumerate(shares, start=1):
        share = (amount - allotted if number == len(shares)
                 else (amount * percent / 100).quantize(CENT, rounding=ROUND_DOWN))
        allotted += share
        tranches.append(Tranche(application=application, number=number, percent=percent, amount=share,
                                condition=condition))
    return [t for t in tranches if t.amount > 0]


def commitment_post(*, application: GrantApplication, actor: AbstractBaseUser) -> list[LedgerEntry]:
    """Commit the approved amount: matching restricted money first, then pooled; set the payment schedule.

    Runs inside the approval's transaction; the fund's balance row is locked, so two approvals racing
    for the last money are served one after the other and the second is refused with nothing changed.
    """
    fund = application.fund
    balance = lock_balance(fund)
    needed = application.approved_amount
    entries = []
    donations, restricted = _restricted_donations(fund)
    for donation in donations:
        if needed <= 0:
            break
        if restricted[donation.pk] <= 0 or not donation.matches(application):
            continue
        draw = min(needed, restricted[donation.pk])
        entries.append(ledger_post(fund=fund, kind=Kind.COMMITMENT, amount=draw, actor=actor,
                                   application=application, donation=donation, balance=balance,
                                   memo=_("restricted donation %(receipt)s") % {"receipt": donation.receipt_number}))
        needed -= draw
    if needed > 0:
        pooled = balance.available - sum(left for left in restricted.values() if left > 0) + sum(
            e.amount for e in entries)
        if pooled < needed:
            raise ApplicationConflict(
                _("Insufficient funds: %(needed)s yuan are needed but only %(pooled)s yuan of unrestricted money "
                  "is available.") % {"needed": needed, "pooled": max(pooled, Decimal(0))},
                code="insufficient_funds")
        entries.append(ledger_post(fund=fund, kind=Kind.COMMITMENT, amount=needed, actor=actor,
                                   application=application, balance=balance))
    Tranche.objects.bulk_create(_schedule(application))
    return entries


def _sources(application: GrantApplication) -> list[tuple[int | None, Decimal]]:
    """Each source's unpaid commitment (restricted donations first, in the order drawn; pooled last)."""
    committed: dict[int | None, Decimal] = {}
    paid = Decimal(0)
    for entry in application.ledger_entries.order_by("seq"):
        if entry.kind == Kind.COMMITMENT:
            committed[entry.donation_id] = committed.get(entry.donation_id, Decimal(0)) + entry.amount
        elif entry.kind == Kind.COMMITMENT_RELEASED:
            committed[entry.donation_id] -= entry.amount
        elif entry.kind == Kind.TRANCHE_PAID:
            paid += entry.amount
    # Payments spend restricted money first: the donors' purposes are served before pooled money.
    order = sorted(committed, key=lambda source: source is None)
    unpaid = []
    for source in order:
        used = min(paid, committed[source])
        paid -= used
        unpaid.append((source, committed[source] - used))
    return unpaid


def commitment_release(*, application: GrantApplication, actor: AbstractBaseUser | None,
                       reason: str, amount: Decimal | None = None, balance: FundBalance | None = None) -> Decimal:
    """Give the unpaid commitment of a grant back to the fund (and to its restricted donations).

    Without `amount` all of it is released and the unpaid tranches are voided (the grant ended). With an
    amount only that much is released, pooled money first, so donors' restricted money keeps serving them.
    `balance` is the fund's balance row when the caller has already locked it.
    """
    balance = balance or lock_balance(application.fund)
    left = amount
    released = Decimal(0)
    sources = _sources(application)
    shares = []
    for source, unpaid in (sources if amount is None else reversed(sources)):
        share = unpaid if left is None else min(unpaid, left)
        if share > 0:
            shares.append((source, share))
            if left is not None:
                left -= share
    donations = Donation.objects.in_bulk([source for source, _share in shares if source])
    for source, share in shares:
        ledger_post(fund=application.fund, kind=Kind.COMMITMENT_RELEASED, amount=share, actor=actor,
                    application=application, donation=donations[source] if source else None, memo=reason[:300],
                    balance=balance)
        released += share
    if amount is None:
        for tranche in application.tranches.filter(status__in=[Tranche.Status.PLANNED, Tranche.Status.PAYABLE]):
            tranche.void()
            tranche.save()
    return released


def grant_cancel_money(*, application: GrantApplication, actor: AbstractBaseUser | None, reason: str) -> None:
    """A cancelled grant: release what is unpaid and record what was paid as money to reclaim (条例 Art 31)."""
    commitment_release(application=application, actor=actor, reason=reason)
    paid = application.ledger_entries.filter(kind=Kind.TRANCHE_PAID).aggregate(total=Sum("amount"))["total"]
    if paid:
        ledger_post(fund=application.fund, kind=Kind.MONEY_RECLAIMED, amount=paid, actor=actor,
                    application=application, memo=reason[:300])


# --- Tranches ----------------------------------------------------------------------------------------------

def tranches_release(*, application: GrantApplication, condition: str) -> list[Tranche]:
    """Make the tranches whose condition was just met payable."""
    released = []
    for tranche in application.tranches.filter(condition=condition, status=Tranche.Status.PLANNED):
        tranche.release()
        tranche.save()
        released.append(tranche)
    return released


def tranche_pay(*, actor: AbstractBaseUser, tranche: Tranche, bank_reference: str) -> Tranche:
    """Finance pays a payable tranche once; retrying with the same bank reference returns the same payment."""
    bank_reference = require_text(bank_reference, field="bank_reference")
    application = tranche.application
    denial = may_pay(actor, application)
    if denial:
        raise ActionForbidden(denial, code="forbidden")
    try:
        with transaction.atomic():
            # Same lock order as approvals (the fund's balance row first), and only the tranche row itself:
            # locking the joined fund row too deadlocked against a concurrent approval.
            lock_balance(application.fund)
            tranche = (Tranche.objects.select_for_update(of=("self",)).select_related("application__fund")
                       .get(pk=tranche.pk))
            if tranche.status == Tranche.Status.PAID:
                if tranche.bank_reference == bank_reference:
                    return tranche  # an idempotent retry of the same payment
                raise ApplicationConflict(_("This tranche has already been paid (bank reference %(ref)s).")
                                          % {"ref": tranche.bank_reference}, code="already_paid")
            if tranche.status != Tranche.Status.PAYABLE:
                raise ApplicationError(_("This tranche is not payable: %(why)s.")
                                       % {"why": tranche.get_status_display()}, code="not_payable")
            if getattr(tranche.application, "reporting_overdue", False):
                raise ApplicationError(_("A report of this project is overdue: no further payment until it is in."),
                                       code="report_overdue")
            tranche.pay()
            tranche.paid_by = actor
            tranche.bank_reference = bank_reference
            tranche.save()
            ledger_post(fund=tranche.application.fund, kind=Kind.TRANCHE_PAID, amount=tranche.amount, actor=actor,
                        application=tranche.application, tranche=tranche,
                        memo=_("tranche %(number)s, bank reference %(ref)s")
                        % {"number": tranche.number, "ref": bank_reference})
            tranche_paid.send(sender=Tranche, tranche=tranche, actor=actor)
    except IntegrityError as exc:
        raise ApplicationConflict(_("This bank reference has already been used for another payment."),
                                  code="duplicate_bank_reference", field="bank_reference") from exc
    except ConcurrentTransition as exc:
        raise ApplicationConflict(_("Somebody else changed this tranche a moment ago. Please reload it."),
                                  code="concurrent_change") from exc
    return tranche


@transaction.atomic
def refund_receive(*, actor: AbstractBaseUser, application: GrantApplication, amount: Decimal | str,
                   memo: str) -> LedgerEntry:
    """Unspent or reclaimed money came back from a project into the fund."""
    _ensure_finance(actor, application.fund)
    amount = amount_parse(amount)
    balance = lock_balance(application.fund)  # before the sums: two refunds at once must not both fit
    sums = ledger_sums(application, Kind.TRANCHE_PAID, Kind.REFUND_RECEIVED)
    paid, returned = sums[Kind.TRANCHE_PAID], sums[Kind.REFUND_RECEIVED]
    if amount > paid - returned:
        raise ApplicationError(_("A project cannot return more than it was paid (%(left)s yuan).")
                               % {"left": paid - returned}, code="refund_too_large", field="amount")
    return ledger_post(fund=application.fund, kind=Kind.REFUND_RECEIVED, amount=amount, actor=actor,
                       application=application, memo=require_text(memo, field="memo"), balance=balance)


__all__ = [
    "commitment_post", "commitment_release", "donation_receive", "donation_record",
    "grant_cancel_money", "management_fee_charge", "refund_receive", "restricted_available", "tranche_pay",
    "tranches_release",
]
