"""Fixtures of the bank statement import and the donation platform webhook.

Everything runs on 1 December 2026, 10:00 in Shanghai (time_machine, ticking), so statement dates of
November 2026 are in the past and receipt numbers are COMMUNITY-2026-...: the cast's founding gift
(tests/conftest.py) took COMMUNITY-2026-000001, so the first imported or reported gift gets ...-000002.
Only `cast.finance` may import statements; every other member of the cast gets 403.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from grants.models import DonationPlatform
from grants.services.webhooks import platform_signature

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HEADER_ZH = ["日期", "金额", "付款人", "银行流水号", "附言", "限定类别", "限定社区", "匿名", "公开致谢"]
HEADER_EN = ["date", "amount", "payer", "bank_reference", "memo", "restricted_category", "restricted_community",
             "anonymous", "public_acknowledgement"]
SECRET = "tests-only-shared-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _december_2026():
    with time_machine.travel(NOW, tick=True):
        yield


def csv_bytes(rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER_ZH, encoding: str = "utf-8") -> bytes:
    """A CSV statement as a bank exports it (`utf-8-sig` adds the BOM Excel writes)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER_ZH) -> bytes:
    """An XLSX statement made with openpyxl: dates as date cells, amounts as number cells when given so."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def finance_client(cast) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(cast.finance)
    return client


def import_url(fund, step: str = "statement_import") -> str:
    return reverse(f"donations:{step}", kwargs={"fund_code": fund.code})


@pytest.fixture
def platform(cast) -> DonationPlatform:
    return DonationPlatform.objects.create(fund=cast.fund, code="gongyi", name="公益平台", secret=SECRET)


def gift(**overrides: Any) -> dict[str, Any]:
    """The body of a platform's report of one gift (to the cast's fund, paid an hour ago)."""
    return {"donation_id": "GY-20261201-0001", "amount": "100.00", "currency": "CNY", "donor_name": "张三",
            "anonymous": False, "public_acknowledgement": True, "restricted_category": None,
            "restricted_community": None, "purpose": "支持社区敬老", "paid_at": "2026-12-01T09:00:00+08:00",
            "fund": "community", **overrides}


Deliver = Callable[..., Any]


@pytest.fixture
def deliver(platform) -> Deliver:
    """POST a signed delivery as the platform would; keyword arguments break one part of it on purpose."""
    client = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})

    def send(payload: dict[str, Any] | None = None, *, body: bytes | None = None, timestamp: str | None = None,
             secret: str = SECRET, signature: str | None = None, code: str | None = None):
        if body is None:
            body = json.dumps(payload if payload is not None else gift(), ensure_ascii=False).encode()
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        if signature is None:
            signature = platform_signature(secret=secret, timestamp=timestamp, body=body)
        return client.post(reverse("donations:platform_webhook", kwargs={"platform_code": code or platform.code}),
                           data=body, content_type="application/json", HTTP_X_SIGNATURE=signature,
                           HTTP_X_TIMESTAMP=timestamp)

    return send
