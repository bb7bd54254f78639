"""Who may open which page: 404 for anyone who may not see the application, 403 for who sees but may not decide."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grants import services
from grants.states import State
from tests.factories import ApplicationFactory
from tests.helpers import snapshot
from workflows.selectors import tasks_of_application

from .conftest import fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_street_review(cast):
    application = ApplicationFactory(actor=cast.applicant, category=cast.elder_care)
    services.application_submit(actor=cast.applicant, application=application)
    services.application_confirm(actor=cast.community_head, application=application)
    return fresh(application)


@pytest.fixture
def awaiting_confirmation(cast):
    application = ApplicationFactory(actor=cast.applicant, category=cast.elder_care)
    services.application_submit(actor=cast.applicant, application=application)
    return fresh(application)


def pages(application) -> dict[str, str]:
    task = tasks_of_application(application.pk).get()
    return {
        "detail": reverse("application_detail", args=[application.pk]),
        "process": reverse("workflows:process", args=[application.pk]),
        "document": reverse("attachment_download", args=[application.attachments.get().pk]),
        "task": reverse("workflows:task", args=[task.pk]),
    }


def refused(client, application, action: str, expected: int) -> None:
    """The task page, the action POST and the claim all answer `expected`, and nothing changes."""
    before = snapshot(application)
    task = tasks_of_application(application.pk).get()
    assert client.get(reverse("workflows:task", args=[task.pk])).status_code == expected
    url = reverse("application_action", args=[application.pk, action])
    assert client.post(url, {"comment": "同意", "reason": "不同意"}).status_code == expected
    assert client.post(reverse("workflows:task_claim", args=[task.pk])).status_code == expected
    assert snapshot(application) == before
    assert tasks_of_application(application.pk).get().owner is None


@pytest.mark.parametrize("who", ["other_street_reviewer", "applicant_b", "outsider"])
def test_people_out_of_scope_get_404_everywhere(browser, cast, in_street_review, who):
    client = browser(getattr(cast, who))
    for name, url in pages(in_street_review).items():
        assert client.get(url).status_code == 404, name
    refused(client, in_street_review, "street_approve", 404)


def test_a_community_head_of_another_community_gets_404(browser, web_cast, awaiting_confirmation):
    client = browser(web_cast.head_a2)
    for name, url in pages(awaiting_confirmation).items():
        assert client.get(url).status_code == 404, name
    refused(client, awaiting_confirmation, "confirm", 404)


def test_a_reviewer_of_another_street_who_sees_the_application_gets_403(browser, web_cast, in_street_review):
    client = browser(web_cast.reviewer_b_auditor)  # the foundation's auditor too: the pages are open to them
    assert client.get(pages(in_street_review)["detail"]).status_code == 200
    refused(client, in_street_review, "street_approve", 403)


def test_the_head_of_another_community_gets_403_on_the_confirmation(browser, web_cast, awaiting_confirmation):
    client = browser(web_cast.head_a2_applicant_a1)  # an applicant of A1 too: sees A1's applications
    assert client.get(pages(awaiting_confirmation)["detail"]).status_code == 200
    refused(client, awaiting_confirmation, "confirm", 403)


def test_a_reviewer_with_a_declared_conflict_gets_403(browser, cast, in_street_review):
    services.conflict_declare(actor=cast.street_reviewer, application=in_street_review, reason="申请人是我的亲属")
    client = browser(cast.street_reviewer)
    assert client.get(pages(in_street_review)["detail"]).status_code == 200
    refused(client, in_street_review, "street_approve", 403)
    assert in_street_review.title not in client.get(reverse("workflows:queue")).content.decode()


def test_a_reviewer_of_another_step_gets_403(browser, cast, in_street_review):
    refused(browser(cast.programme_officer), in_street_review, "street_approve", 403)
    refused(browser(cast.applicant), in_street_review, "street_approve", 403)


def test_drafts_stay_inside_the_community(browser, cast):
    draft = ApplicationFactory(actor=cast.applicant, category=cast.elder_care)
    detail = reverse("application_detail", args=[draft.pk])
    assert browser(cast.applicant).get(detail).status_code == 200
    assert browser(cast.community_head).get(detail).status_code == 200
    for who in ("street_reviewer", "programme_officer", "auditor"):
        assert browser(getattr(cast, who)).get(detail).status_code == 404, who
    assert fresh(draft).status == State.DRAFT


def test_the_owner_of_a_task_keeps_it_open_and_others_cannot_decide_it(browser, cast, web_cast, in_street_review):
    task = tasks_of_application(in_street_review.pk).get()
    owner = browser(cast.street_reviewer)
    assert owner.post(reverse("workflows:task_claim", args=[task.pk])).status_code == 302
    # A second reviewer of the same street may look at the task but not take or decide it.
    other = browser(web_cast.second_street_reviewer)
    page = other.get(reverse("workflows:task", args=[task.pk]))
    assert page.status_code == 200
    assert 'action="/applications/' not in page.content.decode()
    assert other.post(reverse("workflows:task_claim", args=[task.pk])).status_code == 409
    url = reverse("application_action", args=[in_street_review.pk, "street_approve"])
    assert other.post(url, {}).status_code == 403
    assert other.post(reverse("workflows:task_release", args=[task.pk])).status_code == 403
    assert fresh(in_street_review).status == State.STREET_REVIEW


def test_pages_need_a_login(client, in_street_review):
    for url in (reverse("home"), reverse("workflows:inbox"), pages(in_street_review)["detail"]):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
