"""The completion report page: who may write it and when, the variance rule, refusals on their fields."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from grants import services
from grants.models import ActualSpending, Attachment, CompletionReport, ServedBeneficiaries
from grants.states import State
from tests.helpers import advance
from tests.web.conftest import expect, fresh, refusal

from .support import (
    act,
    attach_completion_documents,
    completion_data,
    detail_url,
    report_url,
    through_midterm,
    write_report,
)

pytestmark = pytest.mark.django_db


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def stored(application) -> tuple:
    """The completion report as stored: its row, people served and spending."""
    report = CompletionReport.objects.filter(application=application).values(
        "outcomes", "public_summary", "activities_held", "private_notes").first()
    return (report, sorted(ServedBeneficiaries.objects.filter(report__application=application)
                           .values_list("kind", "served_count")),
            sorted(ActualSpending.objects.filter(report__application=application)
                   .values_list("budget_line__description", "amount", "explanation")))


@pytest.fixture
def project(cast, make_project):
    """A three-month project of A1 past its mid-term review, its completion report not written yet."""
    application = advance(make_project(months=3), State.IN_PROGRESS, cast)
    through_midterm(application, cast)
    return fresh(application)


def test_a_line_over_the_tolerance_needs_an_explanation(browser, cast, project):
    applicant = browser(cast.applicant)
    attach_completion_documents(applicant, project)
    # 活动物料 12,000 of 10,000 is 20% over the fund's 10%; 社工服务 38,000 of 40,000 is within it.
    spent = {"社工服务": "38000.00", "活动物料": "12000.00"}

    # Saved without the explanation elsewhere (the service allows a draft), handing it in is refused, naming the line.
    services.completion_report_save(
        actor=cast.applicant, application=project, outcomes="完成", public_summary="服务老人",
        spending=[services.SpendingInput(budget_line_id=line.pk, amount=spent[line.description])
                  for line in project.budget_lines.all()])
    response = applicant.post(detail_url(project) + "actions/submit_completion_report/", {})
    assert response.status_code == 400
    assert "活动物料" in refusal(response) and "社工服务" not in refusal(response)
    assert fresh(project).status == State.IN_PROGRESS
    page = applicant.get(detail_url(project))
    assert [row.over_tolerance for row in page.context["reporting"].spending] == [False, True]
    assert page.content.decode().count("data-over-tolerance") == 1

    # The page refuses it too, on the explanation's field, naming the line; nothing changes.
    before = stored(project)
    response = applicant.post(report_url(project), completion_data(project, spent))
    assert response.status_code == 400
    line = project.budget_lines.get(description="活动物料")
    errors = response.context["form"].errors
    assert list(errors) == [f"explanation_{line.pk}"]
    message = errors[f"explanation_{line.pk}"][0]
    assert "活动物料" in message and "20.0%" in message and "10%" in message
    assert stored(project) == before

    # With the explanation it is saved and may be handed in.
    write_report(applicant, project, spent, {"活动物料": "参加人数超出计划，增购餐具"})
    assert stored(project)[2] == [("活动物料", Decimal("12000.00"), "参加人数超出计划，增购餐具"),
                                  ("社工服务", Decimal("38000.00"), "")]
    act(applicant, project, "submit_completion_report")
    expect(project, State.COMPLETION_VERIFICATION, [("completion_verification", None)],
           ("submit_completion_report", State.IN_PROGRESS, State.COMPLETION_VERIFICATION, "applicant"))


def test_the_page_shows_the_plan_and_what_was_saved(browser, cast, project):
    applicant = browser(cast.applicant)
    page = applicant.get(report_url(project))
    assert page.status_code == 200
    form = page.context["form"]
    assert [field.name for field in form.served_fields()] == ["served_elderly"]
    assert [(row.line.description, row.budget) for row, _a, _e in form.spending_rows()] == [
        ("社工服务", Decimal("40000.00")), ("活动物料", Decimal("10000.00"))]
    assert "40,000.00" in page.content.decode()  # the budget, read-only
    with translation.override("zh-hans"):  # the documents the fund requires, none attached yet
        required = [str(dict(Attachment.Kind.choices)[kind]) for kind in project.fund.completion_documents]
    assert len(required) == 3
    assert page.context["documents"] == [(label, False) for label in required]
    attach_completion_documents(applicant, project)
    assert applicant.get(report_url(project)).context["documents"] == [(label, True) for label in required]

    write_report(applicant, project, {"社工服务": "40000", "活动物料": "9800.50"},
                 extra_kind="children", extra_count="15")
    assert stored(project)[1] == [("children", 15), ("elderly", 126)]
    form = applicant.get(report_url(project)).context["form"]
    assert [field.name for field in form.served_fields()] == ["served_elderly", "served_children"]
    assert form["served_children"].value() == 15 and form["outcomes"].value() == "按计划完成助餐和探访服务"
    assert str(form[f"spending_{project.budget_lines.get(description='活动物料').pk}"].value()) == "9800.50"

    # Everyone who may see the application sees the report; the private notes never leave the reviewers' pages.
    for person in (cast.applicant, cast.community_head, cast.street_reviewer, cast.programme_officer, cast.auditor):
        page = browser(person).get(detail_url(project))
        assert page.context["reporting"].report is not None, person
        assert "王阿姨（独居）需要继续关注" in page.content.decode(), person


def test_refusals_show_on_their_fields_and_change_nothing(browser, cast, project):
    applicant = browser(cast.applicant)
    write_report(applicant, project, {"社工服务": "40000", "活动物料": "10000"})
    before = stored(project)
    line = project.budget_lines.get(description="社工服务")

    response = applicant.post(report_url(project), completion_data(project, {"社工服务": "四万", "活动物料": "10000"},
                                                                    outcomes="改过的成果"))
    assert response.status_code == 400
    assert response.context["form"].errors[f"spending_{line.pk}"] == [
        zh("Enter an amount in yuan, such as 20000.00.")]
    response = applicant.post(report_url(project), completion_data(project, {"社工服务": "40000", "活动物料": "10000"},
                                                                    served_elderly="-3"))
    assert response.context["form"].errors["served_elderly"] == [zh("Please enter a whole number of people.")]
    response = applicant.post(report_url(project), completion_data(project, {"社工服务": "40000", "活动物料": "10000"},
                                                                    extra_kind="children", extra_count="很多"))
    assert response.context["form"].errors["extra_count"] == [zh("Please enter a whole number of people.")]
    response = applicant.post(report_url(project), completion_data(project, {"社工服务": "40000", "活动物料": "10000"},
                                                                    outcomes=" ", public_summary=""))
    assert set(response.context["form"].errors) == {"outcomes", "public_summary"}
    assert stored(project) == before


def test_only_the_applicant_writes_while_the_project_runs(browser, cast, project):
    data = completion_data(project, {"社工服务": "40000", "活动物料": "10000"})
    for person in (cast.applicant_b, cast.other_street_reviewer, cast.outsider):  # cannot see the project
        assert browser(person).get(report_url(project)).status_code == 404, person
        assert browser(person).post(report_url(project), data).status_code == 404, person
    for person in (cast.community_head, cast.street_reviewer, cast.programme_officer, cast.finance):
        assert browser(person).get(report_url(project)).status_code == 403, person
        assert browser(person).post(report_url(project), data).status_code == 403, person
        assert report_url(project) not in browser(person).get(detail_url(project)).content.decode()
    assert not CompletionReport.objects.exists()

    applicant = browser(cast.applicant)
    assert report_url(project) in applicant.get(detail_url(project)).content.decode()
    write_report(applicant, project, {"社工服务": "40000", "活动物料": "10000"})
    attach_completion_documents(applicant, project)
    act(applicant, project, "submit_completion_report")
    # Handed in: the report can no longer be changed until it is returned.
    response = applicant.get(report_url(project))
    assert response.status_code == 302 and response["Location"] == detail_url(project)
    changed = completion_data(project, {"社工服务": "1", "活动物料": "1"})
    assert applicant.post(report_url(project), changed).status_code == 302
    assert stored(project)[2][0][1] == Decimal("10000.00")
    act(browser(cast.street_reviewer), project, "return_completion_report", reason="缺少受益人签字")
    assert applicant.get(report_url(project)).status_code == 200
