"""Plain helpers of the money tests: recompute the ledger from scratch, snapshot what a refusal must keep."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from grants.models import AuditEntry, Fund, FundBalance, GrantApplication, LedgerEntry
from grants.services.ledger import EFFECTS, TOTALS

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind


def recompute(entries: Iterable[LedgerEntry]) -> dict[str, Decimal]:
    """The fund's totals summed from scratch over `entries`, by how EFFECTS says each kind moves them."""
    totals = dict.fromkeys(TOTALS, ZERO)
    for entry in entries:
        effect = EFFECTS[entry.kind]
        for name, sign in (("received_total", effect.received), ("fees_total", effect.fees),
                           ("committed_total", effect.committed), ("paid_total", effect.paid),
                           ("returned_total", effect.returned), ("available", effect.available)):
            totals[name] += sign * entry.amount
    return totals


def balance_totals(fund: Fund) -> dict[str, Decimal]:
    """The fund's balance row, as a dict of its totals (zeros when the fund never had an entry)."""
    row = FundBalance.objects.filter(fund=fund).values(*TOTALS).first()
    return row or dict.fromkeys(TOTALS, ZERO)


def entry_totals(entry: LedgerEntry | None) -> dict[str, Decimal]:
    """The running totals stored on one entry."""
    return {name: getattr(entry, name) for name in TOTALS} if entry else dict.fromkeys(TOTALS, ZERO)


def fund_state(fund: Fund, *applications: GrantApplication) -> dict[str, object]:
    """What a refused money action must leave exactly as it was: balance row, ledger, states and audit."""
    return {
        "balance": FundBalance.objects.filter(fund=fund).values().first(),
        "ledger": list(LedgerEntry.objects.filter(fund=fund).order_by("seq").values_list("seq", "kind", "amount")),
        "applications": list(GrantApplication.objects.filter(pk__in=[a.pk for a in applications]).order_by("pk")
                             .values_list("pk", "status", "approved_at", "publicity_ends_on")),
        "audit": AuditEntry.objects.filter(application__in=[a.pk for a in applications]).count(),
        "tranches": list(GrantApplication.objects.filter(pk__in=[a.pk for a in applications])
                         .values_list("tranches__number", "tranches__status", "tranches__bank_reference")
                         .order_by("pk", "tranches__number")),
    }


def commitments(application: GrantApplication) -> list[tuple[int | None, Decimal]]:
    """(restricted donation id or None for pooled money, amount) of each COMMITMENT entry, in order."""
    return list(application.ledger_entries.filter(kind=Kind.COMMITMENT).order_by("seq")
                .values_list("donation_id", "amount"))


def releases(application: GrantApplication) -> list[tuple[int | None, Decimal]]:
    """(restricted donation id or None, amount) of each COMMITMENT_RELEASED entry, in order."""
    return list(application.ledger_entries.filter(kind=Kind.COMMITMENT_RELEASED).order_by("seq")
                .values_list("donation_id", "amount"))
