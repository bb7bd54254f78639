"""Nothing personal leaves through the public page or the open data: no beneficiary, phone number or private donor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grants.models import Objection

from .conftest import ANONYMOUS_DONOR, OBJECTION_TEXT, PHONE, SECRETS, THANKED_DONOR, page_text

pytestmark = pytest.mark.django_db


def public_outputs(client, grants, gifts) -> dict[str, str]:
    """Every page, download and look-up result a visitor can reach, by URL (look-ups by receipt number)."""
    urls = [reverse(name) for name in ("public:index", "public:publicity", "public:projects", "public:trace",
                                       "public:open_data", "public:grants_json", "public:grants_csv")]
    urls += [reverse("public:project", args=[a.pk]) for a in grants.public]
    urls += [reverse("public:objection", args=[a.pk]) for a in (grants.publicity, grants.objection)]
    urls += [f"{reverse('public:projects')}?status={a.status}" for a in grants.public]
    outputs = {url: page_text(client.get(url)) for url in urls}
    for gift in (gifts.thanked, gifts.unnamed, gifts.anonymous):
        response = client.post(reverse("public:trace"), {"receipt_number": gift.receipt_number, "amount": gift.amount})
        assert response.status_code == 200
        outputs[gift.receipt_number] = page_text(response)
    return outputs


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_no_personal_data_in_any_public_output(client, grants, gifts, language):
    client.cookies["django_language"] = language
    # The seeds are really there, where only the foundation looks.
    objection = Objection.objects.get(application=grants.objection)
    assert PHONE in objection.contact and gifts.anonymous.donor_name.startswith(ANONYMOUS_DONOR)

    outputs = public_outputs(client, grants, gifts)

    leaks = [(url, secret) for url, text in outputs.items() for secret in SECRETS if secret in text]
    assert leaks == []
    assert not any(OBJECTION_TEXT in text for text in outputs.values())
    assert any(THANKED_DONOR in text for text in outputs.values())  # the check can see names when they are there


def test_a_trace_shows_no_donor_name_not_even_the_donors_own(client, gifts):
    response = client.post(reverse("public:trace"), {"receipt_number": gifts.thanked.receipt_number,
                                                     "amount": gifts.thanked.amount})

    assert THANKED_DONOR not in page_text(response)
    assert response["Cache-Control"] == "no-store"
