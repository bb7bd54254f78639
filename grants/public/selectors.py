"""Reads for the public page: only what the fund discloses (慈善法 Art 71-76, 条例 Art 30), never personal data.

Everything here is safe to show to anyone: grants from publicity onward (no drafts, no rejected or withdrawn
applications), their community, category, amounts, dates, state and results summary; beneficiaries as counts;
donors by name only when they agreed and are not anonymous. Objections, budgets, attachments, audit comments
and contacts are never read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, DecimalField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..calendar import working_days_between
from ..models import (
    BeneficiaryGroup,
    Community,
    Donation,
    Fund,
    FundBalance,
    GrantApplication,
    ServiceCategory,
    Tranche,
)
from ..selectors import fund_balance_series, totals_by_category
from ..selectors.money import BalancePoint
from ..states import State

ZERO = Decimal("0.00")
_ORDER = list(State)
# Every state from publicity on, in the order of an application's life, less the two side exits that are never
# published (withdrawn, rejected). Cancelled grants stay listed, as cancelled.
PUBLIC_STATES = tuple(s for s in _ORDER[_ORDER.index(State.PUBLICITY):] if s not in (State.WITHDRAWN, State.REJECTED))
# How many acknowledged donors the overview lists by name (the newest first).
ACKNOWLEDGED_DONORS = 100


def public_applications() -> QuerySet[GrantApplication]:
    """Grants the public may see: approved (publicity onward), neither withdrawn nor rejected."""
    # approved_at guards against a state added later before publicity: only approved grants are ever listed.
    return GrantApplication.objects.filter(status__in=PUBLIC_STATES, approved_at__isnull=False)


def _paid_subquery() -> Subquery:
    paid = (Tranche.objects.filter(application=OuterRef("pk"), status=Tranche.Status.PAID)
            .values("application").annotate(total=Sum("amount")).values("total"))
    return Coalesce(Subquery(paid, output_field=DecimalField(max_digits=14, decimal_places=2)),
                    Value(ZERO, output_field=DecimalField(max_digits=14, decimal_places=2)))


def public_projects(*, fund: Fund | None = None, status: str | None = None) -> QuerySet[GrantApplication]:
    """Funded projects, newest approval first, with what the page shows and the amount paid (`paid`)."""
    projects = (public_applications().select_related("fund", "community__street_office", "category",
                                                     "completion_report")
                .annotate(paid=_paid_subquery()).order_by("-approved_at", "-pk"))
    if fund is not None:
        projects = projects.filter(fund=fund)
    if status:
        projects = projects.filter(status=status)
    return projects


def public_project(pk: int) -> GrantApplication:
    """One funded project with its paid tranches and beneficiary counts (raises DoesNotExist if not public)."""
    return (public_projects().prefetch_related(
        Prefetch("tranches", queryset=Tranche.objects.filter(status=Tranche.Status.PAID).order_by("number"),
                 to_attr="paid_tranches"),
        Prefetch("beneficiary_groups", queryset=BeneficiaryGroup.objects.order_by("kind"))).get(pk=pk))


def results_summary(application: GrantApplication) -> str:
    """The published results of a closed project ("" before it closes or while there is no report)."""
    if application.status != State.CLOSED:
        return ""
    try:
        report = application.completion_report
    except (ObjectDoesNotExist, AttributeError):
        return ""
    return getattr(report, "public_summary", "") or ""


def served_counts(application: GrantApplication) -> list:
    """People served by a closed project, per kind (counts only), from its completion report."""
    if application.status != State.CLOSED:
        return []
    try:
        report = application.completion_report
    except (ObjectDoesNotExist, AttributeError):
        return []
    served = getattr(report, "served", None)
    return list(served.order_by("kind")) if served is not None else []


@dataclass(frozen=True)
class PublicityRow:
    """A grant in publicity and how long objections are still open."""

    application: GrantApplication
    ends_on: dt.date
    working_days_left: int  # working days after today up to and including the last day

    @property
    def ends_today(self) -> bool:
        return self.working_days_left <= 0


def publicity_rows(*, today: dt.date | None = None) -> list[PublicityRow]:
    """Grants in publicity, the soonest to end first, with their remaining working days.

    One query for the grants and one per distinct last day (all lie within the publicity period ahead).
    """
    today = today or timezone.localdate()
    applications = (public_applications().filter(status=State.PUBLICITY)
                    .select_related("fund", "community__street_office", "category")
                    .order_by("publicity_ends_on", "pk"))

    @cache
    def left(ends_on: dt.date) -> int:
        return working_days_between(today, ends_on)

    return [PublicityRow(application=a, ends_on=a.publicity_ends_on, working_days_left=left(a.publicity_ends_on))
            for a in applications if a.publicity_ends_on is not None]


@dataclass(frozen=True)
class Acknowledgements:
    """Donors who agreed to be thanked by name, and how many others gave (never their names)."""

    named: list[dict]
    named_count: int
    others_count: int
    others_total: Decimal


def acknowledgements(fund: Fund) -> Acknowledgements:
    """The fund's received gifts: named donors who agreed and are not anonymous; the others only counted."""
    received = Donation.objects.filter(fund=fund, status=Donation.Status.RECEIVED)
    agreed = Q(public_acknowledgement=True, is_anonymous=False) & ~Q(donor_name="")
    sums = received.aggregate(named=Count("pk", filter=agreed), others=Count("pk", filter=~agreed),
                              others_total=Sum("amount", filter=~agreed, default=ZERO))
    named = list(received.filter(agreed).order_by("-received_on", "-pk")
                 .values("donor_name", "donor_kind", "amount", "received_on")[:ACKNOWLEDGED_DONORS])
    kinds = dict(Donation.DonorKind.choices)
    for row in named:
        row["donor_kind_label"] = kinds.get(row["donor_kind"], "")
    return Acknowledgements(named=named, named_count=sums["named"], others_count=sums["others"],
                            others_total=sums["others_total"])


@dataclass
class FundOverview:
    """What the public page says about one fund: categories, money over time, spending by category, donors."""

    fund: Fund
    categories: list[ServiceCategory]
    balance: FundBalance
    series: list[BalancePoint]
    by_category: list[dict]
    acknowledgements: Acknowledgements
    counts: dict[str, int] = field(default_factory=dict)


def public_funds() -> QuerySet[Fund]:
    """Every fund, with its foundation, balance row and categories (open ones first)."""
    return (Fund.objects.select_related("foundation", "balance").order_by("pk")
            .prefetch_related(Prefetch("categories", queryset=ServiceCategory.objects.order_by(
                "-is_active", "position", "pk"))))


def fund_overview(fund: Fund) -> FundOverview:
    """Everything the overview shows for one fund, in a fixed number of queries."""
    categories = list(fund.categories.all())
    names = {c.pk: str(c) for c in categories}
    by_category = [{**row, "name": names.get(row["id"], row["name"])} for row in totals_by_category(fund)]
    counts = public_applications().filter(fund=fund).aggregate(
        publicity=Count("pk", filter=Q(status=State.PUBLICITY)),
        projects=Count("pk"),
        closed=Count("pk", filter=Q(status=State.CLOSED)))
    try:
        balance = fund.balance
    except ObjectDoesNotExist:
        balance = FundBalance(fund=fund)
    return FundOverview(fund=fund, categories=categories, balance=balance, series=fund_balance_series(fund),
                        by_category=by_category, acknowledgements=acknowledgements(fund), counts=counts)


def applicant_communities() -> list[Community]:
    """The communities that may apply (those in the system), with their street office, for "how to apply"."""
    return list(Community.objects.select_related("street_office").order_by("street_office__name", "name"))
