"""The bank statement import through HTTP: upload, preview, confirm; all rows or none; finance only."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from grants.models import Donation, LedgerEntry
from grants.services import donation_record
from grants.services.imports import MAX_BYTES

from .conftest import HEADER_EN, csv_bytes, import_url, xlsx_bytes

ROWS = [
    ["2026-11-20", "1000.00", "李四", "BANK-0001", "捐赠", "", "", "否", "是"],
    ["2026-11-21", "2500.50", "贵州某商贸有限公司", "BANK-0002", "敬老专项", "敬老", "", "", ""],
]


def upload(client: Client, fund, content: bytes, name: str = "statement.csv"):
    return client.post(import_url(fund), {"file": SimpleUploadedFile(name, content)})


def confirm(client: Client, fund, digest: str):
    return client.post(import_url(fund, "statement_import_confirm"), {"digest": digest})


def bank_imports() -> list[tuple[str, Decimal, str | None]]:
    return list(Donation.objects.filter(source=Donation.Source.BANK_IMPORT).order_by("pk")
                .values_list("bank_reference", "amount", "receipt_number"))


@pytest.mark.parametrize(("name", "content"), [
    ("statement.csv", csv_bytes(ROWS, encoding="utf-8-sig")),
    ("statement.csv", csv_bytes(ROWS, encoding="gb18030")),
    ("statement.xlsx", xlsx_bytes([[dt.date(2026, 11, 20), 1000, "李四", "BANK-0001", "捐赠", None, None, "否", "是"],
                                   [dt.date(2026, 11, 21), 2500.5, "贵州某商贸有限公司", "BANK-0002", "敬老专项",
                                    "elder_care", None, None, None]])),
])
def test_finance_previews_then_confirms_and_every_row_is_posted(cast, finance_client, name, content):
    preview = upload(finance_client, cast.fund, content, name)

    assert preview.status_code == 200
    assert preview.context["preview"].is_importable
    assert bank_imports() == []  # the preview writes nothing
    digest = preview.context["confirm_form"].initial["digest"]

    done = confirm(finance_client, cast.fund, digest)

    assert done.status_code == 302 and done.url == import_url(cast.fund, "statement_imported")
    assert bank_imports() == [("BANK-0001", Decimal("1000.00"), "COMMUNITY-2026-000002"),
                              ("BANK-0002", Decimal("2500.50"), "COMMUNITY-2026-000003")]
    donations = Donation.objects.filter(source=Donation.Source.BANK_IMPORT)
    assert donations.get(bank_reference="BANK-0002").restricted_category == cast.elder_care
    assert sorted(LedgerEntry.objects.filter(donation__in=donations).values_list("kind", "amount")) == [
        (LedgerEntry.Kind.DONATION_RECEIVED, Decimal("1000.00")),
        (LedgerEntry.Kind.DONATION_RECEIVED, Decimal("2500.50"))]
    page = finance_client.get(done.url)
    assert page.status_code == 200
    assert "COMMUNITY-2026-000002" in page.content.decode() and "COMMUNITY-2026-000003" in page.content.decode()


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_line(cast, finance_client):
    content = csv_bytes([
        ["2026-11-20", "100.00", "甲", "R-2", ""],
        ["2026-11-20", "-5", "乙", "R-3", ""],
        ["not a date", "100.00", "丙", "R-4", ""],
        ["2026-11-20", "100.00", "丁", "R-2", ""],
        ["2026-11-20", "12.345", "戊", "", ""],
    ], header=HEADER_EN[:5])

    response = upload(finance_client, cast.fund, content)

    assert response.status_code == 400
    assert response.context["confirm_form"] is None
    assert response.context["preview"].error_lines == [3, 4, 5, 6]
    listed = re.findall(r"Line (\d+),", response.content.decode())
    assert listed == ["3", "4", "5", "6", "6"]  # line 6: three decimals and no bank reference
    assert "bank_statement_import" not in finance_client.session  # nothing waits for confirmation
    assert bank_imports() == []


def test_confirming_without_a_checked_file_imports_nothing(cast, finance_client):
    response = confirm(finance_client, cast.fund, "0" * 64)
    assert response.status_code == 409
    assert bank_imports() == []


def test_a_confirmation_cannot_name_another_file_than_the_one_checked(cast, finance_client):
    upload(finance_client, cast.fund, csv_bytes(ROWS))
    response = confirm(finance_client, cast.fund, "f" * 64)
    assert response.status_code == 409
    assert bank_imports() == []


def test_a_second_confirmation_of_the_same_file_imports_nothing_more(cast, finance_client):
    digest = upload(finance_client, cast.fund, csv_bytes(ROWS)).context["confirm_form"].initial["digest"]
    assert confirm(finance_client, cast.fund, digest).status_code == 302

    again = confirm(finance_client, cast.fund, digest)

    assert again.status_code == 409
    assert len(bank_imports()) == 2


def test_a_reference_recorded_between_preview_and_confirmation_stops_everything(cast, finance_client):
    digest = upload(finance_client, cast.fund, csv_bytes(ROWS)).context["confirm_form"].initial["digest"]
    donation_record(actor=cast.finance, fund=cast.fund, amount="1.00", bank_reference="BANK-0002",
                    received_on=dt.date(2026, 11, 30))

    response = confirm(finance_client, cast.fund, digest)

    assert response.status_code == 409
    assert response.context["preview"].error_lines == [3]
    assert bank_imports() == []


def test_what_the_file_says_is_shown_escaped(cast, finance_client):
    content = csv_bytes([["2026-11-20", "1.00", "<script>alert(1)</script>", "R-1", ""]], header=HEADER_EN[:5])
    page = upload(finance_client, cast.fund, content, "<b>statement</b>.csv").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>statement</b>" not in page


def test_an_unreadable_file_is_refused_on_the_form(cast, finance_client):
    response = upload(finance_client, cast.fund, "日期,金额\n2026-11-20,1\n".encode(), "statement.csv")
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert bank_imports() == []


def test_an_oversized_upload_is_refused_before_it_is_read(cast, finance_client):
    response = upload(finance_client, cast.fund, b"0" * (MAX_BYTES + 1), "statement.csv")
    assert response.status_code == 400
    assert response.context["form"].errors["file"]


@pytest.mark.parametrize("person", ["secretary_general", "programme_officer", "auditor", "board_member",
                                    "street_reviewer", "applicant", "outsider"])
def test_nobody_but_finance_may_import(cast, person):
    client = Client()
    client.force_login(getattr(cast, person))

    assert client.get(import_url(cast.fund)).status_code == 403
    assert upload(client, cast.fund, csv_bytes(ROWS)).status_code == 403
    assert confirm(client, cast.fund, "0" * 64).status_code == 403
    assert client.get(import_url(cast.fund, "statement_imported")).status_code == 403
    assert client.get("/donations/import/").status_code == 403
    assert bank_imports() == []


def test_finance_of_another_foundation_may_not_import_into_this_fund(cast):
    from grants.models import Role
    from tests.factories import FoundationFactory, UserFactory

    other = UserFactory(username="other_finance", roles=[(Role.FINANCE, FoundationFactory())])
    client = Client()
    client.force_login(other)
    assert upload(client, cast.fund, csv_bytes(ROWS)).status_code == 403
    assert bank_imports() == []


def test_people_not_logged_in_are_sent_to_log_in(cast):
    response = Client().post(import_url(cast.fund), {"file": SimpleUploadedFile("s.csv", csv_bytes(ROWS))})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert bank_imports() == []


def test_finance_of_one_fund_goes_straight_to_it(cast, finance_client):
    response = finance_client.get("/donations/import/")
    assert response.status_code == 302 and response.url == import_url(cast.fund)
    assert finance_client.get(response.url).status_code == 200
