"""Use cases that settle a project's money at the end: the final tranche, unspent money, closing."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..errors import ApplicationError
from ..models import GrantApplication, LedgerEntry, Tranche
from ..selectors.reporting import actual_spending_total
from ..states import State
from .ledger import ledger_post, lock_balance
from .money import commitment_release, ledger_sums, refund_receive
from .transitions import require_text, run_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

Kind = LedgerEntry.Kind


class UnspentMoney(models.TextChoices):
    """What happens to money a project was paid but did not spend."""

    REFUND = "refund", gettext_lazy("returned to the fund")
    TRANSFER = "transfer", gettext_lazy("moved to a similar project")


# A transfer goes to a project of the same fund and category that is still running.
TRANSFER_TARGET_STATES = (State.AGREEMENT, State.IN_PROGRESS, State.PROGRESS_REVIEW)


def final_tranches_settle(*, application: GrantApplication, actor: User | None) -> Decimal:
    """At acceptance, pay only what was really spent: shrink or void the final tranche and release the rest.

    The final tranche(s) become payable for the actual spending not yet covered by the earlier tranches; the part
    of the commitment no tranche will pay goes back to the fund. Returns the amount released.
    """
    balance = lock_balance(application.fund)
    spent = min(actual_spending_total(application), application.approved_amount)
    tranches = list(application.tranches.exclude(status=Tranche.Status.VOID).order_by("number"))
    finals = [t for t in tranches if t.condition == Tranche.Condition.COMPLETION_ACCEPTED]
    left = max(spent - sum(t.amount for t in tranches if t not in finals), Decimal(0))
    for tranche in finals:
        if tranche.status != Tranche.Status.PLANNED:
            continue
        share = min(tranche.amount, left)
        left -= share
        if share > 0:
            tranche.amount = share
            tranche.release()
        else:
            tranche.void()
        tranche.save()
    sums = ledger_sums(application, Kind.COMMITMENT, Kind.COMMITMENT_RELEASED)
    # The tranches read above, as just saved: the balance lock keeps payments of this fund out meanwhile.
    scheduled = sum((t.amount for t in tranches if t.status != Tranche.Status.VOID), Decimal(0))
    excess = sums[Kind.COMMITMENT] - sums[Kind.COMMITMENT_RELEASED] - scheduled
    if excess > 0:
        return commitment_release(application=application, actor=actor, amount=excess, balance=balance,
                                  reason=_("not spent according to the completion report"))
    return Decimal(0)


def unspent_money(application: GrantApplication) -> Decimal:
    """Money paid to the project that it did not spend and has not yet returned or moved on."""
    sums = ledger_sums(application, Kind.TRANCHE_PAID, Kind.REFUND_RECEIVED, Kind.TRANSFER_OUT)
    unsettled = sums[Kind.TRANCHE_PAID] - sums[Kind.REFUND_RECEIVED] - sums[Kind.TRANSFER_OUT]
    if unsettled <= 0:
        return Decimal(0)  # spending is never negative: no need to read it
    return max(unsettled - actual_spending_total(application), Decimal(0))


def _transfer_target(application: GrantApplication, target: object) -> GrantApplication:
    try:
        target = GrantApplication.objects.get(pk=int(getattr(target, "pk", target)))
    except (TypeError, ValueError, GrantApplication.DoesNotExist) as exc:
        raise ApplicationError(_("Choose the project the money moves to."), code="transfer_target_missing",
                               field="transfer_to") from exc
    if (target.pk == application.pk or target.fund_id != application.fund_id
            or target.category_id != application.category_id or target.status not in TRANSFER_TARGET_STATES):
        raise ApplicationError(_("Unspent money may only move to a running project of the same fund and service "
                                 "category."), code="transfer_target_invalid", field="transfer_to")
    return target


def unspent_money_settle(*, application: GrantApplication, actor: User, unspent_to: str, transfer_to: object,
                         reason: str) -> LedgerEntry | None:
    """Record what happens to the unspent money: returned to the fund, or moved to a similar project (disclosed)."""
    amount = unspent_money(application)
    if amount <= 0:
        return None
    if unspent_to == UnspentMoney.REFUND:
        return refund_receive(actor=actor, application=application, amount=amount,
                              memo=reason.strip() or _("unspent money returned at closing"))
    if unspent_to == UnspentMoney.TRANSFER:
        target = _transfer_target(application, transfer_to)
        reason = require_text(reason, field="reason")
        return ledger_post(fund=application.fund, kind=Kind.TRANSFER_OUT, amount=amount, actor=actor,
                           application=application,
                           memo=(_("to #%(id)s %(title)s: %(reason)s")
                                 % {"id": target.pk, "title": target.title, "reason": reason})[:300])
    raise ApplicationError(
        _("%(amount)s yuan were paid but not spent: choose whether they are returned to the fund or moved to a "
          "similar project.") % {"amount": amount}, code="unspent_money_unsettled", field="unspent_to")


def application_close(*, actor: User, application: GrantApplication, comment: str = "", unspent_to: str = "",
                      transfer_to: object = None, reason: str = "") -> GrantApplication:
    """Finance closes the project: every tranche settled, unspent money returned or moved; results are public."""
    return run_transition(application, "close", actor=actor, comment=comment or reason,
                          effects=lambda: unspent_money_settle(application=application, actor=actor,
                                                               unspent_to=unspent_to, transfer_to=transfer_to,
                                                               reason=reason))
