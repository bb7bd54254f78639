"""The list pages cost the same number of queries for 3 rows as for 30."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants import services
from tests.factories import ApplicationFactory
from workflows.selectors import tasks_of_application
from workflows.services import task_claim

pytestmark = pytest.mark.django_db
TITLE = "长者助餐与探访项目"  # every factory-made application's title starts so


def add_applications(cast, count: int, *, until: str) -> None:
    """`count` applications of A1, left as drafts, awaiting the street (queue) or taken by its reviewer (inbox)."""
    for _ in range(count):
        application = ApplicationFactory(actor=cast.applicant, category=cast.elder_care)
        if until == "draft":
            continue
        services.application_submit(actor=cast.applicant, application=application)
        services.application_confirm(actor=cast.community_head, application=application)
        if until == "taken":
            task_claim(actor=cast.street_reviewer, task=tasks_of_application(application.pk).get())


PAGES = {
    # page: (who looks, how far the applications go, URL name)
    "inbox": ("street_reviewer", "taken", "workflows:inbox"),
    "queue": ("street_reviewer", "offered", "workflows:queue"),
    "all applications": ("auditor", "offered", "application_list"),
    "all applications, filtered": ("street_reviewer", "offered", "application_list"),
    "my applications": ("applicant", "draft", "my_applications"),
}


@pytest.mark.parametrize("page", PAGES)
def test_list_pages_cost_a_fixed_number_of_queries(page, browser, cast, django_assert_max_num_queries):
    who, until, url_name = PAGES[page]
    client = browser(getattr(cast, who))
    url = reverse(url_name) + (f"?status=street_review&community={cast.a1.pk}" if "filtered" in page else "")

    add_applications(cast, 3, until=until)
    client.get(url)  # the session and anything else a first request loads once
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.content.decode().count(TITLE) == 3

    add_applications(cast, 27, until=until)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.content.decode().count(TITLE) == 25  # one page
    assert response.context["page"].paginator.count == 30


def test_a_long_list_counts_only_so_far_and_still_pages_to_its_end(browser, cast, monkeypatch):
    import grants.pagination

    monkeypatch.setattr(grants.pagination, "PAGE_SIZE", 2)
    monkeypatch.setattr(grants.pagination, "COUNT_CAP", 4)
    add_applications(cast, 7, until="draft")
    client = browser(cast.applicant)

    def page(number: int):
        return client.get(reverse("my_applications"), {"page": number}).context["page"]

    first = page(1)
    assert (first.paginator.count, first.paginator.capped, first.paginator.num_pages) == (5, True, 3)
    assert first.has_next()  # "page 1 of at least 3"
    third = page(3)  # counts up to its own end and one row past it
    assert (len(third.object_list), third.has_next(), third.paginator.capped) == (2, True, True)
    last = page(4)
    assert (len(last.object_list), last.has_next(), last.paginator.capped, last.paginator.num_pages) == (
        1, False, False, 4)
    assert page(99).number == 4  # past the end: the last page, as before
