"""Posting to the fund's append-only ledger: one locked, hash-chained entry per movement of money."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import ApplicationConflict
from ..models import Donation, Fund, FundBalance, GrantApplication, LedgerEntry, Tranche

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Kind = LedgerEntry.Kind
TOTALS = ("received_total", "fees_total", "committed_total", "paid_total", "returned_total", "available")


@dataclass(frozen=True)
class Effect:
    """How one kind of entry moves the fund's totals (+1, -1 or 0 times the amount)."""

    received: int = 0
    fees: int = 0
    committed: int = 0
    paid: int = 0
    returned: int = 0

    @property
    def available(self) -> int:
        return self.received - self.fees - self.committed + self.returned


EFFECTS: dict[str, Effect] = {
    Kind.DONATION_RECEIVED: Effect(received=1),
    Kind.MANAGEMENT_FEE: Effect(fees=1),
    Kind.COMMITMENT: Effect(committed=1),
    Kind.COMMITMENT_RELEASED: Effect(committed=-1),
    Kind.TRANCHE_PAID: Effect(paid=1),
    Kind.REFUND_RECEIVED: Effect(returned=1),
    # A claim on money already paid out: recorded for follow-up, it moves no balance until refunded.
    Kind.MONEY_RECLAIMED: Effect(),
    Kind.TRANSFER_OUT: Effect(),
}


def entry_hash(*, prev_hash: str, fund_id: int, seq: int, kind: str, amount: Decimal, application_id: int | None,
               donation_id: int | None, tranche_id: int | None, actor_id: int | None, memo: str,
               created_at: dt.datetime) -> str:
    """The SHA-256 of an entry's content and its predecessor's hash (any edit breaks the chain)."""
    parts = [prev_hash, fund_id, seq, kind, f"{Decimal(amount):.2f}", application_id, donation_id, tranche_id,
             actor_id, memo, created_at.astimezone(dt.UTC).isoformat()]
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def lock_balance(fund: Fund) -> FundBalance:
    """Lock the fund's balance row for the rest of the transaction (every posting to the fund waits here).

    One `SELECT ... FOR UPDATE` when the row exists (always, after the fund's first posting); a fund without
    one yet gets it created first (`get_or_create` copes with a concurrent creator), then locked.
    """
    try:
        return FundBalance.objects.select_for_update().get(fund=fund)
    except FundBalance.DoesNotExist:
        FundBalance.objects.get_or_create(fund=fund)
        return FundBalance.objects.select_for_update().get(fund=fund)


def ledger_post(
    *,
    fund: Fund,
    kind: str,
    amount: Decimal,
    actor: AbstractBaseUser | None,
    application: GrantApplication | None = None,
    donation: Donation | None = None,
    tranche: Tranche | None = None,
    memo: str = "",
    balance: FundBalance | None = None,
) -> LedgerEntry:
    """Append one entry to the fund's ledger and move its running totals, refusing to go below zero.

    `balance` is the fund's row already locked by the caller in its transaction; without it the row is
    locked here (in a transaction of its own when the caller has none).
    """
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise ValueError("ledger amounts are positive; the kind says which way money moves")
    if balance is None and not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return _append(fund=fund, kind=kind, amount=amount, actor=actor, application=application,
                           donation=donation, tranche=tranche, memo=memo, balance=lock_balance(fund))
    return _append(fund=fund, kind=kind, amount=amount, actor=actor, application=application, donation=donation,
                   tranche=tranche, memo=memo, balance=balance or lock_balance(fund))


def _append(*, fund: Fund, kind: str, amount: Decimal, actor: AbstractBaseUser | None,
            application: GrantApplication | None, donation: Donation | None, tranche: Tranche | None, memo: str,
            balance: FundBalance) -> LedgerEntry:
    """The entry and the new totals, written inside the caller's transaction with the balance row locked.

    1. Work out the new totals and refuse before anything is written (the balance object is left untouched,
       so a caller that catches the refusal goes on with nothing changed, without needing a savepoint).
    2. Insert the entry and update the balance. No savepoint around the two writes: an error there marks
       the caller's whole transaction for rollback (`savepoint=False`), as PostgreSQL would anyway.
    """
    effect = EFFECTS[kind]
    totals = {
        "received_total": balance.received_total + effect.received * amount,
        "fees_total": balance.fees_total + effect.fees * amount,
        "committed_total": balance.committed_total + effect.committed * amount,
        "paid_total": balance.paid_total + effect.paid * amount,
        "returned_total": balance.returned_total + effect.returned * amount,
        "available": balance.available + effect.available * amount,
    }
    if totals["available"] < 0:
        raise ApplicationConflict(
            _("Insufficient funds: the fund has %(available)s yuan available, %(amount)s yuan are needed.")
            % {"available": balance.available, "amount": amount}, code="insufficient_funds")
    created_at = timezone.now()
    seq = balance.last_seq + 1
    ids = {"application_id": application.pk if application else None,
           "donation_id": donation.pk if donation else None,
           "tranche_id": tranche.pk if tranche else None}
    digest = entry_hash(prev_hash=balance.last_hash, fund_id=fund.pk, seq=seq, kind=kind, amount=amount,
                        actor_id=actor.pk if actor else None, memo=memo, created_at=created_at, **ids)
    with transaction.atomic(savepoint=False):
        entry = LedgerEntry.objects.create(
            fund=fund, seq=seq, kind=kind, amount=amount, memo=memo, actor=actor, created_at=created_at,
            prev_hash=balance.last_hash, hash=digest, **ids, **totals)
        for name, value in totals.items():
            setattr(balance, name, value)
        balance.last_seq, balance.last_hash = seq, digest
        balance.save()
    return entry
