"""The append-only ledger: how each kind of entry moves the totals, immutability, verify_ledger, statements."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from grants import services
from grants.errors import ApplicationConflict
from grants.models import FundBalance, LedgerEntry
from grants.selectors import fund_statement, ledger_entries, ledger_problems
from grants.services.ledger import EFFECTS, TOTALS
from grants.states import State
from tests.helpers import pay_payable_tranches

from .support import ZERO, Kind, balance_totals, entry_totals, recompute

pytestmark = pytest.mark.django_db
LOCAL = ZoneInfo(settings.TIME_ZONE)

# The domain's balance rule, written out per kind: received - fees - committed (net of releases) + returned.
# Paying a tranche spends money that its commitment already took out of `available`.
EXPECTED_MOVES: dict[str, dict[str, int]] = {
    Kind.DONATION_RECEIVED: {"received_total": 1, "available": 1},
    Kind.MANAGEMENT_FEE: {"fees_total": 1, "available": -1},
    Kind.COMMITMENT: {"committed_total": 1, "available": -1},
    Kind.COMMITMENT_RELEASED: {"committed_total": -1, "available": 1},
    Kind.TRANCHE_PAID: {"paid_total": 1},
    Kind.REFUND_RECEIVED: {"returned_total": 1, "available": 1},
    Kind.MONEY_RECLAIMED: {},
    Kind.TRANSFER_OUT: {},
}


def moves(kind: str, amount: Decimal) -> dict[str, Decimal]:
    return {name: EXPECTED_MOVES[kind].get(name, 0) * amount for name in TOTALS}


def difference(after: dict[str, Decimal], before: dict[str, Decimal]) -> dict[str, Decimal]:
    return {name: after[name] - before[name] for name in TOTALS}


def test_effects_table_is_the_domain_balance_rule():
    assert set(EFFECTS) == set(Kind.values) == set(EXPECTED_MOVES)
    for kind, effect in EFFECTS.items():
        as_moves = {"received_total": effect.received, "fees_total": effect.fees,
                    "committed_total": effect.committed, "paid_total": effect.paid,
                    "returned_total": effect.returned, "available": effect.available}
        assert {name: sign for name, sign in as_moves.items() if sign} == EXPECTED_MOVES[kind], kind


@pytest.mark.parametrize("kind", Kind.values)
def test_each_kind_of_entry_moves_the_totals_as_effects_says(money, kind):
    money.donate("1000.00")
    before = balance_totals(money.fund)

    entry = services.ledger_post(fund=money.fund, kind=kind, amount=Decimal("123.45"), actor=money.cast.finance,
                                 memo="test")

    assert difference(entry_totals(entry), before) == moves(kind, Decimal("123.45"))
    assert balance_totals(money.fund) == entry_totals(entry)
    assert ledger_problems(money.fund) == []


def test_the_services_post_each_kind_with_its_effect(money):
    """A grant's whole life plus a fee and a cancelled grant: every entry moved the totals by its kind."""
    cast = money.cast
    money.donate("200000.00")
    services.management_fee_charge(actor=cast.finance, fund=money.fund, amount="1000.00", memo="2026年管理费")
    kept = money.approved("30000.00")
    money.walk(kept, State.CLOSED)
    services.refund_receive(actor=cast.finance, application=kept, amount="500.00", memo="结余退回")
    cancelled = money.walk(money.approved("20000.00"), State.IN_PROGRESS)
    pay_payable_tranches(cancelled, cast.finance)
    services.application_cancel(actor=cast.secretary_general, application=cancelled, reason="挪用资金")
    withdrawn = money.approved("10000.00")
    services.application_withdraw(actor=cast.applicant, application=withdrawn, reason="社区另有安排")
    services.ledger_post(fund=money.fund, kind=Kind.TRANSFER_OUT, amount=Decimal("1.00"), actor=cast.finance,
                         application=kept, memo="结余转入同类项目")

    entries = list(LedgerEntry.objects.filter(fund=money.fund).order_by("seq"))
    assert {entry.kind for entry in entries} == set(Kind.values)
    previous = dict.fromkeys(TOTALS, ZERO)
    for entry in entries:
        assert difference(entry_totals(entry), previous) == moves(entry.kind, entry.amount), entry
        previous = entry_totals(entry)
    assert balance_totals(money.fund) == previous == recompute(entries)
    assert previous["available"] == Decimal("200000.00") - Decimal("1000.00") - Decimal("30000.00") + Decimal(
        "500.00") - Decimal("10000.00")  # the cancelled grant's first tranche (10,000) was paid out


def test_an_entry_that_would_overdraw_the_fund_is_refused_and_nothing_changes(money):
    money.donate("100.00")
    before = (balance_totals(money.fund), LedgerEntry.objects.count())

    with pytest.raises(ApplicationConflict) as caught:
        services.management_fee_charge(actor=money.cast.finance, fund=money.fund, amount="100.01", memo="管理费")

    assert caught.value.code == "insufficient_funds"
    assert (balance_totals(money.fund), LedgerEntry.objects.count()) == before


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5.00")])
def test_ledger_amounts_are_positive(money, amount):
    with pytest.raises(ValueError):
        services.ledger_post(fund=money.fund, kind=Kind.DONATION_RECEIVED, amount=amount, actor=None)
    assert not LedgerEntry.objects.filter(fund=money.fund).exists()


def test_an_entry_cannot_be_changed(money):
    money.donate("1000.00")
    entry = LedgerEntry.objects.get(fund=money.fund)

    entry.amount = Decimal("1.00")
    with pytest.raises(ValidationError):
        entry.save()

    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("1000.00")
    assert ledger_problems(money.fund) == []


def test_an_entry_cannot_be_deleted(money):
    money.donate("1000.00")
    entry = LedgerEntry.objects.get(fund=money.fund)

    with pytest.raises(ValidationError):
        entry.delete()

    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert ledger_problems(money.fund) == []


def refused(action) -> bool:
    """Whether the action raised (inside a savepoint, so a database error does not break the test's transaction)."""
    try:
        with transaction.atomic():
            action()
    except Exception:
        return True
    return False


def test_entries_cannot_be_changed_in_bulk(money):
    """A script, a data migration or the shell changes rows with QuerySet.update(), never calling save()."""
    money.donate("1000.00")

    assert refused(lambda: LedgerEntry.objects.filter(fund=money.fund).update(amount=Decimal("1.00")))
    assert ledger_problems(money.fund) == []


def test_entries_cannot_be_deleted_in_bulk(money):
    """The admin's "delete selected" and cleanup scripts use QuerySet.delete(), never calling delete()."""
    money.donate("1000.00")

    assert refused(lambda: LedgerEntry.objects.filter(fund=money.fund).delete())
    assert ledger_problems(money.fund) == []


# --- verify_ledger -------------------------------------------------------------------------------------------

def a_few_entries(money) -> list[LedgerEntry]:
    """Five entries: two donations, a commitment, a paid tranche and a fee."""
    money.donate("50000.00")
    money.donate("20000.00")
    application = money.walk(money.approved("30000.00"), State.IN_PROGRESS)
    pay_payable_tranches(application, money.cast.finance)
    services.management_fee_charge(actor=money.cast.finance, fund=money.fund, amount="700.00", memo="管理费")
    entries = list(LedgerEntry.objects.filter(fund=money.fund).order_by("seq"))
    assert [e.kind for e in entries] == [Kind.DONATION_RECEIVED, Kind.DONATION_RECEIVED, Kind.COMMITMENT,
                                         Kind.TRANCHE_PAID, Kind.MANAGEMENT_FEE]
    return entries


def verify(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_ledger", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_fails(*args: str) -> str:
    """Run verify_ledger expecting a failure; what it wrote to stderr."""
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_ledger", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def raw(sql: str, *params: object) -> None:
    """Tamper with the database behind the models' back, as someone with database access could."""
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ledger=LedgerEntry._meta.db_table, balance=FundBalance._meta.db_table), params)


def test_verify_ledger_passes_on_a_clean_ledger(money):
    a_few_entries(money)

    out, err = verify()

    assert "money: 5 entries, chain and balances verified" in out
    assert "community: 1 entries, chain and balances verified" in out  # the cast's fund is checked too
    assert err == ""
    assert verify("--fund", "money")[0].strip() == "money: 5 entries, chain and balances verified"


def test_verify_ledger_refuses_an_unknown_fund():
    with pytest.raises(CommandError, match="nope"):
        verify("--fund", "nope")


@pytest.mark.parametrize(("column", "value", "says"), [
    ("amount", "50.00", "entry #2: its content does not match its hash"),
    ("memo", "改过的备注", "entry #2: its content does not match its hash"),
    ("available", "0.00", "entry #2: available is 0.00, recomputed 70000.00"),
    ("kind", Kind.REFUND_RECEIVED, "entry #2: its content does not match its hash"),
    ("kind", "gift", "entry #2"),  # not a kind at all
])
def test_verify_ledger_names_an_entry_edited_by_hand(money, column, value, says):
    entries = a_few_entries(money)

    raw(f"UPDATE {{ledger}} SET {column} = %s WHERE id = %s", value, entries[1].pk)
    problems = verify_fails("--fund", "money")

    assert "money: " in problems
    assert says in problems
    assert "entry #1" not in problems  # what came before the edit is still fine


def test_verify_ledger_sees_the_running_totals_change_after_an_amount_is_edited(money):
    entries = a_few_entries(money)

    raw("UPDATE {ledger} SET amount = %s WHERE id = %s", "50.00", entries[1].pk)

    problems = ledger_problems(money.fund)
    assert "entry #2: received_total is 70000.00, recomputed 50050.00" in problems
    assert "entry #2: its content does not match its hash (edited by hand?)" in problems


def test_verify_ledger_names_the_missing_entry_when_one_is_deleted(money):
    entries = a_few_entries(money)

    raw("DELETE FROM {ledger} WHERE id = %s", entries[2].pk)
    problems = verify_fails()

    assert "entry #4: expected number 3 (an entry is missing)" in problems
    assert "entry #4: does not follow the previous entry's hash" in problems
    assert "community:" not in problems  # the untouched fund still verifies


def test_verify_ledger_detects_the_last_entry_being_deleted(money):
    entries = a_few_entries(money)

    raw("DELETE FROM {ledger} WHERE id = %s", entries[-1].pk)
    problems = verify_fails("--fund", "money")

    assert "balance row: does not point at the last entry" in problems
    assert "balance row: fees_total is 700.00, recomputed 0.00" in problems


def test_verify_ledger_names_the_last_entry_when_it_is_deleted(money):
    """The balance row still points at entry #5 (last_seq, last_hash): the report should say #5 is gone."""
    entries = a_few_entries(money)

    raw("DELETE FROM {ledger} WHERE id = %s", entries[-1].pk)
    problems = verify_fails("--fund", "money")

    assert "#5" in problems, problems


def test_verify_ledger_detects_a_balance_row_out_of_step(money):
    a_few_entries(money)

    FundBalance.objects.filter(fund=money.fund).update(available=F("available") + Decimal("0.01"))
    problems = verify_fails("--fund", "money")

    assert "balance row: available is 39300.01, recomputed 39300.00" in problems


def test_verify_ledger_detects_a_balance_row_that_lost_its_place_in_the_chain(money):
    a_few_entries(money)

    raw("UPDATE {balance} SET last_seq = last_seq - 1 WHERE fund_id = %s", money.fund.pk)

    assert "balance row: does not point at the last entry" in verify_fails("--fund", "money")


# --- Statements ----------------------------------------------------------------------------------------------

def local(day: dt.date, *hms: int, microsecond: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(*hms, microsecond=microsecond), tzinfo=LOCAL)


FIRST_DAY = dt.date(2027, 3, 1)


def dated_ledger(money) -> list[LedgerEntry]:
    """Entries on days 1, 2, 2, 5 and 7 of the period (none on 3, 4, 6), at the edges of local days.

    Early-morning entries fall on the previous day in UTC, so a statement must cut days in local time.
    """
    cast = money.cast
    day = lambda n: FIRST_DAY + dt.timedelta(days=n - 1)  # noqa: E731
    first = money.at_approval("30000.00")
    second = money.at_approval("5000.00", category=money.children)
    with time_machine.travel(local(day(1), 0, 0, 0), tick=False):
        money.donate("80000.00")
    with time_machine.travel(local(day(2), 7, 30), tick=False):  # 23:30 UTC of day 1
        money.donate("20000.00", category=money.elder_care)
    with time_machine.travel(local(day(2), 23, 59, 59, microsecond=999999), tick=False):
        money.approve(first)
    with time_machine.travel(local(day(5), 0, 0, 0), tick=False):
        services.management_fee_charge(actor=cast.finance, fund=money.fund, amount="800.00", memo="管理费")
        money.approve(second)
    with time_machine.travel(local(day(7), 12, 0), tick=False):
        services.application_withdraw(actor=cast.applicant, application=second, reason="项目取消")
    return list(LedgerEntry.objects.filter(fund=money.fund).order_by("seq"))


def test_fund_statement_equals_a_recomputation_over_every_period(money):
    entries = dated_ledger(money)
    assert len(entries) == 7
    days = [FIRST_DAY + dt.timedelta(days=n) for n in range(-2, 10)]  # from before the first entry to after

    for start in days:
        for end in days[days.index(start):]:
            statement = fund_statement(money.fund, start=start, end=end)
            before = [e for e in entries if timezone.localtime(e.created_at).date() < start]
            within = [e for e in entries if start <= timezone.localtime(e.created_at).date() <= end]
            period = f"{start}..{end}"
            assert vars(statement.opening) == recompute(before), period
            assert vars(statement.closing) == recompute(before + within), period
            assert vars(statement.movements) == recompute(within), period
            assert list(ledger_entries(money.fund, start=start, end=end)) == within, period


def test_fund_statement_of_an_empty_period_and_of_one_before_the_first_entry(money):
    dated_ledger(money)

    before_anything = fund_statement(money.fund, start=dt.date(2027, 1, 1), end=dt.date(2027, 2, 28))
    quiet_days = fund_statement(money.fund, start=dt.date(2027, 3, 3), end=dt.date(2027, 3, 4))

    assert vars(before_anything.opening) == vars(before_anything.closing) == dict.fromkeys(TOTALS, ZERO)
    assert vars(quiet_days.movements) == dict.fromkeys(TOTALS, ZERO)
    assert quiet_days.opening.available == Decimal("70000.00")  # 80,000 + 20,000 - 30,000 committed


def test_fund_statement_cuts_days_at_local_midnight(money):
    dated_ledger(money)

    day_two = fund_statement(money.fund, start=dt.date(2027, 3, 2), end=dt.date(2027, 3, 2))
    day_five = fund_statement(money.fund, start=dt.date(2027, 3, 5), end=dt.date(2027, 3, 5))

    # 07:30 and 23:59:59.999999 on day 2 belong to day 2; 00:00:00 of day 5 belongs to day 5.
    assert day_two.movements.received_total == Decimal("20000.00")
    assert day_two.movements.committed_total == Decimal("30000.00")
    assert day_five.movements.fees_total == Decimal("800.00")
    assert day_five.movements.committed_total == Decimal("5000.00")
