"""Every list and detail endpoint returns only what the caller may see; out of scope is 404, even by id."""

from __future__ import annotations

import pytest

from grants.models import Role
from grants.states import State
from tests.factories import FoundationFactory, FundFactory, UserFactory, upload
from tests.helpers import advance
from workflows.selectors import tasks_of_application

from .conftest import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def applications(cast, make_application):
    """A draft and a submitted application of A1, one of A2 and one of B1 at street review."""
    def submitted(title: str, applicant, head):
        return advance(make_application(title=title, actor=applicant), State.STREET_REVIEW, cast,
                       actors={State.DRAFT: applicant, State.COMMUNITY_CONFIRMATION: head})

    return {
        "a1_draft": make_application(title="宇虹草稿"),
        "a1_review": submitted("宇虹送审", cast.applicant, cast.community_head),
        "a2_review": submitted("阅湖送审", UserFactory(username="applicant_a2", roles=[(Role.APPLICANT, cast.a2)]),
                               UserFactory(username="head_a2", roles=[(Role.COMMUNITY_HEAD, cast.a2)])),
        "b1_review": submitted("碧海送审", cast.applicant_b,
                               UserFactory(username="head_b1", roles=[(Role.COMMUNITY_HEAD, cast.b1)])),
    }


def titles(api, person, **params) -> set[str]:
    response = api(person).get(f"{API}/applications/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None  # everything on one page
    return {row["title"] for row in body["results"]}


def test_lists_show_only_what_each_person_may_see(api, cast, applications):
    assert titles(api, cast.applicant) == {"宇虹草稿", "宇虹送审"}
    assert titles(api, cast.applicant_b) == {"碧海送审"}
    # The street sees its communities' applications once they left the community; never a draft.
    assert titles(api, cast.street_reviewer) == {"宇虹送审", "阅湖送审"}
    assert titles(api, cast.other_street_reviewer) == {"碧海送审"}
    assert titles(api, cast.auditor) == {"宇虹送审", "阅湖送审", "碧海送审"}
    assert titles(api, cast.outsider) == set()
    # Filters narrow what one may see and never widen it.
    assert titles(api, cast.applicant, community=cast.b1.pk) == set()
    assert titles(api, cast.street_reviewer, community=cast.b1.pk) == set()
    assert titles(api, cast.auditor, community=cast.a2.pk) == {"阅湖送审"}
    assert titles(api, cast.applicant, state=State.DRAFT) == {"宇虹草稿"}
    assert titles(api, cast.applicant, state=[State.DRAFT, State.STREET_REVIEW]) == {"宇虹草稿", "宇虹送审"}
    assert titles(api, cast.applicant, category=cast.children.pk) == set()


@pytest.mark.parametrize(("method", "suffix"), [
    ("get", ""), ("patch", ""), ("get", "actions/"), ("post", "actions/withdraw/"), ("get", "attachments/"),
    ("post", "attachments/"),
])
def test_an_applicant_of_another_community_gets_404_for_every_address_of_the_application(
        api, cast, applications, method, suffix):
    for name in ("a1_draft", "a1_review"):
        url = f"{API}/applications/{applications[name].pk}/{suffix}"
        data = {"kind": "application_form", "file": upload()} if suffix == "attachments/" else {"reason": "x"}
        response = getattr(api(cast.applicant_b), method)(url, data, format="multipart" if "attach" in url else "json")
        assert_error(response, 404, "not_found")


def test_the_street_office_does_not_see_a_draft_and_the_other_street_nothing_of_it(api, cast, applications):
    assert_error(api(cast.street_reviewer).get(f"{API}/applications/{applications['a1_draft'].pk}/"), 404,
                 "not_found")
    assert api(cast.street_reviewer).get(f"{API}/applications/{applications['a1_review'].pk}/").status_code == 200
    assert_error(api(cast.other_street_reviewer).get(f"{API}/applications/{applications['a1_review'].pk}/"), 404,
                 "not_found")
    # Unknown and out-of-scope ids look the same.
    assert_error(api(cast.applicant_b).get(f"{API}/applications/987654321/"), 404, "not_found")


def test_tasks_show_only_the_callers_own_and_claiming_another_streets_task_is_404(api, cast, applications):
    task = tasks_of_application(applications["a1_review"].pk).get()
    queue = api(cast.street_reviewer).get(f"{API}/tasks/", {"box": "queue"}).json()["results"]
    assert {row["application"]["title"] for row in queue} == {"宇虹送审", "阅湖送审"}
    other = api(cast.other_street_reviewer).get(f"{API}/tasks/").json()["results"]
    assert {row["application"]["title"] for row in other} == {"碧海送审"}
    assert api(cast.applicant).get(f"{API}/tasks/").json()["results"] == []
    assert_error(api(cast.other_street_reviewer).post(f"{API}/tasks/{task.pk}/claim/"), 404, "not_found")
    assert_error(api(cast.applicant_b).post(f"{API}/tasks/{task.pk}/claim/"), 404, "not_found")
    # In scope but not theirs to take: the auditor sees the application, may not claim its review.
    assert_error(api(cast.auditor).post(f"{API}/tasks/{task.pk}/claim/"), 403, "forbidden")


def test_the_statement_is_only_for_staff_of_the_funds_foundation(api, cast):
    url = f"{API}/funds/{cast.fund.pk}/statement/"
    for person in (cast.programme_officer, cast.secretary_general, cast.finance, cast.auditor):
        response = api(person).get(url)
        assert response.status_code == 200, (person, response.content)
        assert response.json()["closing"]["received_total"] == "10000000.00"
    for person in (cast.applicant, cast.community_head, cast.street_reviewer, cast.outsider):
        assert_error(api(person).get(url), 404, "not_found")
    # Another foundation's fund does not exist for this foundation's staff.
    other = FundFactory(foundation=FoundationFactory(name="另一基金会"), code="other")
    assert_error(api(cast.finance).get(f"{API}/funds/{other.pk}/statement/"), 404, "not_found")


def test_without_credentials_everything_but_the_schema_is_401(api, cast, applications):
    for url in ("applications/", f"applications/{applications['a1_review'].pk}/", "tasks/",
                f"funds/{cast.fund.pk}/statement/"):
        response = api(None).get(f"{API}/{url}")
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"
    assert api(None).get(f"{API}/schema/").status_code == 200


def test_a_document_downloads_with_a_token_only_for_people_who_may_see_it(api, cast, applications):
    mine = applications["a1_review"]
    listed = api(cast.applicant).get(f"/api/v1/applications/{mine.pk}/attachments/").json()
    url = listed[0]["download_url"]
    assert "/api/v1/attachments/" in url

    response = api(cast.applicant).get(url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert_error(api(cast.applicant_b).get(url), 404, "not_found")
    assert api(None).get(url).status_code == 401
