"""The pages themselves: where each person lands, the drafting form, refusals on forms, documents, the chart."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from grants.models import GrantApplication, Role
from grants.states import ACTION_LABELS, State
from tests.factories import UserFactory
from tests.helpers import advance
from workflows.selectors import tasks_of_application

from .conftest import act, create_draft, draft_data, fresh, refusal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("who", "lands_on"), [
    ("applicant", "my_applications"), ("community_head", "workflows:inbox"), ("street_reviewer", "workflows:inbox"),
    ("finance", "workflows:inbox"), ("auditor", "application_list"),
])
def test_home_sends_each_person_where_they_work(browser, cast, who, lands_on):
    response = browser(getattr(cast, who)).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse(lands_on)


def test_someone_without_a_role_is_told_so(browser, cast):
    response = browser(cast.outsider).get(reverse("home"))
    assert response.status_code == 200
    assert response.context["nav"].is_reviewer is False
    assert browser(cast.outsider).get(reverse("my_applications")).status_code == 403


def test_the_navigation_follows_the_roles(browser, cast):
    def links(who, url_name: str) -> set[str]:
        text = browser(getattr(cast, who)).get(reverse(url_name)).content.decode()
        return {name for name in ("my_applications", "workflows:inbox", "workflows:queue", "application_list")
                if f'href="{reverse(name)}"' in text}

    assert links("street_reviewer", "workflows:inbox") == {"workflows:inbox", "workflows:queue", "application_list"}
    assert links("applicant", "my_applications") == {"my_applications"}
    assert links("auditor", "application_list") == {"application_list"}


def test_the_queue_counts_what_is_waiting(browser, cast, make_application):
    advance(make_application(), State.STREET_REVIEW, cast)
    badges = browser(cast.street_reviewer).get(reverse("workflows:queue")).context["task_badges"]
    assert (badges.inbox, badges.queue) == ("0", "1")


def test_the_new_application_form_saves_a_draft_with_lines_groups_and_documents(browser, cast):
    client = browser(cast.applicant)
    form = client.get(reverse("application_create"))
    assert form.status_code == 200
    assert 'type="hidden" name="community"' in form.content.decode()  # one community: nothing to pick
    assert cast.closed_category.name not in form.content.decode()

    application = create_draft(client, cast)
    assert (application.community, application.status, application.created_by) == (
        cast.a1, State.DRAFT, cast.applicant)
    assert [(line.category, line.amount) for line in application.budget_lines.all()] == [
        ("services", Decimal("30000.00")), ("activities", Decimal("20000.00"))]
    assert [(g.kind, g.planned_count) for g in application.beneficiary_groups.all()] == [("elderly", 120)]
    assert application.attachments.get().original_name == "申请书.pdf"
    detail = client.get(reverse("application_detail", args=[application.pk])).content.decode()
    assert "50,000.00" in detail and reverse("application_edit", args=[application.pk]) in detail


def test_an_applicant_of_two_communities_picks_one(browser, cast):
    both = UserFactory(username="applicant_a1_a2", roles=[(Role.APPLICANT, cast.a1), (Role.APPLICANT, cast.a2)])
    client = browser(both)
    assert '<select name="community"' in client.get(reverse("application_create")).content.decode()
    application = create_draft(client, cast, community=cast.a2)
    assert application.community == cast.a2


def test_field_problems_are_shown_on_the_form(browser, cast):
    data = draft_data(cast)
    data["end_date"] = (dt.date.fromisoformat(data["start_date"]) - dt.timedelta(days=1)).isoformat()
    data["budget-1-amount"] = "-5"
    response = browser(cast.applicant).post(reverse("application_create"), data)
    assert response.status_code == 400
    assert response.context["budget"].forms[1].errors["amount"]
    assert not GrantApplication.objects.exists()


def test_an_unbalanced_budget_is_saved_but_cannot_be_submitted(browser, cast):
    client = browser(cast.applicant)
    application = create_draft(client, cast, lines=(("services", "社工服务", "1000.00"),))
    page = client.get(reverse("application_detail", args=[application.pk]))
    assert page.context["submit_problems"]
    response = client.post(reverse("application_action", args=[application.pk, "submit"]), {})
    assert response.status_code == 400
    with translation.override(settings.LANGUAGE_CODE):
        problem = response.context["action_forms"][0].non_field_errors()[0]
    assert "1000.00" in problem and "50000.00" in problem
    assert fresh(application).status == State.DRAFT


def test_a_missing_reason_is_refused_on_its_form(browser, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    response = browser(cast.street_reviewer).post(
        reverse("application_action", args=[application.pk, "reject"]), {"reason": "  "})
    assert response.status_code == 400
    form = next(f for f in response.context["action_forms"] if f.action.name == "reject")
    assert form.errors["reason"]
    assert fresh(application).status == State.STREET_REVIEW


def test_a_wrong_score_is_refused_and_the_entered_values_stay(browser, cast, make_application):
    application = advance(make_application(), State.FOUNDATION_REVIEW, cast)
    response = browser(cast.programme_officer).post(
        reverse("application_action", args=[application.pk, "foundation_recommend"]),
        {"score": "很好", "recommended_amount": "40000"})
    assert response.status_code == 400, refusal(response)
    form = next(f for f in response.context["action_forms"] if f.action.name == "foundation_recommend")
    assert form.errors["score"] and form["recommended_amount"].value() == "40000"


def test_a_decision_refused_on_the_task_page_is_shown_there(browser, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    task = tasks_of_application(application.pk).get()
    response = browser(cast.street_reviewer).post(
        reverse("application_action", args=[application.pk, "return_for_revision"]), {"task": task.pk})
    assert response.status_code == 400
    assert response.templates[0].name == "workflows/task.html"


def test_an_action_not_possible_now_is_a_400_with_its_reason(browser, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    response = browser(cast.secretary_general).post(
        reverse("application_action", args=[application.pk, "sign_agreement"]), {})
    assert response.status_code == 400 and response.context["page_error"]
    assert browser(cast.secretary_general).post(
        reverse("application_action", args=[application.pk, "no_such_action"]), {}).status_code == 404


def test_documents_download_under_their_name_only_for_those_who_may_see(browser, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    url = reverse("attachment_download", args=[application.attachments.get().pk])
    response = browser(cast.street_reviewer).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="application_form.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test document"
    assert browser(cast.applicant_b).get(url).status_code == 404


def test_documents_are_added_from_the_application_page(browser, cast, make_application):
    application = make_application()
    client = browser(cast.applicant)
    from .conftest import upload

    response = client.post(reverse("attachment_upload", args=[application.pk]),
                           {"kind": "budget_detail", "file": upload("预算明细.pdf")})
    assert response.status_code == 302
    assert sorted(application.attachments.values_list("kind", flat=True)) == ["application_form", "budget_detail"]
    refused = browser(cast.auditor).post(reverse("attachment_upload", args=[
        advance(application, State.STREET_REVIEW, cast).pk]), {"kind": "other", "file": upload()})
    assert refused.status_code == 403


def test_the_detail_page_shows_everything_about_the_application(browser, cast, make_application):
    application = advance(make_application(), State.APPROVAL, cast)
    page = browser(cast.secretary_general).get(reverse("application_detail", args=[application.pk]))
    text = page.content.decode()
    assert application.title in text and "按月报送进展" in text  # the conditions
    with translation.override(settings.LANGUAGE_CODE):
        assert str(ACTION_LABELS["foundation_recommend"]) in text
    assert "85 / 100" in text  # the programme officer's score
    assert [row.entry.action for row in page.context["audit"]] == [
        "submit", "confirm", "street_approve", "street_sign_off", "foundation_recommend"]
    assert [row.step for row in page.context["open_tasks"]] == [str(State.APPROVAL.label)]
    assert [form.action.name for form in page.context["action_forms"]] == [
        "approve", "return_for_revision", "reject"]


def test_the_process_page_draws_the_chart_and_lists_every_task(browser, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    page = browser(cast.street_reviewer).get(reverse("workflows:process", args=[application.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "<svg" in text and 'class="done"' in text and 'class="new"' in text
    with translation.override(settings.LANGUAGE_CODE):
        assert str(State.STREET_REVIEW.label) in text
    steps = [row.task.flow_task.name for row in page.context["history"]]
    assert steps[0] == "start"
    assert {"community_confirmation", "after_community_confirmation", "street_review"} <= set(steps)
    draft = make_application()
    assert browser(cast.applicant).get(reverse("workflows:process", args=[draft.pk])).context["process"] is None


def test_the_list_filters_by_state_community_and_category(browser, cast, make_application):
    advance(make_application(title="街道审核中的项目"), State.STREET_REVIEW, cast)
    advance(make_application(title="街道签批中的项目"), State.STREET_SIGNOFF, cast)
    client = browser(cast.auditor)
    titles = lambda query: [a.title for a in client.get(reverse("application_list") + query).context["page"]]  # noqa: E731
    assert sorted(titles("")) == ["街道审核中的项目", "街道签批中的项目"]
    assert titles("?status=street_review") == ["街道审核中的项目"]
    assert titles(f"?community={cast.a2.pk}") == []
    assert sorted(titles(f"?category={cast.elder_care.pk}")) == ["街道审核中的项目", "街道签批中的项目"]


def test_a_finished_task_page_shows_no_decision(browser, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    task = tasks_of_application(application.pk).get()
    act(browser(cast.street_reviewer), application, "street_approve")
    page = browser(cast.street_reviewer).get(reverse("workflows:task", args=[task.pk]))
    assert page.status_code == 200 and page.context["task_open"] is False and page.context["action_forms"] == []


def test_pages_are_in_chinese_by_default(browser, cast):
    response = browser(cast.applicant).get(reverse("my_applications"))
    text = response.content.decode()
    assert '<html lang="zh-hans">' in text
    assert "用户名" in browser(cast.applicant).get(reverse("login")).content.decode()  # Django's own catalogue
    catalogue = Path(settings.BASE_DIR, "locale", "zh_Hans", "LC_MESSAGES")
    if not (catalogue / "django.mo").exists():
        pytest.skip(f"no compiled project catalogue at {catalogue}/django.mo yet (the .po is written separately "
                    "and compiled with `manage.py compilemessages`)")
    with translation.override("zh-hans"):
        heading = translation.gettext("My applications")
    assert heading != "My applications" and re.search(r"[\u4e00-\u9fff]", heading)
    assert heading in text


def test_a_closed_category_is_refused(browser, cast):
    data = draft_data(cast)
    data["category"] = cast.closed_category.pk  # not offered, so refused by the form itself
    response = browser(cast.applicant).post(reverse("application_create"), data)
    assert response.status_code == 400 and response.context["form"].errors["category"]
