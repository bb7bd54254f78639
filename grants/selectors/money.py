"""Reads of the fund's money: balances, statements, series for charts, totals and the ledger check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Max, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import Donation, Fund, FundBalance, GrantApplication, LedgerEntry, Tranche
from ..permissions import role_keys
from ..services.ledger import EFFECTS, TOTALS, entry_hash

if TYPE_CHECKING:
    from ..permissions import AnyUser

Kind = LedgerEntry.Kind
ZERO = Decimal("0.00")


def funds_visible_to(user: AnyUser) -> QuerySet[Fund]:
    """Funds whose money the user may look at: foundation staff of its foundation, and administrators."""
    if getattr(user, "is_superuser", False):
        return Fund.objects.all()
    foundations = {org for _role, scope, org in role_keys(user) if scope == "foundation"}
    return Fund.objects.filter(foundation_id__in=foundations)


def fund_balance(fund: Fund) -> FundBalance:
    """The fund's current totals: one row, kept up to date by every posting."""
    return FundBalance.objects.filter(fund=fund).first() or FundBalance(fund=fund)


@dataclass(frozen=True)
class Totals:
    """The fund's running totals at one moment."""

    received_total: Decimal = ZERO
    fees_total: Decimal = ZERO
    committed_total: Decimal = ZERO
    paid_total: Decimal = ZERO
    returned_total: Decimal = ZERO
    available: Decimal = ZERO

    @classmethod
    def of(cls, entry: LedgerEntry | None) -> Totals:
        return cls(**{name: getattr(entry, name) for name in TOTALS}) if entry else cls()

    def __sub__(self, other: Totals) -> Totals:
        return Totals(**{name: getattr(self, name) - getattr(other, name) for name in TOTALS})


@dataclass(frozen=True)
class Statement:
    """A fund's statement for a period: totals at the start and the end, and what moved in between."""

    fund: Fund
    start: dt.date
    end: dt.date
    opening: Totals
    closing: Totals

    @property
    def movements(self) -> Totals:
        return self.closing - self.opening


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def fund_statement(fund: Fund, *, start: dt.date, end: dt.date) -> Statement:
    """Opening and closing totals of any period in one query (two index lookups on the running totals)."""
    entries = LedgerEntry.objects.filter(fund=fund)
    # Ordered by time then number so that the (fund, created_at, seq) index finds each row directly.
    latest = ("-created_at", "-seq")
    last_before = entries.filter(created_at__lt=_day_start(start)).order_by(*latest).values("seq")[:1]
    last_in = entries.filter(created_at__lt=_day_start(end + dt.timedelta(days=1))).order_by(*latest).values(
        "seq")[:1]
    found = {entry.seq: entry for entry in entries.filter(
        Q(seq=Subquery(last_before)) | Q(seq=Subquery(last_in))).only("seq", "created_at", *TOTALS)}
    ordered = sorted(found.values(), key=lambda entry: entry.seq)
    opening = next((e for e in ordered if e.created_at < _day_start(start)), None)
    closing = ordered[-1] if ordered and ordered[-1].created_at >= _day_start(start) else opening
    return Statement(fund=fund, start=start, end=end, opening=Totals.of(opening), closing=Totals.of(closing))


def ledger_entries(fund: Fund, *, start: dt.date, end: dt.date) -> QuerySet[LedgerEntry]:
    """The entries of a period, oldest first, with what they point at."""
    return (LedgerEntry.objects.filter(fund=fund, created_at__gte=_day_start(start),
                                       created_at__lt=_day_start(end + dt.timedelta(days=1)))
            .select_related("application__community", "donation", "tranche", "actor").order_by("seq"))


@dataclass(frozen=True)
class BalancePoint:
    """The fund's totals at the end of one day, for the balance-over-time chart."""

    day: dt.date
    totals: Totals


def fund_balance_series(fund: Fund, *, start: dt.date | None = None,
                        end: dt.date | None = None) -> list[BalancePoint]:
    """The totals at the end of each day that had movements (one query)."""
    entries = LedgerEntry.objects.filter(fund=fund)
    if start:
        entries = entries.filter(created_at__gte=_day_start(start))
    if end:
        entries = entries.filter(created_at__lt=_day_start(end + dt.timedelta(days=1)))
    last_of_day = entries.annotate(day=TruncDate("created_at")).values("day").annotate(last=Max("seq")).values("last")
    rows = LedgerEntry.objects.filter(fund=fund, seq__in=last_of_day).only("seq", "created_at", *TOTALS).order_by(
        "seq")
    return [BalancePoint(day=timezone.localdate(row.created_at), totals=Totals.of(row)) for row in rows]


def _totals_by(fund: Fund, field: str) -> list[dict]:
    committed = Sum("amount", filter=Q(kind=Kind.COMMITMENT)) - Sum(
        "amount", filter=Q(kind=Kind.COMMITMENT_RELEASED), default=ZERO)
    rows = (LedgerEntry.objects.filter(fund=fund, application__isnull=False)
            .values(f"application__{field}", f"application__{field}__name")
            .annotate(committed=committed,
                      paid=Sum("amount", filter=Q(kind=Kind.TRANCHE_PAID), default=ZERO),
                      returned=Sum("amount", filter=Q(kind=Kind.REFUND_RECEIVED), default=ZERO))
            .order_by(f"application__{field}__name"))
    return [{"id": row[f"application__{field}"], "name": row[f"application__{field}__name"],
             "committed": row["committed"] or ZERO, "paid": row["paid"], "returned": row["returned"]}
            for row in rows]


def totals_by_community(fund: Fund) -> list[dict]:
    """Per community: money committed (net of releases), paid, and returned."""
    return _totals_by(fund, "community")


def totals_by_category(fund: Fund) -> list[dict]:
    """Per service category: money committed (net of releases), paid, and returned."""
    return _totals_by(fund, "category")


@dataclass(frozen=True)
class YearlyIndicators:
    """The foundation-wide legal ratios of one year (慈善法 Art 61)."""

    year: int
    last_year_income: Decimal
    charitable_spending: Decimal
    management_cost: Decimal

    @property
    def spending_ratio(self) -> Decimal | None:
        """Charitable spending as a share of last year's income (the law asks for at least 70%)."""
        return (self.charitable_spending / self.last_year_income) if self.last_year_income else None

    @property
    def management_ratio(self) -> Decimal | None:
        """Management cost as a share of the year's total spending (the law allows at most 10%)."""
        total = self.charitable_spending + self.management_cost
        return (self.management_cost / total) if total else None

    @property
    def spending_ok(self) -> bool | None:
        return None if self.spending_ratio is None else self.spending_ratio >= Decimal("0.70")

    @property
    def management_ok(self) -> bool | None:
        return None if self.management_ratio is None else self.management_ratio <= Decimal("0.10")


def yearly_indicators(foundation_id: int, year: int) -> YearlyIndicators:
    """Charitable spending vs 70% of last year's income and management cost vs 10% of spending, live."""
    def year_range(y: int) -> tuple[dt.datetime, dt.datetime]:
        return _day_start(dt.date(y, 1, 1)), _day_start(dt.date(y + 1, 1, 1))

    entries = LedgerEntry.objects.filter(fund__foundation_id=foundation_id)
    this_year, last_year = year_range(year), year_range(year - 1)
    sums = entries.aggregate(
        income=Sum("amount", filter=Q(kind=Kind.DONATION_RECEIVED, created_at__range=last_year), default=ZERO),
        paid=Sum("amount", filter=Q(kind=Kind.TRANCHE_PAID, created_at__range=this_year), default=ZERO),
        returned=Sum("amount", filter=Q(kind=Kind.REFUND_RECEIVED, created_at__range=this_year), default=ZERO),
        fees=Sum("amount", filter=Q(kind=Kind.MANAGEMENT_FEE, created_at__range=this_year), default=ZERO),
    )
    return YearlyIndicators(year=year, last_year_income=sums["income"], charitable_spending=sums["paid"]
                            - sums["returned"], management_cost=sums["fees"])


def ledger_problems(fund: Fund) -> list[str]:
    """Everything wrong with a fund's ledger: broken hash chain, gaps, wrong running totals or balance row.

    1. Walk the entries in order, recomputing each hash from its content and its predecessor's hash.
    2. Recompute the running totals from scratch and compare them with what each entry stored.
    3. Compare the final totals with the fund's balance row.
    """
    problems: list[str] = []
    prev_hash, expected_seq = "0" * 64, 1
    totals = dict.fromkeys(TOTALS, ZERO)
    for entry in LedgerEntry.objects.filter(fund=fund).order_by("seq").iterator(chunk_size=5000):
        if entry.seq != expected_seq:
            problems.append(f"entry #{entry.seq}: expected number {expected_seq} (an entry is missing)")
        if entry.prev_hash != prev_hash:
            problems.append(f"entry #{entry.seq}: does not follow the previous entry's hash")
        digest = entry_hash(prev_hash=entry.prev_hash, fund_id=entry.fund_id, seq=entry.seq, kind=entry.kind,
                            amount=entry.amount, application_id=entry.application_id,
                            donation_id=entry.donation_id, tranche_id=entry.tranche_id, actor_id=entry.actor_id,
                            memo=entry.memo, created_at=entry.created_at)
        if digest != entry.hash:
            problems.append(f"entry #{entry.seq}: its content does not match its hash (edited by hand?)")
        effect = EFFECTS.get(entry.kind)
        if effect is None:
            problems.append(f"entry #{entry.seq}: unknown kind {entry.kind!r} (edited by hand?)")
            prev_hash, expected_seq = entry.hash, entry.seq + 1
            continue
        for name, sign in (("received_total", effect.received), ("fees_total", effect.fees),
                           ("committed_total", effect.committed), ("paid_total", effect.paid),
                           ("returned_total", effect.returned), ("available", effect.available)):
            totals[name] += sign * entry.amount
            if getattr(entry, name) != totals[name]:
                problems.append(f"entry #{entry.seq}: {name} is {getattr(entry, name)}, recomputed {totals[name]}")
        prev_hash, expected_seq = entry.hash, entry.seq + 1
    balance = FundBalance.objects.filter(fund=fund).first()
    if balance is not None:
        for name in TOTALS:
            if getattr(balance, name) != totals[name]:
                problems.append(f"balance row: {name} is {getattr(balance, name)}, recomputed {totals[name]}")
        if balance.last_seq != expected_seq - 1 or balance.last_hash != prev_hash:
            problems.append("balance row: does not point at the last entry")
        if balance.last_seq > expected_seq - 1:
            missing = ", ".join(f"#{seq}" for seq in range(expected_seq, balance.last_seq + 1))
            problems.append(f"entries {missing}: missing after the last entry (the balance row counts them)")
    return problems


def application_money(application: GrantApplication) -> dict[str, Decimal]:
    """What a grant has been committed, paid and returned, from its ledger entries."""
    sums = application.ledger_entries.aggregate(
        committed=Sum("amount", filter=Q(kind=Kind.COMMITMENT), default=ZERO),
        released=Sum("amount", filter=Q(kind=Kind.COMMITMENT_RELEASED), default=ZERO),
        paid=Sum("amount", filter=Q(kind=Kind.TRANCHE_PAID), default=ZERO),
        returned=Sum("amount", filter=Q(kind=Kind.REFUND_RECEIVED), default=ZERO),
        reclaim=Sum("amount", filter=Q(kind=Kind.MONEY_RECLAIMED), default=ZERO),
    )
    return {"committed": sums["committed"] - sums["released"], "paid": sums["paid"], "returned": sums["returned"],
            "to_reclaim": sums["reclaim"] - sums["returned"] if sums["reclaim"] else ZERO}


def fund_donations(fund: Fund) -> QuerySet[Donation]:
    """The fund's donations, newest first, with their restrictions."""
    return Donation.objects.filter(fund=fund).select_related("restricted_category", "restricted_community")


def payable_tranches(fund: Fund) -> QuerySet[Tranche]:
    """Tranches finance may pay now, longest waiting first."""
    return (Tranche.objects.filter(application__fund=fund, status=Tranche.Status.PAYABLE)
            .select_related("application__community").order_by("payable_since", "pk"))


def paid_tranches(fund: Fund) -> QuerySet[Tranche]:
    """Tranches already paid, newest first, with who paid them."""
    return (Tranche.objects.filter(application__fund=fund, status=Tranche.Status.PAID)
            .select_related("application__community", "paid_by").order_by("-paid_at", "-pk"))


def refundable_applications(fund: Fund) -> QuerySet[GrantApplication]:
    """Applications of the fund that were paid something, which is all a project can give back."""
    paid = LedgerEntry.objects.filter(fund=fund, kind=LedgerEntry.Kind.TRANCHE_PAID).values("application_id")
    return GrantApplication.objects.filter(pk__in=paid).order_by("title")
