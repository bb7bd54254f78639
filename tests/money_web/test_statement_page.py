"""The fund statement page and its XLSX export show exactly what the selectors compute, at a fixed cost."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from grants.exports import statement_lines
from grants.models import LedgerEntry, Tranche
from grants.selectors import (
    fund_statement,
    ledger_entries,
    totals_by_category,
    totals_by_community,
    yearly_indicators,
)
from grants.services import donation_record, management_fee_charge, tranche_pay

pytestmark = pytest.mark.django_db

# Session, user, roles, fund, statement, yearly indicators, series, two totals, the page's count and rows,
# the navigation's inbox and queue counts, and the bell's unread count.
STATEMENT_QUERIES = 14


def zh(text: str) -> str:
    """`text` as the page shows it: pages are in Simplified Chinese by default."""
    with translation.override("zh-hans"):
        return gettext(text)


def money(value: Decimal) -> str:
    """A figure as the page prints it in the default language."""
    return floatformat(value, "2g")


@pytest.fixture
def busy_fund(cast, grant_in_progress, today):
    """Donations, a commitment, a payment and a management fee, all today."""
    donation_record(actor=cast.finance, fund=cast.fund, amount="2500.00", donor_name="孙丽华",
                    public_acknowledgement=True, received_on=today, bank_reference="ICBC-2026-000201")
    tranche = grant_in_progress.tranches.get(status=Tranche.Status.PAYABLE)
    tranche_pay(actor=cast.finance, tranche=tranche, bank_reference="ICBC-2026-000202")
    management_fee_charge(actor=cast.finance, fund=cast.fund, amount="1500.00", memo="管理费")
    return cast.fund


def test_the_statement_shows_the_selectors_figures(client, cast, busy_fund, today):
    client.force_login(cast.programme_officer)
    period = {"start": today.replace(month=1, day=1).isoformat(), "end": today.isoformat()}

    response = client.get(f"/money/funds/{busy_fund.pk}/statement/", period)

    assert response.status_code == 200
    statement = fund_statement(busy_fund, start=today.replace(month=1, day=1), end=today)
    assert response.context["statement"] == statement
    html = response.content.decode()
    for _label, opening, moved, closing in statement_lines(statement):
        for value in (opening, moved, closing):
            assert money(value) in html
    assert statement.closing.available == statement.closing.received_total - Decimal("1500.00") - Decimal(
        "40000.00")
    assert statement.movements.paid_total == Decimal("20000.00")
    totals = dict(response.context["totals"])
    assert list(totals.values()) == [totals_by_community(busy_fund), totals_by_category(busy_fund)]
    assert response.context["indicators"] == yearly_indicators(busy_fund.foundation_id, today.year)
    assert [row.percent for row in response.context["indicator_rows"]][1] == (
        yearly_indicators(busy_fund.foundation_id, today.year).management_ratio * 100)
    entries = list(ledger_entries(busy_fund, start=today, end=today))
    assert [entry.seq for entry in response.context["page"].object_list] == [entry.seq for entry in entries]


def test_the_chart_is_an_inline_svg_with_a_legend_and_no_script(client, cast, busy_fund):
    client.force_login(cast.finance)

    html = client.get(f"/money/funds/{busy_fund.pk}/statement/").content.decode()

    assert "<svg" in html and "<script" not in html
    for label in ("Donations received to date", "Committed to date", "Paid to date", "Available"):
        assert f">{zh(label)}</text>" in html
    assert f">{zh('yuan')}</text>" in html


def test_a_period_that_ends_before_it_starts_is_refused(client, cast):
    client.force_login(cast.finance)

    response = client.get(f"/money/funds/{cast.fund.pk}/statement/", {"start": "2026-05-01", "end": "2026-04-01"})

    assert response.status_code == 400
    assert zh("The period cannot end before it starts.") in response.content.decode()


def test_the_xlsx_export_opens_and_its_totals_match_the_statement(client, cast, busy_fund, today):
    client.force_login(cast.auditor)

    response = client.get(f"/money/funds/{busy_fund.pk}/statement.xlsx",
                          {"start": today.isoformat(), "end": today.isoformat()})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    summary, ledger = book.worksheets
    statement = fund_statement(busy_fund, start=today, end=today)
    rows = [row for row in summary.iter_rows(min_row=5, values_only=True)]
    assert [(label, Decimal(str(a)), Decimal(str(b)), Decimal(str(c))) for label, a, b, c in rows] == [
        (label, *map(Decimal, (opening, moved, closing)))
        for label, opening, moved, closing in statement_lines(statement)]
    entries = list(ledger.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in entries] == list(
        LedgerEntry.objects.filter(fund=busy_fund).order_by("seq").values_list("seq", flat=True))
    by_kind: dict[str, Decimal] = {}
    for _seq, _time, kind, amount, *_rest in entries:
        by_kind[kind] = by_kind.get(kind, Decimal(0)) + Decimal(str(amount))
    assert by_kind[str(LedgerEntry.Kind.DONATION_RECEIVED.label)] == statement.movements.received_total
    assert by_kind[str(LedgerEntry.Kind.TRANCHE_PAID.label)] == statement.movements.paid_total
    assert by_kind[str(LedgerEntry.Kind.MANAGEMENT_FEE.label)] == statement.movements.fees_total
    assert Decimal(str(entries[-1][-1])) == statement.closing.available


def _add_entries(cast, today, count: int, *, first: int = 0) -> None:
    for number in range(first, first + count):
        donation_record(actor=cast.finance, fund=cast.fund, amount=f"{100 + number}.00", donor_name="某人",
                        received_on=today, bank_reference=f"QC-{number}")


@pytest.mark.parametrize("count", [3, 30])
def test_the_statement_page_costs_a_fixed_number_of_queries(client, cast, today, count,
                                                            django_assert_max_num_queries):
    _add_entries(cast, today, count)
    client.force_login(cast.finance)

    with django_assert_max_num_queries(STATEMENT_QUERIES):
        response = client.get(f"/money/funds/{cast.fund.pk}/statement/")

    assert response.status_code == 200
    assert response.context["page"].paginator.count == count + 1  # and the fixture's founding gift


def test_thirty_entries_cost_as_many_queries_as_three(client, cast, today):
    client.force_login(cast.finance)
    url = f"/money/funds/{cast.fund.pk}/statement/"

    def queries() -> int:
        client.get(url)  # warm the session and caches alike for both counts
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return len(captured)

    _add_entries(cast, today, 3)
    few = queries()
    _add_entries(cast, today, 27, first=3)
    assert queries() == few
