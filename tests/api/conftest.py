"""Fixtures of the API tests: an API client per cast person, authenticated with their own token.

The cast (tests/conftest.py) gets a real password, so that the walkthrough can log in through
`POST /api/v1/auth/token/` as a partner platform would; other tests take the person's token directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

PASSWORD = "api-tests-password-not-secret"


@pytest.fixture(autouse=True)
def _fast_hashing(settings) -> None:
    """Cheap password hashes: the tests log people in, they do not measure hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Each test starts with no counted token requests (the counters live in the shared default cache)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def passwords(cast) -> str:
    """Every person of the cast can log in with PASSWORD."""
    for person in cast.people.values():
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
    return PASSWORD


@pytest.fixture
def api(db) -> Callable[[Any], APIClient]:
    """An API client sending the person's token (`api(None)`: no credentials at all)."""
    clients: dict[int | None, APIClient] = {}

    def of(user: Any) -> APIClient:
        key = None if user is None else user.pk
        if key not in clients:
            client = APIClient()
            if user is not None:
                token, _created = Token.objects.get_or_create(user=user)
                client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            clients[key] = client
        return clients[key]

    return of


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """The response is the API's JSON error with this status, code and field, and a message for people."""
    assert response.status_code == status, (response.status_code, getattr(response, "data", response.content))
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert body["field"] == field, body
    assert isinstance(body["message"], str) and body["message"], body
    return body
