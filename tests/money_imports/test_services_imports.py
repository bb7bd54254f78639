"""Reading and checking a bank statement (grants.services.imports), then importing it: all rows or none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from grants.errors import ActionForbidden, ApplicationConflict, ApplicationError
from grants.models import Donation, FundBalance, LedgerEntry
from grants.selectors import ledger_problems
from grants.services import donation_record, imports
from grants.services.imports import (
    MAX_BYTES,
    MAX_ROWS,
    bank_statement_import,
    bank_statement_parse,
    parse_amount,
)
from tests.factories import CommunityFactory, StreetOfficeFactory

from .conftest import HEADER_EN, HEADER_ZH, csv_bytes, xlsx_bytes

GOOD_ROWS = [
    ["2026-11-20", "1000.00", "李四", "BANK-0001", "捐赠", "", "", "否", "是"],
    ["2026/11/21", "2,500.50", "贵州某商贸有限公司", "BANK-0002", "敬老专项", "elder_care", "", "", ""],
    ["2026年11月22日", "88", "", "BANK-0003", "", "扶小", "宇虹社区", "是", "否"],
]


def parse(cast, content: bytes, filename: str = "statement.csv"):
    return bank_statement_parse(fund=cast.fund, filename=filename, content=content)


def errors_by_line(preview) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for error in preview.errors:
        found.setdefault(error.line, set()).add(error.column)
    return found


# --- Reading ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gb18030_reads_the_same(cast, encoding):
    preview = parse(cast, csv_bytes(GOOD_ROWS, encoding=encoding))

    assert preview.is_importable, preview.errors
    assert [(row.line, row.received_on, row.amount, row.payer, row.bank_reference) for row in preview.rows] == [
        (2, dt.date(2026, 11, 20), Decimal("1000.00"), "李四", "BANK-0001"),
        (3, dt.date(2026, 11, 21), Decimal("2500.50"), "贵州某商贸有限公司", "BANK-0002"),
        (4, dt.date(2026, 11, 22), Decimal("88.00"), "", "BANK-0003"),
    ]
    first, second, third = preview.rows
    assert (first.is_anonymous, first.public_acknowledgement) == (False, True)
    assert second.restricted_category == cast.elder_care and second.restricted_community is None
    assert third.restricted_category == cast.children and third.restricted_community == cast.a1
    assert third.is_anonymous
    assert preview.total == Decimal("3588.50")


def test_xlsx_with_date_and_number_cells_and_english_headers(cast):
    content = xlsx_bytes([
        [dt.date(2026, 11, 20), 1000, "李四", "BANK-0001", "捐赠", None, None, "no", "yes"],
        [dt.datetime(2026, 11, 21, 15, 30), 2500.5, "王五", 20261121000123, "", "elder_care", None, False, None],
        # A formula's binary fraction: 0.1 + 0.2 is 0.30000000000000004 in the cell.
        ["2026-11-22", 0.1 + 0.2, "赵六", "BANK-0003", "", None, "阅湖社区", True, False],
    ], header=HEADER_EN)

    preview = parse(cast, content, "statement.xlsx")

    assert preview.is_importable, preview.errors
    assert [(row.line, row.received_on, row.amount, row.bank_reference) for row in preview.rows] == [
        (2, dt.date(2026, 11, 20), Decimal("1000.00"), "BANK-0001"),
        (3, dt.date(2026, 11, 21), Decimal("2500.50"), "20261121000123"),
        (4, dt.date(2026, 11, 22), Decimal("0.30"), "BANK-0003"),
    ]
    assert preview.rows[2].restricted_community == cast.a2
    assert preview.rows[2].is_anonymous and not preview.rows[0].is_anonymous


def test_line_numbers_are_the_spreadsheets_own_blank_lines_included(cast):
    content = xlsx_bytes([
        ["2026-11-20", "10", "甲", "R1", ""],
        [],
        ["2026-11-20", "abc", "乙", "R2", ""],
    ], header=HEADER_EN[:5])

    preview = parse(cast, content, "statement.xlsx")

    assert [row.line for row in preview.rows] == [2, 4]
    assert errors_by_line(preview) == {4: {"amount"}}


def test_extra_bank_columns_are_ignored_and_optional_columns_may_be_absent(cast):
    content = csv_bytes([["余额 9,999.00", "2026-11-20", "10.00", "甲", "R1", "附言"]],
                        header=["余额", "日期", "金额", "付款人", "银行流水号", "附言"])

    preview = parse(cast, content)

    assert preview.is_importable
    assert preview.rows[0].amount == Decimal("10.00")
    assert preview.columns == ["date", "amount", "payer", "bank_reference", "memo"]


# --- Checking every row -------------------------------------------------------------------------------------


def test_every_bad_row_is_reported_with_its_line_number_and_every_problem(cast):
    rows = [
        ["2026-11-20", "100.00", "好行", "OK-1", "", "", "", "", ""],  # line 2: good
        ["2026-13-01", "100.00", "甲", "E-3", "", "", "", "", ""],  # line 3: no such month
        ["2026-11-20", "-50.00", "乙", "E-4", "", "", "", "", ""],  # line 4: negative
        ["2026-11-20", "abc", "丙", "E-5", "", "", "", "", ""],  # line 5: not a number
        ["2026-11-20", "", "丁", "E-6", "", "", "", "", ""],  # line 6: empty amount
        ["2026-11-20", "10.005", "戊", "E-7", "", "", "", "", ""],  # line 7: three decimals
        ["2026-11-20", "0", "己", "", "", "", "", "", ""],  # line 8: zero and no reference
        ["20/11/2026", "10", "庚", "E-9", "", "敬老院", "不存在社区", "也许", ""],  # line 9: four problems
        ["2026-12-02", "10", "辛", "E-10", "", "", "", "是", "是"],  # line 10: future, anonymous and thanked
        ["2026-11-20", "100.00", "好行", "OK-11", "", "", "", "", ""],  # line 11: good
    ]

    preview = parse(cast, csv_bytes(rows))

    assert not preview.is_importable
    assert errors_by_line(preview) == {
        3: {"date"}, 4: {"amount"}, 5: {"amount"}, 6: {"amount"}, 7: {"amount"},
        8: {"amount", "bank_reference"},
        9: {"date", "restricted_category", "restricted_community", "anonymous"},
        10: {"date", "public_acknowledgement"},
    }
    assert preview.error_lines == [3, 4, 5, 6, 7, 8, 9, 10]
    assert all(error.message for error in preview.errors)


def test_bank_reference_twice_in_the_file_names_the_first_line(cast):
    rows = [["2026-11-20", "10", "甲", "DUP-1", ""], ["2026-11-20", "20", "乙", "OTHER", ""],
            ["2026-11-21", "30", "丙", "DUP-1", ""]]

    with translation.override("en"):
        preview = parse(cast, csv_bytes(rows, header=HEADER_EN[:5]))

    assert errors_by_line(preview) == {4: {"bank_reference"}}
    assert "line 2" in preview.errors[0].message


def test_bank_reference_already_recorded_for_the_fund_is_refused(cast):
    donation_record(actor=cast.finance, fund=cast.fund, amount="10.00", bank_reference="BANK-0002",
                    received_on=dt.date(2026, 11, 1))

    preview = parse(cast, csv_bytes(GOOD_ROWS))

    assert errors_by_line(preview) == {3: {"bank_reference"}}


def test_a_community_name_two_street_offices_share_must_name_its_street_office(cast):
    other_street = StreetOfficeFactory(name="长岭街道")
    twin = CommunityFactory(street_office=other_street, name="宇虹社区")
    rows = [["2026-11-20", "10", "甲", "R1", "", "", "宇虹社区"],
            ["2026-11-20", "10", "乙", "R2", "", "", "长岭街道/宇虹社区"]]

    preview = parse(cast, csv_bytes(rows, header=HEADER_ZH[:7]))

    assert errors_by_line(preview) == {2: {"restricted_community"}}
    assert "长岭街道/宇虹社区" in preview.errors[0].message or "云潭街道/宇虹社区" in preview.errors[0].message
    assert preview.rows[1].restricted_community == twin


@given(cents=st.integers(min_value=1, max_value=10**14 - 1))
def test_any_positive_amount_in_fen_is_read_exactly(cents):
    amount = Decimal(cents) / 100
    assert parse_amount(f"{amount:.2f}") == amount
    assert parse_amount(f"{amount:,.2f}") == amount


@given(value=st.decimals(allow_nan=False, allow_infinity=False, places=3)
       .filter(lambda d: d <= 0 or d > 10**12 or d != d.quantize(Decimal("0.01"))))
def test_no_amount_not_above_zero_too_large_or_with_fractions_of_a_fen_is_accepted(value):
    with pytest.raises(ValueError):
        parse_amount(str(value))


@pytest.mark.parametrize("value", ["1e30", 1e30, 10**40, "99999999999999999999999999.995", "NaN", float("inf"), True])
def test_absurd_amounts_are_refused_not_crashed_on(value):
    with pytest.raises(ValueError):
        parse_amount(value)


# --- Refusing the whole file --------------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "content", "code"), [
    ("statement.csv", b"", "empty_file"),
    ("statement.csv", "日期,金额\n".encode(), "invalid_header"),
    ("statement.csv", "日期,金额,付款人,银行流水号,附言\n".encode(), "empty_file"),
    ("statement.csv", "日期,金额,付款人,银行流水号,附言,date\n".encode(), "invalid_header"),
    ("statement.csv", "日期,金额".encode("utf-16"), "unsupported_encoding"),
    ("statement.xlsx", b"not a zip file", "unreadable_file"),
    ("statement.xls", b"\xd0\xcf\x11\xe0", "unsupported_format"),
    ("statement.pdf", b"%PDF-1.4", "unsupported_format"),
])
def test_files_that_cannot_be_read_are_refused_as_a_whole(cast, filename, content, code):
    with pytest.raises(ApplicationError) as refused:
        parse(cast, content, filename)
    assert refused.value.code == code and refused.value.field == "file" and refused.value.message


def test_too_large_a_file_is_refused(cast):
    with pytest.raises(ApplicationError) as refused:
        parse(cast, b"x" * (MAX_BYTES + 1))
    assert refused.value.code == "file_too_large"


def test_too_many_rows_are_refused(cast):
    rows = [["2026-11-20", "1", "甲", f"R{n}", ""] for n in range(MAX_ROWS + 1)]
    with pytest.raises(ApplicationError) as refused:
        parse(cast, csv_bytes(rows, header=HEADER_EN[:5]))
    assert refused.value.code == "too_many_rows"


# --- Importing ----------------------------------------------------------------------------------------------


def test_import_records_each_row_as_a_received_donation_with_receipt_and_ledger_entry(cast):
    received_before = FundBalance.objects.get(fund=cast.fund).received_total
    preview = parse(cast, csv_bytes(GOOD_ROWS))

    donations = bank_statement_import(actor=cast.finance, fund=cast.fund, preview=preview)

    assert [(d.receipt_number, d.amount, d.bank_reference, d.received_on, d.status, d.source) for d in donations] == [
        ("COMMUNITY-2026-000002", Decimal("1000.00"), "BANK-0001", dt.date(2026, 11, 20), "received", "bank_import"),
        ("COMMUNITY-2026-000003", Decimal("2500.50"), "BANK-0002", dt.date(2026, 11, 21), "received", "bank_import"),
        ("COMMUNITY-2026-000004", Decimal("88.00"), "BANK-0003", dt.date(2026, 11, 22), "received", "bank_import"),
    ]
    assert [d.recorded_by for d in donations] == [cast.finance] * 3
    assert donations[2].restricted_category == cast.children and donations[2].restricted_community == cast.a1
    entries = LedgerEntry.objects.filter(donation__in=donations).order_by("seq")
    assert [(e.kind, e.amount, e.donation_id, e.actor_id) for e in entries] == [
        (LedgerEntry.Kind.DONATION_RECEIVED, d.amount, d.pk, cast.finance.pk) for d in donations]
    assert FundBalance.objects.get(fund=cast.fund).received_total == received_before + Decimal("3588.50")
    assert ledger_problems(cast.fund) == []


def test_a_failure_on_the_last_row_imports_nothing(cast, monkeypatch):
    preview = parse(cast, csv_bytes(GOOD_ROWS))
    donations_before, entries_before = Donation.objects.count(), LedgerEntry.objects.count()
    real_record = imports.donation_record
    calls = []

    def failing_on_third(**kwargs):
        calls.append(kwargs["bank_reference"])
        if len(calls) == 3:
            raise ApplicationError("The bank refused.", code="simulated")
        return real_record(**kwargs)

    monkeypatch.setattr(imports, "donation_record", failing_on_third)
    with pytest.raises(ApplicationError) as refused:
        bank_statement_import(actor=cast.finance, fund=cast.fund, preview=preview)

    assert "4" in refused.value.message  # the line of the third row
    assert len(calls) == 3
    assert (Donation.objects.count(), LedgerEntry.objects.count()) == (donations_before, entries_before)
    assert ledger_problems(cast.fund) == []


def test_a_reference_recorded_after_the_preview_stops_the_whole_import(cast):
    preview = parse(cast, csv_bytes(GOOD_ROWS))
    donation_record(actor=cast.finance, fund=cast.fund, amount="5.00", bank_reference="BANK-0003",
                    received_on=dt.date(2026, 11, 30))
    donations_before = Donation.objects.count()

    with pytest.raises(ApplicationConflict) as refused:
        bank_statement_import(actor=cast.finance, fund=cast.fund, preview=preview)

    assert refused.value.code == "duplicate_bank_reference" and "4" in refused.value.message
    assert Donation.objects.count() == donations_before


def test_a_preview_with_errors_cannot_be_imported(cast):
    preview = parse(cast, csv_bytes([*GOOD_ROWS, ["2026-11-20", "-1", "甲", "BANK-9", "", "", "", "", ""]]))
    with pytest.raises(ApplicationError) as refused:
        bank_statement_import(actor=cast.finance, fund=cast.fund, preview=preview)
    assert refused.value.code == "import_has_errors" and "5" in refused.value.message
    assert not Donation.objects.filter(source=Donation.Source.BANK_IMPORT).exists()


@pytest.mark.parametrize("person", ["secretary_general", "auditor", "programme_officer", "applicant", "outsider"])
def test_only_finance_may_import(cast, person):
    preview = parse(cast, csv_bytes(GOOD_ROWS))
    with pytest.raises(ActionForbidden):
        bank_statement_import(actor=getattr(cast, person), fund=cast.fund, preview=preview)
    assert not Donation.objects.filter(source=Donation.Source.BANK_IMPORT).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_sharing_a_reference_at_the_same_moment_record_one_file_only(cast):
    import threading

    from django.db import connection

    first = parse(cast, csv_bytes(GOOD_ROWS))
    second = parse(cast, csv_bytes([["2026-11-25", "7.00", "钱七", "BANK-0002", "", "", "", "", ""],
                                    ["2026-11-25", "8.00", "孙八", "BANK-0099", "", "", "", "", ""]]))
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def run(preview) -> None:
        try:
            start.wait()
            outcomes.append(len(bank_statement_import(actor=cast.finance, fund=cast.fund, preview=preview)))
        except Exception as exc:  # reported by the assertion below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(preview,)) for preview in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], ApplicationConflict), outcomes
    recorded = set(Donation.objects.filter(source=Donation.Source.BANK_IMPORT).values_list("bank_reference", flat=True))
    assert recorded in ({"BANK-0001", "BANK-0002", "BANK-0003"}, {"BANK-0002", "BANK-0099"})
    assert ledger_problems(cast.fund) == []
