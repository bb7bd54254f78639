"""The schema, its documentation page (no JavaScript, nothing from the internet) and the browsable API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from grants.api import docs

pytestmark = pytest.mark.django_db
API = "/api/v1"


def test_the_schema_is_openapi_3_in_yaml_and_json(client):
    yaml = client.get(f"{API}/schema/")
    assert yaml.status_code == 200 and yaml.content.startswith(b"openapi: 3.")
    schema = client.get(f"{API}/schema/", {"format": "json"}).json()
    assert {"/api/v1/applications/", "/api/v1/applications/{id}/actions/{name}/", "/api/v1/tasks/",
            "/api/v1/funds/{id}/statement/", "/api/v1/auth/token/"} <= set(schema["paths"])
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "message", "field"]
    assert "409" in schema["paths"]["/api/v1/applications/{id}/actions/{name}/"]["post"]["responses"]


def test_the_docs_page_lists_every_operation_and_loads_nothing_from_elsewhere(client):
    page = client.get(f"{API}/schema/docs/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    for path in ("/api/v1/applications/{id}/actions/{name}/", "/api/v1/tasks/{id}/claim/",
                 "/api/v1/funds/{id}/statement/"):
        assert path in text
    assert "<script" not in text and "http://" not in text and "https://" not in text


@pytest.fixture
def schema_builds(monkeypatch) -> list[str]:
    """The language of each schema the docs page builds, counted on the real generator, from an empty cache."""
    builds: list[str] = []

    class CountingGenerator(SchemaGenerator):
        def get_schema(self, *args, **kwargs):
            builds.append(translation.get_language())
            return super().get_schema(*args, **kwargs)

    monkeypatch.setattr(docs, "SchemaGenerator", CountingGenerator)
    docs.docs_content.cache_clear()
    yield builds
    docs.docs_content.cache_clear()


def test_the_docs_page_builds_the_schema_once_per_language(client, schema_builds):
    pages = {language: [client.get(f"{API}/schema/docs/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
                        for _ in range(3)]
             for language in ("en", "zh-hans")}

    assert schema_builds == ["en", "zh-hans"]
    for language, (first, *again) in pages.items():
        assert again == [first, first]
        # The schema's help texts are in the reader's language: each language has its own schema.
        with translation.override(language):
            assert translation.gettext("Whether the action ends or cancels something.") in first
    assert pages["en"][0] != pages["zh-hans"][0]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_docs_page_speaks_the_readers_language(client, language):
    text = client.get(f"{API}/schema/docs/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'<html lang="{language}">' in text
    with translation.override(language):
        headings = [translation.gettext("Operations"), translation.gettext("Schemas")]
        columns = [translation.pgettext("API docs column", name) for name in ("status", "meaning", "body")]
    assert all(f"<h2>{heading}</h2>" in text for heading in headings)
    assert "<th>{}</th><th>{}</th><th>{}</th>".format(*columns) in text
    if language == "en":
        assert "<h2>Operations</h2>" in text and "Authenticate with <code>POST auth/token/</code>" in text


def test_the_root_links_the_entry_points(client):
    links = client.get(f"{API}/").json()
    assert links["applications"].endswith("/api/v1/applications/") and links["docs"].endswith("/schema/docs/")


def test_a_logged_in_person_browses_the_api_in_the_browser(cast, make_application):
    make_application(title="浏览器里看到的申请")
    browser = Client()
    browser.force_login(cast.applicant)
    page = browser.get(f"{API}/applications/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "浏览器里看到的申请" in page.content.decode()
    # Session authentication checks CSRF on writes, as the site's forms do.
    refused = Client(enforce_csrf_checks=True)
    refused.force_login(cast.applicant)
    assert refused.post(f"{API}/applications/", {}, content_type="application/json").status_code == 403
