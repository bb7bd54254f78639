"""Steps of the reporting tests as people take them on the pages, and what the tests read back."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from grants import services
from grants.models import GrantApplication, Tranche
from tests.web import conftest as web


def act(client: Client, application: GrantApplication, action: str, **data: Any) -> Any:
    """Take an action on the application page and expect its success (not a trip to the login page)."""
    response = web.act(client, application, action, **data)
    assert not response["Location"].startswith(reverse("login")), "the session ran out"
    return response


def tranches(application: GrantApplication) -> list[tuple[int, str, Decimal]]:
    """(number, status, amount) of each tranche of the grant."""
    return list(application.tranches.order_by("number").values_list("number", "status", "amount"))


def payable(application: GrantApplication) -> list[int]:
    """The numbers of the tranches finance may pay now."""
    return list(application.tranches.filter(status=Tranche.Status.PAYABLE).order_by("number")
                .values_list("number", flat=True))


def pay(client: Client, application: GrantApplication, number: int) -> Any:
    """Finance pays one tranche on the tranche page with a bank reference (the response, paid or refused)."""
    tranche = application.tranches.get(number=number)
    return client.post(reverse("money:tranche_pay", args=[application.fund_id, tranche.pk]),
                       {"bank_reference": f"ICBC-{application.pk}-{number}"})


def paid(client: Client, application: GrantApplication, number: int) -> None:
    """Finance pays one tranche on the tranche page, and it is paid."""
    response = pay(client, application, number)
    assert response.status_code == 302, (response.status_code, web.refusal(response))
    assert response["Location"] == reverse("money:tranches", args=[application.fund_id])
    assert application.tranches.get(number=number).status == Tranche.Status.PAID


def report_url(application: GrantApplication) -> str:
    return reverse("completion_report_edit", args=[application.pk])


def extension_url(application: GrantApplication) -> str:
    return reverse("deadline_extension", args=[application.pk])


def detail_url(application: GrantApplication) -> str:
    return reverse("application_detail", args=[application.pk])


def completion_data(application: GrantApplication, spent: Mapping[str, Decimal | str],
                    explanations: Mapping[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    """The POST of the completion report page: the texts, 126 older people served, and spending per line
    (`spent` and `explanations` by the line's description)."""
    data: dict[str, Any] = {
        "outcomes": "按计划完成助餐和探访服务", "activities_held": "12", "activities": "每周两次助餐，每月一次探访",
        "public_summary": "为126位老人提供助餐和探访服务", "private_notes": "王阿姨（独居）需要继续关注",
        "served_elderly": "126",
    }
    for line in application.budget_lines.all():
        data[f"spending_{line.pk}"] = str(spent[line.description])
        data[f"explanation_{line.pk}"] = (explanations or {}).get(line.description, "")
    data.update(fields)
    return data


def write_report(client: Client, application: GrantApplication, spent: Mapping[str, Decimal | str],
                 explanations: Mapping[str, str] | None = None, **fields: Any) -> Any:
    """The applicant saves the completion report on its page and expects to be sent back to the application."""
    response = client.post(report_url(application), completion_data(application, spent, explanations, **fields))
    assert response.status_code == 302, (response.status_code, web.refusal(response))
    assert response["Location"] == detail_url(application) + "#reports"
    return response


def attach_completion_documents(client: Client, application: GrantApplication) -> None:
    """The applicant adds each document the fund requires with the completion report on the application page."""
    for kind in application.fund.completion_documents:
        upload = SimpleUploadedFile(f"{kind}.pdf", b"%PDF-1.4 " + kind.encode(), content_type="application/pdf")
        response = client.post(reverse("attachment_upload", args=[application.pk]), {"kind": kind, "file": upload})
        assert response.status_code == 302, web.refusal(response)


def through_midterm(application: GrantApplication, cast) -> None:
    """The mid-term report is handed in and accepted (through the services: these tests are about the end)."""
    services.progress_report_submit(actor=cast.applicant, application=application, progress="中期进展报告")
    services.progress_report_review(actor=cast.programme_officer, application=GrantApplication.objects.get(
        pk=application.pk), accept=True, comment="中期评估通过")
