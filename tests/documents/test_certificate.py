"""The completion certificate as PDF: only for a closed project, with its amounts, outcomes and people served."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from grants.documents import amount_in_capitals, amount_paid, certificate_pdf, grant_reference
from grants.documents.layout import day
from grants.models import CompletionReport, ServedBeneficiaries, Tranche
from grants.states import State
from tests.helpers import advance

from .conftest import compact, pdf_fonts, pdf_text

pytestmark = pytest.mark.django_db


def url(application) -> str:
    return reverse("application_certificate_pdf", args=[application.pk])


@pytest.fixture
def closed(cast, make_application):
    application = advance(make_application(title="碧水长者食堂", requested_amount=Decimal("36800.50")),
                          State.CLOSED, cast)
    # The report as the applicant wrote it, plus a second kind of people served (set up directly).
    report = CompletionReport.objects.get(application=application)
    ServedBeneficiaries.objects.create(report=report, kind="children", served_count=35)
    return application


def test_certificate_prints_project_community_amounts_and_outcomes(client, cast, closed, pdf_font):
    client.force_login(cast.applicant)
    response = client.get(url(closed))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"certificate-{grant_reference(closed)}.pdf" in response["Content-Disposition"]
    text = compact(pdf_text(b"".join(response.streaming_content)))
    report = CompletionReport.objects.get(application=closed)
    paid = amount_paid(closed)
    assert paid == sum(t.amount for t in closed.tranches.filter(status=Tranche.Status.PAID))
    with translation.override("zh-hans"):
        closed_on = day(closed.closed_at)
    expected = [
        "碧水长者食堂", "宇虹社区", "云潭街道", "贵州省红十字基金会",
        "叁万陆仟捌佰元零伍角整",  # approved 36,800.50
        "36,800.50", amount_in_capitals(paid), f"{paid:,.2f}",
        report.outcomes, report.public_summary, closed_on,
        *(str(row.served_count) for row in report.served.all()),
        str(sum(row.served_count for row in report.served.all())),
    ]
    for part in expected:
        assert compact(part) in text, part


def test_certificate_lists_actual_spending_per_budget_line(closed, pdf_font):
    text = compact(pdf_text(certificate_pdf(closed)))
    for row in CompletionReport.objects.get(application=closed).spending.select_related("budget_line"):
        assert compact(row.budget_line.description) in text
        assert f"{row.amount:,.2f}" in text


def test_certificate_uses_only_the_embedded_cjk_font(closed, pdf_font):
    fonts = pdf_fonts(certificate_pdf(closed))
    assert fonts and all(font.subtype == "/TrueType" and font.embedded for font in fonts), fonts


@pytest.mark.parametrize("state", [State.AGREEMENT, State.IN_PROGRESS, State.COMPLETION_ACCEPTANCE,
                                   State.CLOSING])
def test_no_certificate_before_the_project_is_closed(client, cast, make_application, state):
    application = advance(make_application(), state, cast)
    client.force_login(cast.applicant)
    response = client.get(url(application))
    assert response.status_code == 409
    with translation.override("zh-hans"):
        reason = gettext("The completion certificate can be printed once the project is closed.")
    assert reason in response.content.decode()


@pytest.mark.parametrize("who", ["applicant_b", "other_street_reviewer", "outsider"])
def test_people_out_of_scope_get_404(client, cast, closed, who):
    client.force_login(getattr(cast, who))
    assert client.get(url(closed)).status_code == 404


def test_closed_application_page_links_both_documents(client, cast, closed):
    client.force_login(cast.street_reviewer)
    page = client.get(reverse("application_detail", args=[closed.pk])).content.decode()
    assert url(closed) in page
    assert reverse("application_agreement_pdf", args=[closed.pk]) in page
