"""Tranche pages: finance pays payable tranches with a bank reference; an approver who is finance may not."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from grants.models import LedgerEntry, Tranche
from grants.selectors import application_money, fund_balance
from grants.states import State
from tests.helpers import advance

from .conftest import pay_url

pytestmark = pytest.mark.django_db


def zh(text: str) -> str:
    """`text` as the page shows it: pages are in Simplified Chinese by default."""
    with translation.override("zh-hans"):
        return gettext(text)


def test_finance_pays_a_payable_tranche_through_the_page(client, cast, urls, grant_in_progress):
    tranche = grant_in_progress.tranches.get(status=Tranche.Status.PAYABLE)
    client.force_login(cast.finance)
    listed = client.get(urls["tranches"]).content.decode()
    assert grant_in_progress.title in listed and pay_url(tranche) in listed

    response = client.post(pay_url(tranche), {"bank_reference": "ICBC-2026-000123"})

    assert response.status_code == 302 and response.url == urls["tranches"]
    tranche.refresh_from_db()
    assert (tranche.status, tranche.bank_reference, tranche.paid_by) == ("paid", "ICBC-2026-000123", cast.finance)
    entry = LedgerEntry.objects.get(tranche=tranche)
    assert (entry.kind, entry.amount) == (LedgerEntry.Kind.TRANCHE_PAID, Decimal("20000.00"))
    after = client.get(urls["tranches"]).content.decode()
    assert "ICBC-2026-000123" in after and pay_url(tranche) not in after


def test_a_missing_bank_reference_is_asked_for(client, cast, grant_in_progress):
    tranche = grant_in_progress.tranches.get(status=Tranche.Status.PAYABLE)
    client.force_login(cast.finance)

    response = client.post(pay_url(tranche), {"bank_reference": "  "})

    assert response.status_code == 400
    tranche.refresh_from_db()
    assert tranche.status == Tranche.Status.PAYABLE


def test_finance_who_signed_the_approval_is_refused_with_the_reason(client, cast, dual, make_application):
    application = make_application(requested_amount=Decimal("30000.00"))
    advance(application, State.IN_PROGRESS, cast, actors={State.APPROVAL: dual.secretary_finance})
    tranche = application.tranches.get(status=Tranche.Status.PAYABLE)
    client.force_login(dual.secretary_finance)

    response = client.post(pay_url(tranche), {"bank_reference": "ICBC-2026-000124"})

    assert response.status_code == 403
    assert escape(zh("You signed this application's approval and may not also pay it.")) in response.content.decode()
    tranche.refresh_from_db()
    assert tranche.status == Tranche.Status.PAYABLE and tranche.bank_reference is None
    assert not LedgerEntry.objects.filter(tranche=tranche).exists()


def test_the_auditor_sees_payable_tranches_but_cannot_pay(client, cast, urls, grant_in_progress):
    tranche = grant_in_progress.tranches.get(status=Tranche.Status.PAYABLE)
    client.force_login(cast.auditor)

    listed = client.get(urls["tranches"])
    assert listed.status_code == 200 and grant_in_progress.title in listed.content.decode()
    assert pay_url(tranche) not in listed.content.decode()
    assert client.post(pay_url(tranche), {"bank_reference": "ICBC-2026-000125"}).status_code == 403
    tranche.refresh_from_db()
    assert tranche.status == Tranche.Status.PAYABLE


def test_finance_records_a_refund_and_a_management_fee_through_the_pages(client, cast, urls, grant_in_progress):
    tranche = grant_in_progress.tranches.get(status=Tranche.Status.PAYABLE)
    client.force_login(cast.finance)
    client.post(pay_url(tranche), {"bank_reference": "ICBC-2026-000126"})
    available = fund_balance(cast.fund).available

    too_much = client.post(urls["refund"], {"application": grant_in_progress.pk, "amount": "20000.01",
                                            "memo": "结余退回"})
    refund = client.post(urls["refund"], {"application": grant_in_progress.pk, "amount": "320.00",
                                          "memo": "结余退回"})
    fee = client.post(urls["fee"], {"amount": "1000.00", "memo": "2026年管理费"})

    assert too_much.status_code == 400
    assert refund.status_code == 302 and fee.status_code == 302
    assert application_money(grant_in_progress)["returned"] == Decimal("320.00")
    assert fund_balance(cast.fund).available == available + Decimal("320.00") - Decimal("1000.00")
