"""The API's lists: the same number of queries for 5 rows as for 30, cursor pages, and the fast list row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from grants import services
from tests.factories import ApplicationFactory
from workflows.selectors import tasks_of_application
from workflows.services import task_claim

pytestmark = pytest.mark.django_db
API = "/api/v1"


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


def add_donations(cast, count: int) -> None:
    for n in range(count):
        services.donation_record(actor=cast.finance, fund=cast.fund, amount=Decimal("100.00") + n,
                                 donor_name=f"捐赠人{n}", donor_kind="person", purpose="社区公益",
                                 received_on=timezone.localdate())


LISTS = {
    # list: (who asks, how far the applications go, URL)
    "applications as the auditor": ("auditor", "offered", "applications/"),
    "applications as the applicant, drafts": ("applicant", "draft", "applications/"),
    "applications filtered": ("street_reviewer", "offered",
                              "applications/?state=street_review&category={category}&created_from=2000-01-01"),
    "tasks, inbox": ("street_reviewer", "taken", "tasks/?box=inbox"),
    "tasks, queue": ("street_reviewer", "offered", "tasks/?box=queue"),
    "tasks, both": ("street_reviewer", "taken", "tasks/"),
}


@pytest.mark.parametrize("name", LISTS)
def test_lists_cost_a_fixed_number_of_queries(name, api, cast, django_assert_max_num_queries):
    who, until, url = LISTS[name]
    client = api(getattr(cast, who))
    url = f"{API}/{url.format(category=cast.elder_care.pk)}"

    add_applications(cast, 5, until=until)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert len(response.json()["results"]) == 5

    add_applications(cast, 30, until=until)
    with django_assert_max_num_queries(len(few)):
        response = client.get(f"{url}{'&' if '?' in url else '?'}page_size=30")
    assert len(response.json()["results"]) == 30


def test_cursor_pages_walk_every_visible_application_once_newest_first(api, cast):
    add_applications(cast, 12, until="draft")
    client, url, seen = api(cast.applicant), f"{API}/applications/?page_size=5", []
    while url:
        body = client.get(url).json()
        assert len(body["results"]) <= 5
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 12


def test_the_statement_costs_a_fixed_number_of_queries(api, cast, django_assert_max_num_queries):
    client = api(cast.finance)
    url = f"{API}/funds/{cast.fund.pk}/statement/"
    add_donations(cast, 5)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url).json()["entries"]["results"]) == 6  # the cast's founding gift and 5 more

    add_donations(cast, 30)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url, {"page_size": 36})
    assert len(response.json()["entries"]["results"]) == 36


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_hand_written_list_row_equals_drfs_rendering_of_the_declared_fields(language, api, cast,
                                                                                  make_application):
    """The list's fast path (ApplicationSerializer.to_representation of a values() row) must not drift from its
    declaration rendered by DRF from the model, in either language (the category's name has an English form)."""
    from django.utils import translation
    from rest_framework.test import APIRequestFactory

    from grants.api.serializers import ApplicationSerializer
    from grants.selectors import applications_visible_to
    from grants.states import State
    from tests.helpers import advance

    advance(make_application(), State.IN_PROGRESS, cast)
    make_application()
    request = APIRequestFactory().get("/api/v1/applications/")
    visible = applications_visible_to(cast.applicant).order_by("-pk")
    with translation.override(language):
        serializer = ApplicationSerializer(context={"request": request})
        rows = list(visible.values(*ApplicationSerializer.row_columns))
        applications = list(visible)
        assert len(rows) == 2
        for row, application in zip(rows, applications, strict=True):
            assert serializer.to_representation(row) == serializer.to_representation_generic(application)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_hand_written_task_row_equals_drfs_rendering_of_the_declared_fields(language, cast):
    """The task list's fast path (TaskSerializer.to_representation of a values() row) must not drift from its
    declaration rendered by DRF from the task, in either language: taken and offered tasks, with and without
    a service-time deadline."""
    from django.utils import translation
    from rest_framework.test import APIRequestFactory

    from workflows.api import TaskSerializer
    from workflows.selectors import tasks_inbox_and_queue

    add_applications(cast, 2, until="taken")
    add_applications(cast, 2, until="offered")
    request = APIRequestFactory().get("/api/v1/tasks/")
    request.user = cast.street_reviewer
    tasks = tasks_inbox_and_queue(cast.street_reviewer).order_by("pk")
    with translation.override(language):
        serializer = TaskSerializer(context={"request": request})
        rows = list(tasks.values(*TaskSerializer.row_columns))
        instances = list(tasks)
        assert len(rows) == 4 and {row["owner_id"] for row in rows} == {cast.street_reviewer.pk, None}
        assert any(row["deadline"] for row in rows)
        for row, task in zip(rows, instances, strict=True):
            assert serializer.to_representation(row) == serializer.to_representation(task)
