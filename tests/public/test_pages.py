"""The public pages open without login, in Chinese by default and in English, and list only public grants."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from grants import pagination
from grants.states import State
from tests.helpers import advance

from .conftest import RESULTS, THANKED_DONOR, UNNAMED_DONOR, page_text

pytestmark = pytest.mark.django_db

PAGES = ("public:index", "public:publicity", "public:projects", "public:trace", "public:open_data")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_opens_without_login_in_both_languages(client, grants, gifts, language):
    client.cookies["django_language"] = language
    urls = [reverse(name) for name in PAGES]
    urls += [reverse("public:project", args=[a.pk]) for a in grants.public]
    urls.append(reverse("public:objection", args=[grants.publicity.pk]))

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert f'<html lang="{language}">' in page_text(response), url


def test_chinese_is_the_default_language(client, grants):
    response = client.get(reverse("public:index"))

    assert '<html lang="zh-hans">' in page_text(response)
    with translation.override("zh-hans"):
        assert translation.gettext("Grants in publicity") in page_text(response)


def test_the_projects_list_shows_public_grants_only_with_their_status(client, grants):
    text = page_text(client.get(reverse("public:projects")))

    for application in grants.public:
        assert f'id="project-{application.pk}"' in text
        assert application.title in text
    for application in grants.hidden:
        assert f'id="project-{application.pk}"' not in text
        assert application.title not in text
    assert f'id="project-{grants.cancelled.pk}"' in text and 'data-status="cancelled"' in text


def test_hidden_grants_have_no_public_page(client, grants):
    for application in grants.hidden:
        assert client.get(reverse("public:project", args=[application.pk])).status_code == 404
        assert client.get(reverse("public:objection", args=[application.pk])).status_code == 404


def test_a_closed_project_shows_its_results_summary_and_others_do_not(client, grants):
    closed = page_text(client.get(reverse("public:project", args=[grants.closed.pk])))
    assert RESULTS in closed
    listing = page_text(client.get(reverse("public:projects"), {"status": State.CLOSED}))
    assert RESULTS[:10] in listing
    assert grants.in_progress.title not in listing


def test_publicity_lists_grants_in_publicity_with_the_working_days_left(client, grants):
    text = page_text(client.get(reverse("public:publicity")))

    assert f'id="publicity-{grants.publicity.pk}"' in text
    assert f'id="publicity-{grants.objection.pk}"' not in text  # paused: no longer open to objections
    assert 'data-working-days-left="5"' in text  # five working days from the day of approval
    assert reverse("public:objection", args=[grants.publicity.pk]) in text


def test_the_overview_shows_the_money_from_the_ledger_with_a_chart(client, cast, grants):
    text = page_text(client.get(reverse("public:index")))
    balance = cast.fund.balance
    balance.refresh_from_db()

    assert "<svg" in text
    for figure in (balance.received_total, balance.paid_total, balance.available):
        assert f"{figure:,.2f}" in text


def test_only_donors_who_agreed_are_thanked_by_name(client, gifts):
    text = page_text(client.get(reverse("public:index")))

    assert THANKED_DONOR in text
    assert UNNAMED_DONOR not in text
    assert "20,000.00" in text


def test_the_pages_cost_a_fixed_number_of_queries(client, cast, grants, make_application):
    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    urls = [reverse(name) for name in ("public:index", "public:publicity", "public:projects")]
    before = [count(url) for url in urls]
    for _ in range(3):  # passing publicity fires the due timers: the grants to stay in publicity come after
        advance(make_application(), State.IN_PROGRESS, cast)
    for _ in range(3):
        advance(make_application(), State.PUBLICITY, cast)

    assert [count(url) for url in urls] == before


def test_a_long_projects_list_counts_only_so_far_and_still_pages_to_its_end(client, grants, monkeypatch):
    monkeypatch.setattr(pagination, "PAGE_SIZE", 2)
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)  # five public grants: more than the list counts
    client.cookies["django_language"] = "en"

    def shown(number: int) -> tuple[str, int]:
        response = client.get(reverse("public:projects"), {"page": number})
        assert response.status_code == 200
        return page_text(response), len(response.context["rows"])

    text, rows = shown(1)
    assert rows == 2 and "More than 3 projects" in text and "Page 1 of at least 2" in text
    text, rows = shown(3)  # a far page counts up to its own end: the total is known again
    assert rows == 1 and "5 projects" in text and "Page 3 of 3" in text and "at least" not in text
