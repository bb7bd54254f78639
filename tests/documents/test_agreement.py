"""The grant agreement as PDF: Chinese text from the application's data, the CJK font embedded, who may print it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from reportlab.pdfbase.ttfonts import TTFontFile

from grants import services
from grants.documents import agreement_pdf, grant_reference
from grants.documents.layout import day
from grants.states import State
from tests.helpers import advance

from .conftest import compact, pdf_fonts, pdf_text

pytestmark = pytest.mark.django_db

STANDARD_TYPE1 = {"/Helvetica", "/Times-Roman", "/Courier", "/Symbol", "/ZapfDingbats"}


def url(application) -> str:
    return reverse("application_agreement_pdf", args=[application.pk])


def message(text: str) -> str:
    with translation.override("zh-hans"):
        return gettext(text)


@pytest.fixture
def at_agreement(cast, make_application):
    return advance(make_application(title="宇虹社区长者助餐与探访"), State.AGREEMENT, cast)


def test_agreement_prints_the_project_the_parties_and_the_amount_in_capitals(client, cast, at_agreement,
                                                                             pdf_font):
    client.force_login(cast.applicant)
    response = client.get(url(at_agreement))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert f"agreement-{grant_reference(at_agreement)}.pdf" in response["Content-Disposition"]
    text = compact(pdf_text(b"".join(response.streaming_content)))
    for expected in ("宇虹社区长者助餐与探访", "宇虹社区", "云潭街道", "贵州省红十字基金会", cast.fund.name,
                     "伍万元整", "50,000.00", "敬老", grant_reference(at_agreement)):
        assert compact(expected) in text, expected


def test_agreement_lists_budget_lines_and_tranches(cast, at_agreement, pdf_font):
    text = compact(pdf_text(agreement_pdf(at_agreement)))
    for line in at_agreement.budget_lines.all():
        assert compact(line.description) in text
        assert f"{line.amount:,.2f}" in text
    tranches = list(at_agreement.tranches.all())
    assert tranches, "an approved grant has a payment schedule"
    for tranche in tranches:
        assert f"{tranche.amount:,.2f}" in text


def test_the_font_is_the_embedded_truetype_cjk_font_not_a_standard_one(at_agreement, pdf_font):
    configured = TTFontFile(str(pdf_font), subfontIndex=0).name.decode()  # e.g. WenQuanYiMicroHei
    fonts = pdf_fonts(agreement_pdf(at_agreement))
    assert fonts
    for font in fonts:
        assert font.subtype == "/TrueType", font
        assert font.embedded, font
        # A subset of the configured font ("/AAAAAA+WenQuanYiMicroHei-0"), never a standard Type 1 font.
        assert font.base_font.split("+")[-1].startswith(configured), font
        assert font.base_font not in STANDARD_TYPE1, font


def test_signed_agreement_gives_the_report_due_dates_and_the_signing_date(cast, at_agreement, pdf_font):
    application = advance(at_agreement, State.IN_PROGRESS, cast)
    with translation.override("zh-hans"):
        dates = [day(application.completion_due_on), day(application.agreement_signed_at),
                 *(day(report.due_on) for report in application.progress_reports.all())]
    text = compact(pdf_text(agreement_pdf(application)))
    for date in dates:
        assert compact(date) in text


@pytest.mark.parametrize("who", ["applicant", "community_head", "street_reviewer", "programme_officer",
                                 "secretary_general", "finance", "auditor"])
def test_everyone_who_sees_the_application_may_print_it(client, cast, at_agreement, who, pdf_font):
    client.force_login(getattr(cast, who))
    assert client.get(url(at_agreement)).status_code == 200


@pytest.mark.parametrize("who", ["applicant_b", "other_street_reviewer", "outsider"])
def test_people_out_of_scope_get_404(client, cast, at_agreement, who):
    client.force_login(getattr(cast, who))
    assert client.get(url(at_agreement)).status_code == 404


def test_anonymous_people_are_sent_to_log_in(client, at_agreement):
    response = client.get(url(at_agreement))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("state", [State.FOUNDATION_REVIEW, State.APPROVAL, State.PUBLICITY])
def test_no_agreement_before_approval_and_publicity(client, cast, make_application, state):
    application = advance(make_application(), state, cast)
    client.force_login(cast.programme_officer)
    response = client.get(url(application))
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert message("The grant agreement can be printed once the grant is approved and its publicity period is "
                   "over.") in response.content.decode()


def test_draft_is_refused_to_its_applicant_and_hidden_from_the_street(client, cast, make_application):
    draft = make_application()
    client.force_login(cast.applicant)
    assert client.get(url(draft)).status_code == 409
    client.force_login(cast.street_reviewer)
    assert client.get(url(draft)).status_code == 404


def test_withdrawn_before_signing_has_no_agreement(client, cast, at_agreement):
    services.application_withdraw(actor=cast.applicant, application=at_agreement, reason="社区另有安排")
    client.force_login(cast.applicant)
    assert client.get(url(at_agreement)).status_code == 409


def test_a_signed_agreement_stays_printable_after_cancellation(client, cast, at_agreement, pdf_font):
    application = advance(at_agreement, State.IN_PROGRESS, cast)
    services.application_cancel(actor=cast.secretary_general, application=application, reason="挪用资金")
    client.force_login(cast.secretary_general)
    assert client.get(url(application)).status_code == 200


def test_missing_font_is_a_clear_503_page_never_a_pdf(client, cast, at_agreement, settings, tmp_path):
    settings.PDF_FONT_PATH = str(tmp_path / "no-such-font.ttc")
    client.force_login(cast.applicant)
    response = client.get(url(at_agreement))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert message("Documents cannot be printed right now: the Chinese font is not installed on the server. "
                   "Please tell the administrator.") in response.content.decode()


def test_a_file_that_is_no_truetype_font_is_refused_like_a_missing_one(client, cast, at_agreement, settings,
                                                                      tmp_path):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font at all")
    settings.PDF_FONT_PATH = str(broken)
    client.force_login(cast.applicant)
    assert client.get(url(at_agreement)).status_code == 503


def test_application_page_links_the_agreement_only_when_it_can_be_printed(client, cast, make_application,
                                                                         at_agreement):
    client.force_login(cast.applicant)
    page = client.get(reverse("application_detail", args=[at_agreement.pk])).content.decode()
    assert url(at_agreement) in page
    assert reverse("application_certificate_pdf", args=[at_agreement.pk]) not in page
    draft = make_application()
    page = client.get(reverse("application_detail", args=[draft.pk])).content.decode()
    assert url(draft) not in page


def test_text_that_looks_like_markup_is_printed_as_written(cast, make_application, pdf_font):
    application = advance(make_application(title="长者<助餐> & 探访 <b>", summary="第一行\n第二行 <br/> &amp;"),
                          State.AGREEMENT, cast)
    text = compact(pdf_text(agreement_pdf(application)))
    assert compact("长者<助餐> & 探访 <b>") in text
    assert compact("第二行 <br/> &amp;") in text
