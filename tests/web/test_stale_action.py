"""An action form carries the state its page showed; posted after someone else acted, it is refused, not taken.

Two people open the same page; the first decides; the second's form still says the old state, so the second
decision is refused with the stale-state message and changes nothing: state, audit rows and tasks stay.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from grants.actions import action_perform
from grants.errors import ApplicationConflict
from grants.states import State
from tests.helpers import advance, snapshot
from workflows.selectors import tasks_of_application

from .conftest import fresh, open_tasks, refusal

pytestmark = pytest.mark.django_db


def action_form(page: Any, application, action: str) -> dict[str, str]:
    """The hidden inputs of the action's form on a page, as the browser would send them."""
    url = reverse("application_action", args=[application.pk, action])
    found = re.search(rf'<form[^>]*action="{re.escape(url)}"[^>]*>(.*?)</form>', page.content.decode(), re.S)
    assert found, f"no form for {action} on the page"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', found.group(1)))


def post(client: Client, application, action: str, form: dict[str, str], **inputs: str) -> Any:
    return client.post(reverse("application_action", args=[application.pk, action]), {**form, **inputs})


def stale_message(application, seen: str, response: Any) -> str:
    """The refusal the services give for a decision on `seen`, in the language of the response's page."""
    with translation.override(response.wsgi_request.LANGUAGE_CODE), pytest.raises(ApplicationConflict) as refused:
        action_perform(action="withdraw", actor=None, application=fresh(application), data={}, expected_state=seen)
    assert refused.value.code == "stale_state"
    return refused.value.message


def application_page(application) -> str:
    return reverse("application_detail", args=[application.pk])


def task_page(application) -> str:
    return reverse("workflows:task", args=[tasks_of_application(application.pk).get().pk])


@pytest.mark.parametrize("page_of", [application_page, task_page], ids=["application page", "task page"])
def test_the_second_reviewer_of_a_decided_application_is_told_and_changes_nothing(browser, cast, web_cast,
                                                                                  make_application, page_of):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    first, second = browser(cast.street_reviewer), browser(web_cast.second_street_reviewer)
    # Both open the page while the task is still offered to every reviewer of street A.
    page = page_of(application)
    approve = action_form(first.get(page), application, "street_approve")
    send_back = action_form(second.get(page), application, "return_for_revision")
    assert approve["expected_state"] == send_back["expected_state"] == State.STREET_REVIEW

    approved = post(first, application, "street_approve", approve)
    assert approved.status_code == 302, refusal(approved)
    assert fresh(application).status == State.STREET_SIGNOFF
    before, tasks_before = snapshot(application), open_tasks(application)

    refused = post(second, application, "return_for_revision", send_back, reason="请补充预算明细")

    assert refused.status_code == 409
    assert escape(stale_message(application, State.STREET_REVIEW, refused)) in refused.content.decode()
    assert snapshot(application) == before  # state, audit rows, money, documents
    assert open_tasks(application) == tasks_before == [("street_signoff", None)]


def test_a_withdrawal_decided_on_the_returned_application_is_not_taken_after_it_was_resubmitted(
        browser, cast, web_cast, make_application):
    """Withdrawing is allowed in both states: only the state the page showed stops the second applicant."""
    application = advance(make_application(), State.REVISION_REQUESTED, cast)
    first, second = browser(cast.applicant), browser(web_cast.head_a2_applicant_a1)
    page = reverse("application_detail", args=[application.pk])
    resubmit = action_form(first.get(page), application, "resubmit")
    withdraw = action_form(second.get(page), application, "withdraw")
    assert resubmit["expected_state"] == withdraw["expected_state"] == State.REVISION_REQUESTED

    assert post(first, application, "resubmit", resubmit, comment="已补充").status_code == 302
    assert fresh(application).status == State.STREET_REVIEW
    before, tasks_before = snapshot(application), open_tasks(application)

    refused = post(second, application, "withdraw", withdraw, reason="不再需要")

    assert refused.status_code == 409
    assert escape(stale_message(application, State.REVISION_REQUESTED, refused)) in refused.content.decode()
    assert snapshot(application) == before
    assert open_tasks(application) == tasks_before
    # The page shown with the refusal is fresh: deciding again from it withdraws what the person now sees.
    again = action_form(refused, application, "withdraw")
    assert again["expected_state"] == State.STREET_REVIEW
    assert post(second, application, "withdraw", again, reason="不再需要").status_code == 302
    assert fresh(application).status == State.WITHDRAWN


def test_a_tampered_state_is_refused_as_stale_and_changes_nothing(browser, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    reviewer = browser(cast.street_reviewer)
    form = action_form(reviewer.get(reverse("application_detail", args=[application.pk])), application,
                       "street_approve")
    before = snapshot(application)

    refused = post(reviewer, application, "street_approve", {**form, "expected_state": "no_such_state"})

    assert refused.status_code == 409
    assert escape(stale_message(application, "no_such_state", refused)) in refused.content.decode()
    assert snapshot(application) == before
