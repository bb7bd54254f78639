"""Anyone may object to a grant in publicity through the public form: captcha, rate limit, then the service."""

from __future__ import annotations

import re

import pytest
from captcha.models import CaptchaStore
from django.urls import reverse
from django.utils import translation

from grants.models import AuditEntry, Objection
from grants.states import State
from tests.helpers import advance, snapshot

from .conftest import PHONE, page_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_publicity(cast, make_application):
    return advance(make_application(title="社区长者助餐"), State.PUBLICITY, cast)


def captcha(client, url: str, **extra) -> tuple[str, str]:
    """Open the form as a visitor does; return the captcha's key and its answer (read from the library's store)."""
    text = page_text(client.get(url, **extra))
    key = re.search(r'name="captcha_0" value="([0-9a-f]+)"', text).group(1)
    return key, CaptchaStore.objects.get(hashkey=key).response


def objection_data(key: str, answer: str, text: str = "预算中的物料费明显偏高") -> dict[str, str]:
    return {"text": text, "contact": f"王先生 {PHONE}", "captcha_0": key, "captcha_1": answer}


def test_an_objection_with_the_right_captcha_pauses_the_grant(client, in_publicity):
    url = reverse("public:objection", args=[in_publicity.pk])
    key, answer = captcha(client, url)

    response = client.post(url, objection_data(key, answer))

    assert response.status_code == 302 and response["Location"] == reverse("public:publicity")
    in_publicity.refresh_from_db()
    assert in_publicity.status == State.OBJECTION
    objection = Objection.objects.get(application=in_publicity)
    assert (objection.text, objection.contact, objection.decision) == (
        "预算中的物料费明显偏高", f"王先生 {PHONE}", Objection.Decision.PENDING)
    entry = AuditEntry.objects.filter(application=in_publicity).latest("id")
    assert (entry.action, entry.actor) == ("receive_objection", None)
    with translation.override("zh-hans"):
        assert translation.gettext("Your objection was received. The grant is paused while the foundation "
                                    "examines it.")[:4] in page_text(client.get(response["Location"]))


def test_a_wrong_captcha_changes_nothing(client, in_publicity):
    url = reverse("public:objection", args=[in_publicity.pk])
    key, answer = captcha(client, url)
    before = snapshot(in_publicity)

    response = client.post(url, objection_data(key, answer + "x"))

    assert response.status_code == 400
    assert response.context["form"].has_error("captcha")
    assert snapshot(in_publicity) == before
    # The captcha was used up by the failed try: its right answer no longer works either.
    assert client.post(url, objection_data(key, answer)).status_code == 400
    assert snapshot(in_publicity) == before


def test_a_blank_objection_is_refused_and_changes_nothing(client, in_publicity):
    url = reverse("public:objection", args=[in_publicity.pk])
    key, answer = captcha(client, url)
    before = snapshot(in_publicity)

    response = client.post(url, objection_data(key, answer, text="   "))

    assert response.status_code == 400 and response.context["form"].has_error("text")
    assert snapshot(in_publicity) == before


def test_objections_are_rate_limited_per_client_address(client, in_publicity, settings):
    settings.PUBLIC_OBJECTION_RATE = "2/h"
    url = reverse("public:objection", args=[in_publicity.pk])
    for _ in range(2):
        key, _answer = captcha(client, url)
        assert client.post(url, objection_data(key, "wrong")).status_code == 400
    before = snapshot(in_publicity)
    key, answer = captcha(client, url)

    response = client.post(url, objection_data(key, answer))

    assert response.status_code == 429
    assert 'id="rate-limited"' in page_text(response)
    assert snapshot(in_publicity) == before
    # Another address is not held back by the first one's attempts.
    other = {"REMOTE_ADDR": "203.0.113.9"}
    key, answer = captcha(client, url, **other)
    assert client.post(url, objection_data(key, answer), **other).status_code == 302
    in_publicity.refresh_from_db()
    assert in_publicity.status == State.OBJECTION


def test_a_paused_grant_takes_no_second_objection(client, in_publicity):
    url = reverse("public:objection", args=[in_publicity.pk])
    key, answer = captcha(client, url)
    assert client.post(url, objection_data(key, answer)).status_code == 302

    page = page_text(client.get(url))
    assert 'id="objection-pending"' in page and 'name="captcha_0"' not in page
    key = CaptchaStore.objects.create(challenge="ABCD", response="abcd").hashkey
    response = client.post(url, objection_data(key, "abcd", text="第二条异议"))
    assert response.status_code == 400 and response.context["form"].non_field_errors()  # the state said no
    assert Objection.objects.filter(application=in_publicity).count() == 1


def test_only_grants_in_publicity_take_objections(client, cast, make_application):
    draft = make_application()
    running = advance(make_application(), State.AGREEMENT, cast)

    for application in (draft, running):
        url = reverse("public:objection", args=[application.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {"text": "x"}).status_code == 404
    assert not Objection.objects.exists()
