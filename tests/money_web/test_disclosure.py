"""An anonymous donor's name is shown on the finance donation list and nowhere else."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from grants.models import LedgerEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NAME = "钱隐名"


def body(response) -> str:
    assert response.status_code == 200, response.status_code
    if response.streaming:
        book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)
    return response.content.decode()


def test_only_finance_sees_the_anonymous_donors_name_on_the_donation_list(client, cast, urls, anonymous_gift):
    client.force_login(cast.finance)
    assert NAME in body(client.get(urls["donations"]))

    client.force_login(cast.auditor)
    assert NAME not in body(client.get(urls["donations"]))


@pytest.mark.parametrize("person", ["finance", "auditor", "programme_officer", "secretary_general"])
def test_the_anonymous_donors_name_is_on_no_other_page(client, cast, urls, anonymous_gift, person):
    client.force_login(getattr(cast, person))

    for name in ("index", "statement", "xlsx"):
        assert NAME not in body(client.get(urls[name])), name
    if person in ("finance", "auditor"):
        assert NAME not in body(client.get(urls["tranches"]))
    if person == "finance":
        for name in ("donation_create", "refund", "fee"):
            assert NAME not in body(client.get(urls[name])), name


def test_the_admin_shows_the_public_name_to_people_who_are_not_finance(client, cast, anonymous_gift, settings):
    # The admin's pages link static files; the tests have no collected manifest.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    admin = UserFactory(username="site_admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    entry = LedgerEntry.objects.get(donation=anonymous_gift)
    pages = [
        reverse("admin:grants_donation_changelist"),
        reverse("admin:grants_donation_change", args=[anonymous_gift.pk]),
        reverse("admin:grants_ledgerentry_changelist"),
        reverse("admin:grants_ledgerentry_change", args=[entry.pk]),
    ]

    for page in pages:
        assert NAME not in body(client.get(page)), page
    search = client.get(pages[0], {"q": NAME})
    assert search.context["cl"].result_count == 0, "a search by name must not find the anonymous gift"
    assert client.get(pages[0], {"q": "ANON-1"}).context["cl"].result_count == 1
