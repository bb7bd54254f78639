"""Donation tracing: which projects one donor's money went to, and how much, read from the fund's ledger.

Restricted gifts (定向捐赠) are exact: every commitment drawn on the gift names it in the ledger
(grants.services.money.commitment_post), and payments spend a grant's restricted money before its pooled money
(the rule of grants.services.money._sources).

Pooled gifts are not earmarked, so there is no record of "this yuan went there". The page shows them by one
stated rule, first in, first out:

1. The fund's pooled money forms one queue in the order it arrived: unrestricted gifts and money returned by
   projects, by ledger number. A gift is one stretch of that queue, [money before it, money before it + amount).
2. Pooled spending takes money from the front of the queue in the order it happened: each grant's pooled
   commitment (net of any release, placed at its first commitment) and each management fee.
3. The gift "went to" the spending that overlaps its stretch, by the size of the overlap; within a grant the
   pooled part paid so far comes first. What no spending has reached yet is still in the fund.

The shares add up: every yuan of pooled spending is matched to exactly one stretch of one gift (or refund), and
a grant is never matched to money that arrived after it was committed. It is an allocation rule, labelled as
such on the page, not a claim about individual banknotes.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min, Q, Sum

from ..models import Donation, GrantApplication, LedgerEntry

Kind = LedgerEntry.Kind
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _yuan(amount: Decimal) -> Decimal:
    """Sums as the database returns them vary in their exponent (SQLite): always two decimals."""
    return Decimal(amount).quantize(CENT)


@dataclass(frozen=True)
class TracedProject:
    """One project a gift went to: how much of the gift it was committed, and how much of that is paid."""

    application: GrantApplication
    committed: Decimal
    paid: Decimal


@dataclass(frozen=True)
class Trace:
    """Where one gift went: projects, management fees (pooled only), and what is still in the fund."""

    donation: Donation
    projects: list[TracedProject]
    fees: Decimal
    unspent: Decimal

    @property
    def is_restricted(self) -> bool:
        return self.donation.is_restricted

    @property
    def committed(self) -> Decimal:
        return sum((p.committed for p in self.projects), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((p.paid for p in self.projects), ZERO)


def find_donation(*, receipt_number: str, amount: Decimal) -> Donation | None:
    """The received gift with this receipt number and amount (both from the receipt), or None.

    Asking for the amount too means a receipt number alone, which is sequential, reveals nothing.
    """
    return (Donation.objects.filter(receipt_number=receipt_number.strip().upper(), amount=amount,
                                    status=Donation.Status.RECEIVED)
            .select_related("fund", "restricted_category", "restricted_community").first())


def donation_trace(donation: Donation) -> Trace:
    """Where the gift went: exactly for a restricted gift, by first in, first out for a pooled one."""
    return _restricted_trace(donation) if donation.is_restricted else _pooled_trace(donation)


def _public_projects(ids: set[int]) -> dict[int, GrantApplication]:
    return {a.pk: a for a in GrantApplication.objects.filter(pk__in=ids).select_related("community", "category")
            .only("pk", "title", "status", "approved_amount", "community__name", "category__name",
                  "category__name_en")}


def _paid_by_source(application_ids: set[int]) -> dict[int, dict[int | None, Decimal]]:
    """Per grant, how much of each source's commitment is paid (restricted sources first, as payments spend)."""
    committed: dict[int, dict[int | None, Decimal]] = defaultdict(dict)
    paid: dict[int, Decimal] = defaultdict(Decimal)
    rows = (LedgerEntry.objects.filter(application_id__in=application_ids,
                                       kind__in=[Kind.COMMITMENT, Kind.COMMITMENT_RELEASED, Kind.TRANCHE_PAID])
            .order_by("application_id", "seq").values_list("application_id", "kind", "donation_id", "amount"))
    for application_id, kind, source, amount in rows:
        sources = committed[application_id]
        if kind == Kind.COMMITMENT:
            sources[source] = sources.get(source, ZERO) + amount
        elif kind == Kind.COMMITMENT_RELEASED:
            sources[source] = sources.get(source, ZERO) - amount
        else:
            paid[application_id] += amount
    result: dict[int, dict[int | None, Decimal]] = {}
    for application_id, sources in committed.items():
        left, shares = paid[application_id], {}
        for source in sorted(sources, key=lambda s: s is None):  # stable: restricted in the order drawn, pooled last
            shares[source] = min(left, max(sources[source], ZERO))
            left -= shares[source]
        result[application_id] = shares
    return result


def _restricted_trace(donation: Donation) -> Trace:
    rows = (LedgerEntry.objects.filter(donation=donation, kind__in=[Kind.COMMITMENT, Kind.COMMITMENT_RELEASED])
            .values("application_id").annotate(
                committed=Sum("amount", filter=Q(kind=Kind.COMMITMENT), default=ZERO),
                released=Sum("amount", filter=Q(kind=Kind.COMMITMENT_RELEASED), default=ZERO)))
    net = {row["application_id"]: row["committed"] - row["released"] for row in rows}
    net = {pk: amount for pk, amount in net.items() if amount > 0}
    paid = _paid_by_source(set(net))
    applications = _public_projects(set(net))
    projects = [TracedProject(application=applications[pk], committed=_yuan(amount),
                              paid=_yuan(paid.get(pk, {}).get(donation.pk, ZERO)))
                for pk, amount in net.items()]
    projects.sort(key=lambda p: p.application.pk)
    unspent = donation.amount - sum(net.values(), ZERO)
    return Trace(donation=donation, projects=projects, fees=ZERO, unspent=_yuan(max(unspent, ZERO)))


def _pooled_spending(fund_id: int) -> Iterator[tuple[int, int | None, Decimal]]:
    """(ledger number, grant id or None for a fee, amount) of each pooled use of money, in queue order."""
    grants = (LedgerEntry.objects.filter(fund_id=fund_id, donation__isnull=True, application__isnull=False,
                                         kind__in=[Kind.COMMITMENT, Kind.COMMITMENT_RELEASED])
              .values("application_id")
              .annotate(first=Min("seq", filter=Q(kind=Kind.COMMITMENT)),
                        committed=Sum("amount", filter=Q(kind=Kind.COMMITMENT), default=ZERO),
                        released=Sum("amount", filter=Q(kind=Kind.COMMITMENT_RELEASED), default=ZERO))
              .order_by("first", "application_id"))
    fees = (LedgerEntry.objects.filter(fund_id=fund_id, kind=Kind.MANAGEMENT_FEE).order_by("seq")
            .values_list("seq", "amount"))
    grant_items = ((row["first"], row["application_id"], row["committed"] - row["released"])
                   for row in grants.iterator(chunk_size=2000))
    fee_items = ((seq, None, amount) for seq, amount in fees.iterator(chunk_size=2000))
    return heapq.merge(grant_items, fee_items, key=lambda item: item[0])


def _pooled_trace(donation: Donation) -> Trace:
    fund_id = donation.fund_id
    received = LedgerEntry.objects.filter(donation=donation, kind=Kind.DONATION_RECEIVED).values_list(
        "seq", flat=True).first()
    if received is None:  # pragma: no cover - a received donation always has its entry
        return Trace(donation=donation, projects=[], fees=ZERO, unspent=donation.amount)
    pooled_income = Q(kind=Kind.REFUND_RECEIVED) | Q(kind=Kind.DONATION_RECEIVED, donation__restricted_category=None,
                                                    donation__restricted_community=None)
    before = LedgerEntry.objects.filter(pooled_income, fund_id=fund_id, seq__lt=received).aggregate(
        total=Sum("amount", default=ZERO))["total"]
    start, end = before, before + donation.amount

    matched: dict[int, tuple[Decimal, Decimal, Decimal]] = {}  # grant -> (its start in the queue, its size, overlap)
    fees, position = ZERO, ZERO
    for _seq, application_id, amount in _pooled_spending(fund_id):
        if position >= end:
            break
        if amount > 0:
            overlap = min(end, position + amount) - max(start, position)
            if overlap > 0:
                if application_id is None:
                    fees += overlap
                else:
                    matched[application_id] = (position, amount, overlap)
            position += amount

    paid_by_source = _paid_by_source(set(matched))
    applications = _public_projects(set(matched))
    projects = []
    for pk, (grant_start, _size, overlap) in matched.items():
        # The grant's pooled money paid so far is the front of its stretch of the queue.
        pooled_paid = paid_by_source.get(pk, {}).get(None, ZERO)
        paid = max(min(end, grant_start + pooled_paid) - max(start, grant_start), ZERO)
        projects.append(TracedProject(application=applications[pk], committed=_yuan(overlap), paid=_yuan(paid)))
    committed = sum((p.committed for p in projects), ZERO)
    return Trace(donation=donation, projects=projects, fees=_yuan(fees),
                 unspent=_yuan(max(donation.amount - committed - fees, ZERO)))
